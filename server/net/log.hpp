// Structured log lines (text or JSON) on stderr, and the allocation events the core reports.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "tern/core/events.hpp"

namespace tern::net {

enum class LogLevel { kDebug, kInfo, kWarn, kError };
enum class LogFormat { kText, kJson };

using LogField = std::pair<std::string_view, std::string>;

// Thread-safe: each line goes out in one write(2). Never given a password, key or secret.
class Logger final : public core::EventSink {
 public:
  Logger(LogLevel level, LogFormat format, int fd = 2) : level_(level), format_(format), fd_(fd) {}

  void log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields);
  // The line as it would be written (for tests).
  std::string format(LogLevel level, std::string_view event,
                     std::initializer_list<LogField> fields) const;
  void allocation(core::AllocationEvent event, const core::AllocationEventInfo& info) override;
  bool enabled(LogLevel level) const noexcept { return level >= level_; }

 private:
  LogLevel level_;
  LogFormat format_;
  int fd_;
};

LogLevel parse_log_level(std::string_view name);    // debug, info, warn, error
LogFormat parse_log_format(std::string_view name);  // text, json

}  // namespace tern::net
