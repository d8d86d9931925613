// Reads the last hop of X-Forwarded-For and Forwarded (RFC 7239 §4, §6) into an address.
#include "signaling/forwarded.hpp"

#include <string>

namespace tern::signaling {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string_view last_element(std::string_view list) {
  const auto comma = list.rfind(',');
  return trim(comma == std::string_view::npos ? list : list.substr(comma + 1));
}

// "192.0.2.1", "192.0.2.1:80", "2001:db8::1", "[2001:db8::1]", "[2001:db8::1]:80".
std::optional<protocol::TransportAddress> node(std::string_view text) {
  protocol::TransportAddress a;
  const std::string s(text);
  if (s.find('\0') != std::string::npos) return std::nullopt;
  if (protocol::TransportAddress::parse_ip(s, a)) return a;
  if (protocol::TransportAddress::parse(s, a)) return a;
  if (s.size() > 2 && s.front() == '[' && s.back() == ']' &&
      protocol::TransportAddress::parse_ip(s.substr(1, s.size() - 2), a) &&
      a.family == protocol::Family::kIPv6) {
    return a;
  }
  return std::nullopt;
}

// The value of `for=` (case-insensitive name, optionally quoted) in one Forwarded element.
std::optional<std::string_view> for_parameter(std::string_view element) {
  while (!element.empty()) {
    const auto semicolon = element.find(';');
    const auto pair = trim(element.substr(0, semicolon));
    element =
        semicolon == std::string_view::npos ? std::string_view() : element.substr(semicolon + 1);
    const auto equals = pair.find('=');
    if (equals != 3) continue;
    const auto name = pair.substr(0, 3);
    if ((name[0] | 0x20) != 'f' || (name[1] | 0x20) != 'o' || (name[2] | 0x20) != 'r') continue;
    auto value = pair.substr(4);
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    return value;
  }
  return std::nullopt;
}

}  // namespace

std::optional<protocol::TransportAddress> forwarded_client(std::string_view x_forwarded_for,
                                                           std::string_view forwarded) {
  if (!trim(x_forwarded_for).empty()) return node(last_element(x_forwarded_for));
  if (trim(forwarded).empty()) return std::nullopt;
  const auto value = for_parameter(last_element(forwarded));
  if (!value) return std::nullopt;
  return node(*value);
}

}  // namespace tern::signaling
