// run_ready_once: each handler ready at the call runs once, and the call returns even when a
// handler keeps something ready all the time (where io_context::poll() would not).
#include "net/ready_pass.hpp"

#include <gtest/gtest.h>

#include <functional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

namespace tern::net {
namespace {

TEST(ReadyPass, RunsEachReadyHandlerOnce) {
  boost::asio::io_context io{1};
  int a = 0, b = 0, c = 0;
  boost::asio::post(io, [&] { ++a; });
  boost::asio::post(io, [&] { ++b; });
  boost::asio::post(io, [&] { ++c; });
  EXPECT_EQ(run_ready_once(io), 3u);
  EXPECT_EQ(a + b + c, 3);
  EXPECT_EQ(run_ready_once(io), 0u);  // nothing ready: returns at once
}

TEST(ReadyPass, EndsWhileAHandlerKeepsWorkReady) {
  boost::asio::io_context io{1};
  int runs = 0;
  std::function<void()> again = [&] {  // like a socket that is readable again at once
    ++runs;
    boost::asio::post(io, again);
  };
  boost::asio::post(io, again);
  EXPECT_EQ(run_ready_once(io), 1u);
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(run_ready_once(io), 1u);  // the next pass takes what became ready meanwhile
  EXPECT_EQ(runs, 2);
  io.stop();
}

TEST(ReadyPass, AHandlerPostedDuringThePassWaitsForTheNext) {
  boost::asio::io_context io{1};
  int first = 0, later = 0;
  boost::asio::post(io, [&] {
    ++first;
    boost::asio::post(io, [&] { ++later; });
  });
  run_ready_once(io);
  EXPECT_EQ(first, 1);
  EXPECT_EQ(later, 0);
  run_ready_once(io);
  EXPECT_EQ(later, 1);
}

}  // namespace
}  // namespace tern::net
