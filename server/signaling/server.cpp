// SignalingServer: Beast HTTP sessions that may upgrade to WebSocket sessions fed into the Hub.
#include "signaling/server.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <cerrno>
#include <cstring>
#include <deque>
#include <map>
#include <set>
#include <stdexcept>

#include "signaling/forwarded.hpp"

namespace tern::signaling {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = boost::asio::ip::tcp;

// Asio's stream rather than Beast's wrapper: only it can take over a TLS session whose
// handshake another part of tern did (a shared port's client that offered no ALPN name).
using TlsStream = boost::asio::ssl::stream<beast::tcp_stream>;

// A WebSocket session as the hub's deliveries see it, over TCP or TLS.
class WsSink {
 public:
  virtual ~WsSink() = default;
  virtual void send(const std::string& text) = 0;
};

struct SignalingServer::State {
  State(boost::asio::io_context& io, SignalingOptions o, HttpRoute r)
      : acceptor(io), retry(io), options(std::move(o)), route(std::move(r)), hub(options.limits) {}
  tcp::acceptor acceptor;
  boost::asio::steady_timer retry;  // accepting again after the process ran out of descriptors
  std::size_t open = 0;             // connections counted against options.max_connections
  std::map<std::string, std::size_t> by_source;  // address bytes -> open connections
  SignalingOptions options;
  HttpRoute route;
  Hub hub;
  std::map<MemberId, std::weak_ptr<WsSink>> sessions;
  protocol::TransportAddress local;
  bool stopped = false;
  // HTTPS contexts of adopted connections (a few: one per certificate reload).
  std::set<std::shared_ptr<boost::asio::ssl::context>> contexts;

  void deliver(const std::vector<Outgoing>& out);
};

namespace {

constexpr auto kHttpTimeout = std::chrono::seconds(30);

// A request that a reverse proxy forwarded comes from the proxy's address, which is loopback
// when the proxy runs on the tern host; the header it adds shows it speaks for someone else.
bool proxied(const http::request<http::string_body>& req) {
  return req.count(http::field::forwarded) > 0 || req.count("X-Forwarded-For") > 0 ||
         req.count("X-Real-IP") > 0;
}

protocol::TransportAddress to_address(const tcp::endpoint& e) {
  protocol::TransportAddress out;
  const auto a = e.address();
  if (a.is_v4()) {
    const auto b = a.to_v4().to_bytes();
    std::copy(b.begin(), b.end(), out.ip.begin());
  } else {
    out.family = protocol::Family::kIPv6;
    const auto b = a.to_v6().to_bytes();
    std::copy(b.begin(), b.end(), out.ip.begin());
  }
  out.port = e.port();
  return out;
}

bool is_loopback(const protocol::TransportAddress& a) {
  if (a.family == protocol::Family::kIPv4) return a.ip[0] == 127;
  static constexpr std::array<std::uint8_t, 12> kMapped = {0, 0, 0, 0, 0,    0,
                                                           0, 0, 0, 0, 0xff, 0xff};
  std::array<std::uint8_t, 16> one{};
  one[15] = 1;
  return a.ip == one ||
         (std::equal(kMapped.begin(), kMapped.end(), a.ip.begin()) && a.ip[12] == 127);
}

// The last value of a header that may appear on several lines (their values join with commas).
std::string_view last_value(const http::request<http::string_body>& req, std::string_view name) {
  std::string_view value;
  for (auto [it, end] = req.equal_range(name); it != end; ++it) {
    value = std::string_view(it->value().data(), it->value().size());
  }
  return value;
}

// One connection counted against the limits, from accept until the last session holding it
// (HTTP, then WebSocket after an upgrade) is gone.
class Slot {
 public:
  static std::shared_ptr<Slot> take(const std::shared_ptr<SignalingServer::State>& state,
                                    const tcp::socket& socket) {
    beast::error_code ec;
    const auto remote = socket.remote_endpoint(ec);
    if (ec) return nullptr;
    const auto source = to_address(remote);
    const auto& o = state->options;
    // A trusted proxy is held to the limits of the clients its requests name (rekey).
    const bool proxy = o.trusted_proxy && o.trusted_proxy(source);
    const std::string key = key_of(source);
    if (state->open >= o.max_connections || (!proxy && over_limit(*state, key))) return nullptr;
    ++state->by_source[key];
    ++state->open;
    return std::shared_ptr<Slot>(new Slot(state, key));
  }
  // Counts this connection for `client` from now on; false when `client` is over its limit.
  bool rekey(const protocol::TransportAddress& client) {
    const std::string key = key_of(client);
    if (key == key_) return true;
    if (over_limit(*state_, key)) return false;
    forget();
    ++state_->by_source[key];
    key_ = key;
    return true;
  }
  ~Slot() {
    forget();
    --state_->open;
  }
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;

