// TLS for the `tls` transport: a self-signed certificate on first run, and the server context.
#pragma once

#include <memory>
#include <string>

#include "options.hpp"

namespace boost::asio::ssl {
class context;
}

namespace tern::net {

// Returns cert/key paths under `state_dir`/tls, creating a self-signed P-256 certificate for
// "localhost" and 127.0.0.1 when none is there yet. Throws std::runtime_error on failure.
TlsFiles ensure_self_signed(const std::string& state_dir);

// TLS 1.2 or newer (1.3 only when asked), AEAD ciphers, no compression, no renegotiation.
std::unique_ptr<boost::asio::ssl::context> make_tls_context(const TlsFiles& files);

}  // namespace tern::net
