// Logger: text and JSON lines, escaping, levels, and allocation events without secrets.
#include <gtest/gtest.h>
#include <unistd.h>

#include "net/log.hpp"

namespace tern::net {
namespace {

TEST(LogTest, JsonLinesEscapeAndSkipEmptyFields) {
  Logger logger(LogLevel::kInfo, LogFormat::kJson);
  const std::string line =
      logger.format(LogLevel::kWarn, "something", {{"detail", "a \"quoted\"\nline"}, {"empty", ""}});
  EXPECT_EQ(line.back(), '\n');
  EXPECT_NE(line.find("\"level\":\"warn\""), std::string::npos);
  EXPECT_NE(line.find("\"event\":\"something\""), std::string::npos);
  EXPECT_NE(line.find("\"detail\":\"a \\\"quoted\\\"\\nline\""), std::string::npos);
  EXPECT_EQ(line.find("empty"), std::string::npos);
}

TEST(LogTest, TextQuotesValuesWithSpaces) {
  Logger logger(LogLevel::kInfo, LogFormat::kText);
  const std::string line = logger.format(LogLevel::kInfo, "started", {{"a", "x y"}, {"b", "z"}});
  EXPECT_NE(line.find(" info started a=\"x y\" b=z\n"), std::string::npos);
}

TEST(LogTest, LevelsFilter) {
  Logger logger(LogLevel::kWarn, LogFormat::kText);
  EXPECT_FALSE(logger.enabled(LogLevel::kInfo));
  EXPECT_TRUE(logger.enabled(LogLevel::kError));
}

TEST(LogTest, AllocationEventsCarrySessionClientAndUser) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  Logger logger(LogLevel::kInfo, LogFormat::kJson, fds[1]);
  core::FiveTuple flow;
  flow.client = protocol::TransportAddress::v4(0xC0000201, 5000);
  core::RelayEndpoint relay{1, protocol::TransportAddress::v4(0xCB007109, 50000), 0};
  logger.allocation(core::AllocationEvent::kCreated,
                    {0xABCDEF, &flow, "1700000000:alice", std::span(&relay, 1),
                     std::chrono::seconds(600)});
  close(fds[1]);
  char buf[1024] = {};
  const auto n = read(fds[0], buf, sizeof buf - 1);
  close(fds[0]);
  const std::string line(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
  EXPECT_NE(line.find("\"event\":\"allocation_created\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"session\":\"0000000000abcdef\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"client\":\"192.0.2.1:5000\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"user\":\"1700000000:alice\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"relayed\":\"203.0.113.9:50000\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"lifetime\":\"600\""), std::string::npos) << line;
}

}  // namespace
}  // namespace tern::net