 private:
  Slot(std::shared_ptr<SignalingServer::State> state, std::string key)
      : state_(std::move(state)), key_(std::move(key)) {}
  static std::string key_of(const protocol::TransportAddress& a) {
    return std::string(reinterpret_cast<const char*>(a.ip.data()), a.ip_size());
  }
  static bool over_limit(const SignalingServer::State& state, const std::string& key) {
    const auto limit = state.options.connections_per_source_ip;
    auto it = state.by_source.find(key);
    return limit != 0 && it != state.by_source.end() && it->second >= limit;
  }
  void forget() {
    auto it = state_->by_source.find(key_);
    if (it != state_->by_source.end() && --it->second == 0) state_->by_source.erase(it);
  }
  std::shared_ptr<SignalingServer::State> state_;
  std::string key_;
};

}  // namespace

template <class Stream>
class WsSession : public std::enable_shared_from_this<WsSession<Stream>>, public WsSink {
 public:
  WsSession(Stream stream, std::shared_ptr<SignalingServer::State> state,
            std::shared_ptr<Slot> slot)
      : ws_(std::move(stream)), state_(std::move(state)), slot_(std::move(slot)) {}

  void start(http::request<http::string_body> request) {
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.read_message_max(state_->options.max_message);
    ws_.async_accept(request, [self = this->shared_from_this()](beast::error_code ec) {
      if (ec) return;
      self->id_ = self->state_->hub.connect(std::chrono::steady_clock::now());
      self->state_->sessions[self->id_] = self;
      self->read();
    });
  }

  void send(const std::string& text) override {
    if (queued_ + text.size() > state_->options.max_queued_bytes) {
      // A client that does not read: drop it rather than queue without bound. The pending
      // read then fails and closed() tells its room.
      beast::get_lowest_layer(ws_).close();
      return;
    }
    queued_ += text.size();
    out_.push_back(text);
    if (out_.size() == 1) write();
  }

 private:
  void read() {
    ws_.async_read(in_, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->closed();
      const std::string text = beast::buffers_to_string(self->in_.data());
      self->in_.consume(self->in_.size());
      if (!self->ws_.got_text()) {
        self->send(error_message("bad-json", "send text frames"));
      } else {
        self->state_->deliver(
            self->state_->hub.receive(self->id_, text, std::chrono::steady_clock::now()));
      }
      self->read();
    });
  }

  void write() {
    ws_.text(true);
    ws_.async_write(boost::asio::buffer(out_.front()),
                    [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                      if (ec) return self->closed();
                      self->queued_ -= self->out_.front().size();
                      self->out_.pop_front();
                      if (!self->out_.empty()) self->write();
                    });
  }

  void closed() {
    if (id_ == 0 || state_->stopped) return;
    const MemberId id = id_;
    id_ = 0;
    state_->sessions.erase(id);
    state_->deliver(state_->hub.disconnect(id));
  }

