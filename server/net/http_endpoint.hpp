// The HTTP endpoint for /metrics, /healthz and /readyz (Boost.Beast): GET and HEAD, keep-alive,
// gzip when the client accepts it, and TLS when configured.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "tern/protocol/address.hpp"

namespace boost::asio::ssl {
class context;
}

namespace tern::net {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};
using HttpHandler = std::function<HttpResponse(std::string_view path)>;

class HttpEndpoint {
 public:
  // At most this many connections at once; more are accepted and closed at once.
  static constexpr std::size_t kMaxConnections = 64;

  // `listen` is "IP:port" or "[IPv6]:port"; with `tls`, connections are HTTPS. Throws
  // std::runtime_error when it cannot bind.
  HttpEndpoint(boost::asio::io_context& io, const std::string& listen, HttpHandler handler,
               std::shared_ptr<boost::asio::ssl::context> tls = nullptr);
  const protocol::TransportAddress& local() const noexcept { return local_; }
  bool is_tls() const noexcept { return tls_ != nullptr; }
  // New connections use `tls` (a reloaded certificate); open ones keep theirs.
  void set_tls(std::shared_ptr<boost::asio::ssl::context> tls) { tls_ = std::move(tls); }

 private:
  void accept();

  boost::asio::ip::tcp::acceptor acceptor_;
  std::shared_ptr<const HttpHandler> handler_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  std::shared_ptr<std::size_t> open_ = std::make_shared<std::size_t>(0);
  protocol::TransportAddress local_;
};

// A gzip member of `data` (RFC 1952), or an empty string when zlib fails.
std::string gzip(std::string_view data);
// Whether an Accept-Encoding header value accepts gzip (RFC 9110 §12.5.3: a q of 0 refuses).
bool accepts_gzip(std::string_view accept_encoding);

}  // namespace tern::net
