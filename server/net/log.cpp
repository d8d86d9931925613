// Logger: RFC 3339 timestamps, key=value text or one JSON object per line.
#include "log.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>

namespace tern::net {
namespace {

const char* level_name(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

std::string timestamp() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()) % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms.count()));
  return buf;
}

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

// Text values with spaces, quotes or '=' are quoted so lines stay parseable.
void append_text_value(std::string& out, std::string_view s) {
  if (!s.empty() && s.find_first_of(" \"=\t\n") == std::string_view::npos) {
    out += s;
  } else {
    append_json_string(out, s);
  }
}

const char* event_name(core::AllocationEvent e) {
  switch (e) {
    case core::AllocationEvent::kCreated:
      return "allocation_created";
    case core::AllocationEvent::kRefreshed:
      return "allocation_refreshed";
    case core::AllocationEvent::kDeleted:
      return "allocation_deleted";
    case core::AllocationEvent::kExpired:
      return "allocation_expired";
    case core::AllocationEvent::kClosed:
      return "allocation_closed";
    case core::AllocationEvent::kMoved:
      return "allocation_moved";
    case core::AllocationEvent::kMovedAway:
      return "allocation_moved_away";
  }
  return "allocation";
}

}  // namespace

std::string Logger::format(LogLevel level, std::string_view event,
                           std::initializer_list<LogField> fields) const {
  std::string line;
  if (format_ == LogFormat::kJson) {
    line = "{\"time\":\"" + timestamp() + "\",\"level\":\"" + level_name(level) + "\",\"event\":";
    append_json_string(line, event);
    for (const auto& [key, value] : fields) {
      if (value.empty()) continue;
      line += ',';
      append_json_string(line, key);
      line += ':';
      append_json_string(line, value);
    }
    line += "}\n";
    return line;
  }
  line = timestamp() + " " + level_name(level) + " " + std::string(event);
  for (const auto& [key, value] : fields) {
    if (value.empty()) continue;
    line += ' ';
    line += key;
    line += '=';
    append_text_value(line, value);
  }
  line += '\n';
  return line;
}

void Logger::log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields) {
  if (!enabled(level)) return;
  const std::string line = format(level, event, fields);
  // A short write is continued; a failed one (a closed pipe) loses the rest of that line.
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
}

void Logger::allocation(core::AllocationEvent event, const core::AllocationEventInfo& info) {
  if (!enabled(LogLevel::kInfo)) return;
  char session[17];
  std::snprintf(session, sizeof session, "%016llx",
                static_cast<unsigned long long>(info.session_id));
  std::string relayed;
  for (const auto& r : info.relays) {
    if (!relayed.empty()) relayed.push_back(',');
    relayed.append(r.address.to_string());
  }
  const std::string lifetime =
      info.lifetime.count() > 0 ? std::to_string(info.lifetime.count()) : std::string();
  log(LogLevel::kInfo, event_name(event),
      {{"session", session},
       {"client", info.flow->client.to_string()},
       {"transport", core::to_string(info.flow->transport)},
       {"user", std::string(info.username)},
       {"relayed", relayed},
       {"lifetime", lifetime}});
}

LogLevel parse_log_level(std::string_view name) {
  if (name == "debug") return LogLevel::kDebug;
  if (name == "warn") return LogLevel::kWarn;
  if (name == "error") return LogLevel::kError;
  return LogLevel::kInfo;
}

LogFormat parse_log_format(std::string_view name) {
  return name == "json" ? LogFormat::kJson : LogFormat::kText;
}

}  // namespace tern::net
