// The admin API's Unix socket (mode 0600): one JSON request line in, one JSON response line out.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <functional>
#include <string>

namespace tern::net {

using AdminHandler = std::function<std::string(const std::string& request)>;

class AdminEndpoint {
 public:
  // Replaces a stale socket file; throws std::runtime_error when the path cannot be bound.
  AdminEndpoint(boost::asio::io_context& io, const std::string& path, AdminHandler handler);
  ~AdminEndpoint();
  const std::string& path() const noexcept { return path_; }

 private:
  void accept();

  boost::asio::local::stream_protocol::acceptor acceptor_;
  AdminHandler handler_;
  std::string path_;
};

}  // namespace tern::net
