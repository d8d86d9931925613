// HttpEndpoint: read the request head (bounded size and time), answer GET, close.
#include "http_endpoint.hpp"

#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "sockaddr.hpp"

namespace tern::net {
namespace {

constexpr std::size_t kMaxRequestHead = 8192;
constexpr auto kRequestTimeout = std::chrono::seconds(10);

const char* reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 503:
      return "Service Unavailable";
    default:
      return "Bad Request";
  }
}

class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(boost::asio::ip::tcp::socket socket, const HttpHandler& handler)
      : socket_(std::move(socket)),
        handler_(handler),
        timer_(socket_.get_executor()),
        in_(kMaxRequestHead) {}

  void start() {
    timer_.expires_after(kRequestTimeout);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->socket_.close(ec);
    });
    boost::asio::async_read_until(
        socket_, in_, "\r\n\r\n",
        [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
          if (ec) return self->finish();
          self->respond();
        });
  }

 private:
  void respond() {
    std::string head(boost::asio::buffers_begin(in_.data()), boost::asio::buffers_end(in_.data()));
    const auto line_end = head.find("\r\n");
    const std::string line = head.substr(0, line_end);
    const auto sp1 = line.find(' ');
    const auto sp2 = line.find(' ', sp1 == std::string::npos ? 0 : sp1 + 1);
    HttpResponse r;
    if (sp1 == std::string::npos || sp2 == std::string::npos) {
      r = {400, "text/plain; charset=utf-8", "bad request\n"};
    } else if (line.substr(0, sp1) != "GET") {
      r = {405, "text/plain; charset=utf-8", "only GET\n"};
    } else {
      std::string path = line.substr(sp1 + 1, sp2 - sp1 - 1);
      path = path.substr(0, path.find('?'));
      r = handler_(path);
    }
    out_ = "HTTP/1.1 " + std::to_string(r.status) + " " + reason(r.status) +
           "\r\nContent-Type: " + r.content_type +
           "\r\nContent-Length: " + std::to_string(r.body.size()) +
           "\r\nConnection: close\r\n\r\n" + r.body;
    boost::asio::async_write(
        socket_, boost::asio::buffer(out_),
        [self = shared_from_this()](boost::system::error_code, std::size_t) { self->finish(); });
  }
  void finish() {
    boost::system::error_code ignored;
    timer_.cancel();
    socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  boost::asio::ip::tcp::socket socket_;
  const HttpHandler& handler_;
  boost::asio::steady_timer timer_;
  boost::asio::streambuf in_;
  std::string out_;
};

boost::asio::ip::tcp::endpoint parse_listen(const std::string& listen) {
  protocol::TransportAddress a;
  if (!protocol::TransportAddress::parse(listen, a)) {
    throw std::runtime_error("metrics.listen: need IP:port, got " + listen);
  }
  sockaddr_storage ss{};
  const socklen_t len = to_sockaddr(a, ss);
  boost::asio::ip::tcp::endpoint endpoint;
  std::memcpy(endpoint.data(), &ss, len);
  endpoint.resize(len);
  return endpoint;
}

}  // namespace

HttpEndpoint::HttpEndpoint(boost::asio::io_context& io, const std::string& listen,
                           HttpHandler handler)
    : acceptor_(io), handler_(std::move(handler)) {
  const auto endpoint = parse_listen(listen);
  boost::system::error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(boost::asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(64, ec);
  if (ec) throw std::runtime_error("metrics listener " + listen + ": " + ec.message());
  local_ = from_sockaddr(acceptor_.local_endpoint().data());
  accept();
}

void HttpEndpoint::accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, boost::asio::ip::tcp::socket s) {
    if (ec == boost::asio::error::operation_aborted) return;
    if (!ec) std::make_shared<Exchange>(std::move(s), handler_)->start();
    accept();
  });
}

}  // namespace tern::net
