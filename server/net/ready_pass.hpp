// One pass over what an io_context has ready, as a coalescing worker's wake-up wants it: each
// ready handler runs once, where io_context::poll() runs for as long as anything is ready.
#pragma once

#include <cstddef>

namespace boost::asio {
class io_context;
}

namespace tern::net {

// Runs each handler that is ready when it is called once, and stops; handlers that become
// ready meanwhile (a socket read again, a handler posted by one that ran) wait for the next
// call. Returns how many ran.
std::size_t run_ready_once(boost::asio::io_context& io);

}  // namespace tern::net
