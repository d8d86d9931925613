// run_ready_once: a marker posted behind the ready handlers (and behind the reactor's next
// non-blocking pass, whose finds are queued after it) ends the pass.
#include "ready_pass.hpp"

#include <cstdint>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

namespace tern::net {

std::size_t run_ready_once(boost::asio::io_context& io) {
  // Under sustained load something is always ready: io.poll() would read each socket again
  // and again a few datagrams at a time instead of once a batch.
  static thread_local std::uint64_t markers_run = 0;  // an io_context runs on one thread here
  const std::uint64_t want = markers_run + 1;
  boost::asio::post(io, [] { ++markers_run; });
  std::size_t ran = 0;
  while (markers_run < want && io.poll_one() != 0) ++ran;
  return ran == 0 ? 0 : ran - 1;  // the marker is not one of them
}

}  // namespace tern::net
