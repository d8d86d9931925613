// Turns the loaded config into the network layer's plain options.
#pragma once

#include "config/config.hpp"
#include "net/options.hpp"

namespace tern::app {

// Generates a self-signed certificate when a TLS listener has no cert_file. Throws on failure.
net::RuntimeOptions to_runtime_options(const config::Config& config);

}  // namespace tern::app