  websocket::stream<Stream> ws_;
  std::shared_ptr<SignalingServer::State> state_;
  beast::flat_buffer in_;
  std::deque<std::string> out_;
  std::size_t queued_ = 0;  // bytes in out_
  MemberId id_ = 0;
  std::shared_ptr<Slot> slot_;
};

void SignalingServer::State::deliver(const std::vector<Outgoing>& out) {
  for (const auto& o : out) {
    auto it = sessions.find(o.to);
    if (it == sessions.end()) continue;
    if (auto s = it->second.lock()) s->send(o.text);
  }
}

namespace {

template <class Stream>
class HttpSession : public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  HttpSession(Stream stream, std::shared_ptr<SignalingServer::State> state,
              std::shared_ptr<Slot> slot)
      : stream_(std::move(stream)), state_(std::move(state)), slot_(std::move(slot)) {}

  // The TLS handshake is done and `first` is what was read of the first request already.
  void resume(std::span<const std::uint8_t> first) {
    const auto room = buffer_.prepare(first.size());
    std::memcpy(room.data(), first.data(), first.size());
    buffer_.commit(first.size());
    read();
  }

  void start() {
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      beast::get_lowest_layer(stream_).expires_after(kHttpTimeout);
      stream_.async_handshake(boost::asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return self->close();
                                self->read();
                              });
    } else {
      read();
    }
  }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(16 * 1024);
    parser_->body_limit(16 * 1024);
    beast::get_lowest_layer(stream_).expires_after(kHttpTimeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec) return self->close();
                       self->handle(self->parser_->release());
                     });
  }

  // Who the request is from: the peer, or the client a trusted proxy names. False: refused.
  bool identify(const http::request<http::string_body>& req, bool& loopback) {
    beast::error_code ec;
    const auto peer = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
    if (ec) return false;
    const auto remote = to_address(peer);
    const auto& trusted = state_->options.trusted_proxy;
    const auto xff = last_value(req, "X-Forwarded-For");
    const auto fwd = last_value(req, "Forwarded");
    if (trusted && trusted(remote) && (!xff.empty() || !fwd.empty())) {
      const auto client = forwarded_client(xff, fwd);
      if (!client || !slot_->rekey(*client)) return false;
      loopback = is_loopback(*client);
      return true;
    }
    // A forwarding header from anyone else says nothing about the client, but does say the
    // request came through someone: never loopback then.
    loopback = is_loopback(remote) && !proxied(req);
    return true;
  }

  void handle(http::request<http::string_body> req) {
    bool loopback = false;
    if (!identify(req, loopback)) return close();
    if (websocket::is_upgrade(req)) {
      if (req.target() != "/ws") return close();
      beast::get_lowest_layer(stream_).expires_never();
      std::make_shared<WsSession<Stream>>(std::move(stream_), state_, slot_)->start(std::move(req));
      return;
    }
    HttpReply reply;
    if (req.method() != http::verb::get) {
      reply = {405, "text/plain; charset=utf-8", "only GET\n"};
    } else {
      reply = state_->route(std::string_view(req.target().data(), req.target().size()),
                            std::string_view(req[http::field::authorization].data(),
                                             req[http::field::authorization].size()),
                            loopback);
    }
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(reply.status), req.version());
    res->set(http::field::content_type, reply.content_type);
    res->set(http::field::cache_control, "no-store");
    res->set("X-Content-Type-Options", "nosniff");
    res->keep_alive(req.keep_alive());
    res->body() = std::move(reply.body);
    res->prepare_payload();
    http::async_write(stream_, *res,
                      [self = this->shared_from_this(), res](beast::error_code ec, std::size_t) {
                        if (ec || !res->keep_alive()) return self->close();
                        self->read();
                      });
  }

  void close() {
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
  }

  Stream stream_;
  std::shared_ptr<SignalingServer::State> state_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<Slot> slot_;
};

