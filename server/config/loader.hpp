// Loads and validates a YAML config; every problem is reported with its file, line and column.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace tern::config {

struct ConfigError {
  std::string file;
  int line = 0;  // 1-based; 0 when the problem has no position (e.g. unreadable file)
  int column = 0;
  std::string message;
};

struct LoadResult {
  std::optional<Config> config;  // set only when errors is empty
  std::vector<ConfigError> errors;
};

LoadResult load_config_file(const std::string& path);
LoadResult load_config_string(const std::string& text, const std::string& name);

// The configuration `tern serve` uses without --config, as YAML.
const std::string& embedded_default_config();

// "30s", "10m", "1h", "500ms" (rounded up to whole seconds), or a bare number of seconds.
bool parse_duration(const std::string& text, std::chrono::seconds& out);

// "10.0.0.0/8", "::1/128", or a bare address (a /32 or /128).
bool is_valid_cidr(const std::string& text);
// A peers.allow entry: a CIDR, optionally with ports: "10.0.0.5:5000-5100", "[2001:db8::5]:443".
bool is_valid_peer_range(const std::string& text);
// "stun:HOST[:PORT]", "turn:HOST[:PORT][?transport=udp|tcp]" or "turns:...", without spaces.
bool is_ice_url(const std::string& text);

// Where tern keeps generated state such as the self-signed certificate.
std::string resolve_state_dir(const Config& config);

}  // namespace tern::config
