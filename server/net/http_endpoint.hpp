// A minimal HTTP/1.1 GET responder for /metrics, /healthz and /readyz (one request per connection).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <string>
#include <string_view>

#include "tern/protocol/address.hpp"

namespace tern::net {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};
using HttpHandler = std::function<HttpResponse(std::string_view path)>;

class HttpEndpoint {
 public:
  // `listen` is "IP:port" or "[IPv6]:port". Throws std::runtime_error when it cannot bind.
  HttpEndpoint(boost::asio::io_context& io, const std::string& listen, HttpHandler handler);
  const protocol::TransportAddress& local() const noexcept { return local_; }

 private:
  void accept();

  boost::asio::ip::tcp::acceptor acceptor_;
  HttpHandler handler_;
  protocol::TransportAddress local_;
};

}  // namespace tern::net