void accept(std::shared_ptr<SignalingServer::State> state) {
  state->acceptor.async_accept([state](beast::error_code ec, tcp::socket socket) {
    if (ec == boost::asio::error::operation_aborted || state->stopped) return;
    if (ec == boost::asio::error::no_descriptors || ec == boost::asio::error::no_buffer_space ||
        ec == boost::asio::error::no_memory || ec.value() == ENFILE) {
      // Out of descriptors: accepting again at once would spin. Pause; TURN sheds its own.
      state->retry.expires_after(std::chrono::milliseconds(50));
      state->retry.async_wait([state](beast::error_code wait) {
        if (!wait && !state->stopped) accept(state);
      });
      return;
    }
    if (!ec) {
      // Over the limits: the socket closes as it goes out of scope.
      if (auto slot = Slot::take(state, socket)) {
        std::make_shared<HttpSession<beast::tcp_stream>>(beast::tcp_stream(std::move(socket)),
                                                         state, std::move(slot))
            ->start();
      }
    }
    accept(state);
  });
}

tcp::endpoint parse_listen(const std::string& listen) {
  protocol::TransportAddress a;
  if (!protocol::TransportAddress::parse(listen, a)) {
    throw std::runtime_error("signaling.listen: need IP:port, got " + listen);
  }
  if (a.family == protocol::Family::kIPv4) {
    boost::asio::ip::address_v4::bytes_type ip{};
    std::copy_n(a.ip.begin(), ip.size(), ip.begin());
    return {boost::asio::ip::address_v4(ip), a.port};
  }
  return {boost::asio::ip::address_v6(a.ip), a.port};
}

}  // namespace

SignalingServer::SignalingServer(boost::asio::io_context& io, SignalingOptions options,
                                 HttpRoute route)
    : state_(std::make_shared<State>(io, std::move(options), std::move(route))) {
  const auto endpoint = parse_listen(state_->options.listen);
  beast::error_code ec;
  state_->acceptor.open(endpoint.protocol(), ec);
  if (!ec) state_->acceptor.set_option(boost::asio::socket_base::reuse_address(true), ec);
  if (!ec) state_->acceptor.bind(endpoint, ec);
  if (!ec) state_->acceptor.listen(128, ec);
  if (ec)
    throw std::runtime_error("signaling listener " + state_->options.listen + ": " + ec.message());
  const auto bound = state_->acceptor.local_endpoint();
  protocol::TransportAddress::parse_ip(bound.address().to_string(), state_->local);
  state_->local.port = bound.port();
  accept(state_);
}

SignalingServer::~SignalingServer() {
  state_->stopped = true;
  beast::error_code ignored;
  state_->acceptor.close(ignored);
  state_->retry.cancel();
}

void SignalingServer::adopt(tcp::socket socket, std::shared_ptr<boost::asio::ssl::context> tls,
                            ssl_st* session, std::span<const std::uint8_t> read) {
  std::unique_ptr<ssl_st, void (*)(ssl_st*)> owned(session, SSL_free);
  if (state_->stopped) return;
  auto slot = Slot::take(state_, socket);
  if (!slot) return;  // over the limits: the socket closes as it goes out of scope
  beast::tcp_stream stream(std::move(socket));
  if (owned) {
    std::make_shared<HttpSession<TlsStream>>(TlsStream(std::move(stream), owned.release()), state_,
                                             std::move(slot))
        ->resume(read);
  } else if (tls) {
    std::make_shared<HttpSession<TlsStream>>(TlsStream(std::move(stream), *tls), state_,
                                             std::move(slot))
        ->start();
    state_->contexts.insert(std::move(tls));  // kept while connections may use it
  } else {
    std::make_shared<HttpSession<beast::tcp_stream>>(std::move(stream), state_, std::move(slot))
        ->start();
  }
}

const protocol::TransportAddress& SignalingServer::local() const noexcept {
  return state_->local;
}

}  // namespace tern::signaling
