// libFuzzer target: the YAML config loader on any text: a config or errors that name a line,
// never a crash or an exception.
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto result = tern::config::load_config_string(text, "fuzz.yaml");
  if (result.config.has_value() == !result.errors.empty()) __builtin_trap();
  for (const auto& e : result.errors) {
    if (e.file != "fuzz.yaml" || e.message.empty()) __builtin_trap();
  }
  return 0;
}
