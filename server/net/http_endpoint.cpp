// HttpEndpoint on Boost.Beast: bounded request heads, idle and handshake timeouts, a connection
// limit; GET and HEAD only.
#include "http_endpoint.hpp"

#include <zlib.h>

#include <algorithm>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <optional>
#include <stdexcept>
#include <vector>

#include "sockaddr.hpp"
#include "sockets.hpp"

namespace tern::net {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;

constexpr std::size_t kMaxRequestHead = 8192;
constexpr auto kIdleTimeout = std::chrono::seconds(30);  // for a request, and between requests
constexpr auto kHandshakeTimeout = std::chrono::seconds(10);
constexpr std::size_t kGzipFrom = 1024;  // smaller bodies are sent as they are

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// One connection: requests in order, each answered before the next is read.
template <class Stream>
class Exchange : public std::enable_shared_from_this<Exchange<Stream>> {
 public:
  // `context`: the TLS context the stream was made with, kept while the stream lives.
  Exchange(Stream stream, std::shared_ptr<const HttpHandler> handler,
           std::shared_ptr<std::size_t> open, std::shared_ptr<void> context = nullptr)
      : stream_(std::move(stream)),
        handler_(std::move(handler)),
        open_(std::move(open)),
        context_(std::move(context)) {
    ++*open_;
  }
  ~Exchange() { --*open_; }

  void start() {
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      beast::get_lowest_layer(stream_).expires_after(kHandshakeTimeout);
      stream_.async_handshake(boost::asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (!ec) self->read();
                              });
    } else {
      read();
    }
  }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(kMaxRequestHead);
    parser_->body_limit(kMaxRequestHead);
    beast::get_lowest_layer(stream_).expires_after(kIdleTimeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec == http::error::end_of_stream || ec == beast::error::timeout) {
                         return self->close();
                       }
                       if (ec) return self->refuse();
                       self->respond(self->parser_->get());
                     });
  }

  void respond(const http::request<http::string_body>& req) {
    const bool head = req.method() == http::verb::head;
    HttpResponse r;
    if (req.method() != http::verb::get && !head) {
      r = {405, "text/plain; charset=utf-8", "only GET and HEAD\n"};
    } else {
      const std::string_view target(req.target().data(), req.target().size());
      r = (*handler_)(target.substr(0, target.find('?')));
    }
    res_ = {};
    res_.version(req.version());
    res_.result(static_cast<unsigned>(r.status));
    res_.set(http::field::content_type, r.content_type);
    if (r.status == 405) res_.set(http::field::allow, "GET, HEAD");
    if (r.body.size() >= kGzipFrom) {
      res_.set(http::field::vary, "Accept-Encoding");
      const auto accept = req.find(http::field::accept_encoding);
      if (accept != req.end() &&
          accepts_gzip(std::string_view(accept->value().data(), accept->value().size()))) {
        if (std::string z = gzip(r.body); !z.empty()) {
          r.body = std::move(z);
          res_.set(http::field::content_encoding, "gzip");
        }
      }
    }
    res_.keep_alive(req.keep_alive());
    res_.content_length(r.body.size());  // for HEAD too: the size GET would send
    if (!head) res_.body() = std::move(r.body);
    write();
  }

  void write(bool linger = false) {
    http::async_write(stream_, res_,
                      [self = this->shared_from_this(), linger](beast::error_code ec, std::size_t) {
                        if (!ec && linger) return self->linger();
                        if (ec || !self->res_.keep_alive()) return self->close();
                        self->read();
                      });
  }

  // After a 400 the client may still be sending: closing with its bytes unread would reset the
  // connection and could discard the answer before the client reads it. So: stop sending, read
  // and drop what comes for up to two seconds, then close.
  void linger() {
    beast::error_code ignored;
    auto& lowest = beast::get_lowest_layer(stream_);
    lowest.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
    lowest.expires_after(std::chrono::seconds(2));
    drain_.resize(4096);
    discard();
  }
  void discard() {
    beast::get_lowest_layer(stream_).async_read_some(
        boost::asio::buffer(drain_),
        [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
          if (ec) return self->close();
          self->discard();
        });
  }

  // A request Beast cannot parse, or one past the size limits: 400, then close.
  void refuse() {
    res_ = {};
    res_.version(11);
    res_.result(http::status::bad_request);
    res_.set(http::field::content_type, "text/plain; charset=utf-8");
    res_.keep_alive(false);
    res_.body() = "bad request\n";
    res_.prepare_payload();
    write(true);
  }

  void close() {
    beast::error_code ignored;
    auto& socket = beast::get_lowest_layer(stream_).socket();
    socket.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }

  Stream stream_;
  std::shared_ptr<const HttpHandler> handler_;
  std::shared_ptr<std::size_t> open_;
  std::shared_ptr<void> context_;
  beast::flat_buffer buffer_;
  std::vector<char> drain_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
};

boost::asio::ip::tcp::endpoint parse_listen(const std::string& listen) {
  protocol::TransportAddress a;
  if (!protocol::TransportAddress::parse(listen, a)) {
    throw std::runtime_error("metrics.listen: need IP:port, got " + listen);
  }
  return tcp_endpoint(a);
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string gzip(std::string_view data) {
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return {};
  }
  std::string out(deflateBound(&z, static_cast<uLong>(data.size())), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int result = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return result == Z_STREAM_END ? out : std::string();
}

bool accepts_gzip(std::string_view accept_encoding) {
  const std::string all = lower(accept_encoding);
  std::optional<bool> gzip_named, any;  // what an explicit gzip entry and `*` say
  std::string_view rest = all;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string_view item = trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    const auto semi = item.find(';');
    const std::string_view coding = trim(item.substr(0, semi));
    bool accepted = true;
    if (semi != std::string_view::npos) {
      std::string_view param = trim(item.substr(semi + 1));
      if (param.substr(0, 2) == "q=") {
        param.remove_prefix(2);
        // q=0, q=0.0, q=0.00, q=0.000 refuse; any other weight accepts.
        accepted = param.find_first_not_of("0.") != std::string_view::npos;
      }
    }
    if (coding == "gzip" || coding == "x-gzip") gzip_named = accepted;
    if (coding == "*") any = accepted;
  }
  return gzip_named.value_or(any.value_or(false));
}

HttpEndpoint::HttpEndpoint(boost::asio::io_context& io, const std::string& listen,
                           HttpHandler handler, std::shared_ptr<boost::asio::ssl::context> tls)
    : acceptor_(io),
      handler_(std::make_shared<const HttpHandler>(std::move(handler))),
      tls_(std::move(tls)) {
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
    if (!ec && *open_ < kMaxConnections) {  // over the limit: `s` closes as it goes out of scope
      beast::tcp_stream stream(std::move(s));
      if (tls_) {
        std::make_shared<Exchange<TlsStream>>(TlsStream(std::move(stream), *tls_), handler_, open_,
                                              tls_)
            ->start();
      } else {
        std::make_shared<Exchange<beast::tcp_stream>>(std::move(stream), handler_, open_)->start();
      }
    }
    accept();
  });
}

}  // namespace tern::net
