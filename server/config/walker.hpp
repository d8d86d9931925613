// Walker: the YAML config loader's cursor (known keys, typed values, errors with positions),
// shared by the loader's files.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "config/loader.hpp"
#include "tern/protocol/address.hpp"

namespace tern::config {

class Walker {
 public:
  explicit Walker(std::string file) : file_(std::move(file)) {}

  void error(const YAML::Node& at, const std::string& message) {
    const auto mark = at.Mark();
    errors_.push_back({file_, mark.line + 1, mark.column + 1, message});
  }
  std::vector<ConfigError> take_errors() { return std::move(errors_); }

  using Handler = std::function<void(const YAML::Node&)>;

  // Calls the handler of every known key; unknown keys are errors.
  void map(const YAML::Node& node, const std::string& where,
           const std::map<std::string, Handler>& handlers) {
    if (node.IsNull()) return;
    if (!node.IsMap()) return error(node, where + " must be a mapping");
    for (const auto& kv : node) {
      const auto key = kv.first.as<std::string>("");
      const auto it = handlers.find(key);
      if (it == handlers.end()) {
        error(kv.first, "unknown key '" + key + "' in " + where);
      } else {
        it->second(kv.second);
      }
    }
  }

  Handler string(std::string& out, const std::string& name) {
    return [this, &out, name](const YAML::Node& n) {
      if (n.IsNull()) return out.clear();
      if (!n.IsScalar()) return error(n, name + " must be a string");
      out = n.Scalar();
    };
  }

  Handler boolean(bool& out, const std::string& name) {
    return [this, &out, name](const YAML::Node& n) {
      bool value = false;
      if (!n.IsScalar() || !YAML::convert<bool>::decode(n, value)) {
        return error(n, name + " must be true or false");
      }
      out = value;
    };
  }

  template <typename T>
  Handler number(T& out, const std::string& name, std::uint64_t min, std::uint64_t max) {
    return [this, &out, name, min, max](const YAML::Node& n) {
      std::uint64_t value = 0;
      const std::string text = n.IsScalar() ? n.Scalar() : "";
      std::size_t used = 0;
      bool ok = !text.empty() && text[0] != '-';
      try {
        if (ok) value = std::stoull(text, &used, 10);
      } catch (const std::exception&) {
        ok = false;
      }
      if (!ok || used != text.size() || value < min || value > max) {
        return error(n, name + " must be a whole number from " + std::to_string(min) + " to " +
                            std::to_string(max));
      }
      out = static_cast<T>(value);
    };
  }

  Handler duration(std::chrono::seconds& out, const std::string& name) {
    return [this, &out, name](const YAML::Node& n) {
      if (!n.IsScalar() || !parse_duration(n.Scalar(), out)) {
        error(n, name + " must be a duration such as 30s, 10m or 1h");
      }
    };
  }

  Handler string_list(std::vector<std::string>& out, const std::string& name,
                      std::function<bool(const std::string&)> valid = {},
                      const std::string& what = "") {
    return [this, &out, name, valid, what](const YAML::Node& n) {
      out.clear();
      if (n.IsNull()) return;
      if (!n.IsSequence()) return error(n, name + " must be a list");
      for (const auto& item : n) {
        if (!item.IsScalar()) {
          error(item, name + " entries must be strings");
        } else if (valid && !valid(item.Scalar())) {
          error(item, name + ": '" + item.Scalar() + "' is not " + what);
        } else {
          out.push_back(item.Scalar());
        }
      }
    };
  }

 private:
  std::string file_;
  std::vector<ConfigError> errors_;
};

inline bool is_ip(const std::string& text) {
  protocol::TransportAddress a;
  return protocol::TransportAddress::parse_ip(text, a);
}

inline void check_one_of(Walker& w, const YAML::Node& n, const std::string& value,
                         const std::vector<std::string>& allowed, const std::string& name) {
  for (const auto& a : allowed) {
    if (value == a) return;
  }
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  w.error(n, name + " must be one of: " + list + " (got '" + value + "')");
}

// auth: users (inline), files and environment names, REST secrets, OAuth keys (RFC 7635).
void load_auth(Walker& w, const YAML::Node& n, Auth& auth);

// relay (relay_checks.cpp): public_address_env read into public_address; extra_addresses and
// multiplex_port checked against the rest of the section.
void load_public_address_env(Walker& w, const YAML::Node& n, Relay& relay);
void check_extra_addresses(Walker& w, const YAML::Node& n, const Relay& relay);
void check_multiplex_port(Walker& w, const YAML::Node& n, const Relay& relay);

}  // namespace tern::config
