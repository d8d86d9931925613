// Runtime's shared ports: a PortMux on the main thread, TURN connections moved to the workers.
#include <unistd.h>

#include "runtime_impl.hpp"
#include "sockaddr.hpp"
#include "sockets.hpp"
#include "tls.hpp"

namespace tern::net {

void Runtime::Impl::to_worker(boost::asio::ip::tcp::socket socket, bool use_tls,
                              const protocol::TransportAddress& local,
                              std::shared_ptr<const WebSink> web) {
  boost::system::error_code ec;
  const auto remote = socket.remote_endpoint(ec);
  if (ec) return;
  const core::FiveTuple flow{from_sockaddr(remote.data()), local, core::Transport::kTcp};
  Worker& w = *workers[core::FiveTupleHash{}(flow) % workers.size()];
  const auto protocol = remote.protocol();
  const int fd = socket.release(ec);
  if (ec) return;
  boost::asio::ssl::context* ctx = use_tls ? tls.get() : nullptr;
  boost::asio::post(w.io, [this, &w, fd, protocol, ctx, local, web = std::move(web)] {
    boost::asio::ip::tcp::socket s(w.io);
    boost::system::error_code assign_ec;
    s.assign(protocol, fd, assign_ec);
    if (assign_ec) {
      ::close(fd);
      return;
    }
    admit_stream(std::move(s), local, w.core, w.router, ctx, budget, options.stream_timeouts,
                 web ? back_to_web(protocol, web) : WebFallback{});
  });
}

WebFallback Runtime::Impl::back_to_web(boost::asio::ip::tcp protocol,
                                       std::shared_ptr<const WebSink> web) {
  return [this, protocol, web = std::move(web)](int fd, SslSession session,
                                                std::vector<std::uint8_t> read) {
    boost::asio::post(main_io, [this, protocol, web, fd, session = std::move(session),
                                read = std::move(read)]() mutable {
      boost::asio::ip::tcp::socket s(main_io);
      boost::system::error_code ec;
      s.assign(protocol, fd, ec);
      if (ec) {
        ::close(fd);
        return;  // the session is freed with the lambda
      }
      (*web)(std::move(s), https, std::move(session), std::move(read));
    });
  };
}

void Runtime::serve_shared_port(const std::string& address, unsigned short port, WebSink web) {
  auto& im = *impl_;
  const ListenerSpec spec{core::Transport::kTls, address, port};
  im.ensure_contexts(spec);
  if (!im.https) im.https = make_tls_context(im.options.tls, Alpn::kHttp);
  const int fd = open_listener_socket(spec, port);
  auto shared_web = std::make_shared<const WebSink>(std::move(web));
  const auto sink = [this, to_web = std::move(shared_web)](boost::asio::ip::tcp::socket socket,
                                                           MuxRoute route) {
    auto& impl = *impl_;
    boost::system::error_code ec;
    const auto local = from_sockaddr(socket.local_endpoint(ec).data());
    if (ec) return;
    switch (route) {
      case MuxRoute::kTurnTcp:
      case MuxRoute::kTurnTls:
        return impl.to_worker(std::move(socket), route == MuxRoute::kTurnTls, local);
      case MuxRoute::kTls:
        return impl.to_worker(std::move(socket), true, local, *to_web ? to_web : nullptr);
      case MuxRoute::kHttp:
      case MuxRoute::kHttps:
        if (*to_web) {
          (*to_web)(std::move(socket), route == MuxRoute::kHttps ? impl.https : nullptr, nullptr,
                    {});
        }
        return;
    }
  };
  im.muxes.push_back(std::make_unique<PortMux>(
      im.main_io, fd, sink,
      [this](const protocol::TransportAddress& a) { return impl_->budget.trusted_proxy(a); },
      im.options.stream_timeouts.handshake));
  const auto bound = im.muxes.back()->local();
  im.ports->add_service_port(bound.port);
  im.shared_bound.push_back({core::Transport::kTcp, bound});
  im.shared_bound.push_back({core::Transport::kTls, bound});
  im.muxes.back()->start();
}

}  // namespace tern::net
