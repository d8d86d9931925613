// Runtime's listeners: opening their sockets, attaching them to workers, and changing them on
// a reload without touching the others.
#include <unistd.h>

#include <algorithm>
#include <map>

#include "runtime_impl.hpp"
#include "sockets.hpp"
#include "tls.hpp"

namespace tern::net {

std::vector<int> Runtime::Impl::open_fds(const ListenerSpec& spec, unsigned short& port) {
  std::vector<int> fds;
  try {
    for (std::size_t i = 0; i < workers.size(); ++i) {
      fds.push_back(open_listener_socket(spec, port));
      port = bound_port(fds.back());
    }
  } catch (...) {
    for (int fd : fds) ::close(fd);
    throw;
  }
  return fds;
}

void Runtime::Impl::attach(Worker& w, const ListenerSpec& spec, int fd, bool start) {
  if (spec.transport == core::Transport::kUdp) {
    w.udp.push_back(std::make_unique<UdpListener>(w.io, fd, w.core, w.router, &budget));
    w.router.add_udp(*w.udp.back());
    if (start) w.udp.back()->start();
  } else if (spec.transport == core::Transport::kDtls) {
    w.dtls.push_back(std::make_unique<DtlsListener>(w.io, fd, w.core, w.router, dtls, budget,
                                                    options.stream_timeouts));
    w.router.add_dtls(*w.dtls.back());
    if (start) w.dtls.back()->start();
  } else {
    auto* ctx = spec.transport == core::Transport::kTls ? tls.get() : nullptr;
    w.streams.push_back(std::make_unique<StreamListener>(w.io, fd, w.core, w.router, ctx, budget,
                                                         options.stream_timeouts));
    if (start) w.streams.back()->start();
  }
}

void Runtime::Impl::detach(Worker& w, const BoundListener& l) {
  for (auto it = w.udp.begin(); it != w.udp.end(); ++it) {
    if (l.transport == core::Transport::kUdp && (*it)->local() == l.address) {
      (*it)->stop();
      w.router.remove_udp(**it);
      w.retired_udp.push_back(std::move(*it));  // its cancelled wait still refers to it
      w.udp.erase(it);
      return;
    }
  }
  for (auto it = w.dtls.begin(); it != w.dtls.end(); ++it) {
    if (l.transport == core::Transport::kDtls && (*it)->local() == l.address) {
      (*it)->stop();
      w.router.remove_dtls(**it);
      w.retired_dtls.push_back(std::move(*it));
      w.dtls.erase(it);
      return;
    }
  }
  for (auto it = w.streams.begin(); it != w.streams.end(); ++it) {
    const bool tls_listener = l.transport == core::Transport::kTls;
    if (core::is_stream(l.transport) && (*it)->local() == l.address &&
        (*it)->is_tls() == tls_listener) {
      (*it)->stop();
      w.retired_streams.push_back(std::move(*it));
      w.streams.erase(it);
      return;
    }
  }
}

void Runtime::Impl::ensure_contexts(const ListenerSpec& spec) {
  if (spec.transport == core::Transport::kTls && !tls) tls = make_tls_context(options.tls);
  if (spec.transport == core::Transport::kDtls && !dtls) dtls = DtlsContext::make(options.tls);
}

void Runtime::Impl::open(const ListenerSpec& spec) {
  ensure_contexts(spec);
  unsigned short port = spec.port;
  const auto fds = open_fds(spec, port);
  if (spec.transport == core::Transport::kUdp) steer(local_address(fds.front()), fds);
  for (std::size_t i = 0; i < workers.size(); ++i) attach(*workers[i], spec, fds[i], false);
  protocol::TransportAddress addr;
  protocol::TransportAddress::parse_ip(spec.address, addr);
  addr.port = port;
  ports->add_service_port(port);  // never a peer, whatever peers.allow says
  bound.push_back({spec.transport, addr});
  configured.push_back(spec);
}

namespace {
bool same_spec(const ListenerSpec& a, const ListenerSpec& b) {
  return a.transport == b.transport && a.address == b.address && a.port == b.port;
}
}  // namespace

std::size_t Runtime::update_listeners(const std::vector<ListenerSpec>& wanted) {
  auto& im = *impl_;
  std::vector<std::size_t> remove;
  for (std::size_t i = 0; i < im.configured.size(); ++i) {
    if (std::none_of(wanted.begin(), wanted.end(),
                     [&](const ListenerSpec& w) { return same_spec(w, im.configured[i]); })) {
      remove.push_back(i);
    }
  }
  struct Added {
    ListenerSpec spec;
    std::vector<int> fds;
    unsigned short port;
  };
  std::vector<Added> added;
  try {
    for (const auto& w : wanted) {
      if (std::any_of(im.configured.begin(), im.configured.end(),
                      [&](const ListenerSpec& c) { return same_spec(w, c); })) {
        continue;
      }
      im.ensure_contexts(w);
      unsigned short port = w.port;
      auto fds = im.open_fds(w, port);
      added.push_back({w, std::move(fds), port});
    }
  } catch (...) {
    for (auto& a : added) {
      for (int fd : a.fds) ::close(fd);
    }
    throw;  // nothing changed
  }
  std::vector<BoundListener> gone;
  for (std::size_t i : remove) gone.push_back(im.bound[i]);
  std::size_t index = 0;
  std::map<const Worker*, std::size_t> worker_index;
  for (auto& w : im.workers) worker_index[w.get()] = index++;
  for (const auto& a : added) {
    if (a.spec.transport == core::Transport::kUdp) im.steer(local_address(a.fds.front()), a.fds);
  }
  for (const auto& l : gone) {
    if (l.transport == core::Transport::kUdp && im.packer) im.packer->steering().detach(l.address);
  }
  im.on_each_worker([&](Worker& w) {
    for (const auto& l : gone) im.detach(w, l);
    for (const auto& a : added) im.attach(w, a.spec, a.fds[worker_index[&w]], im.running);
    if (!gone.empty()) w.core.republish_routes(core::Instant::current());  // their routes go
  });
  for (auto it = remove.rbegin(); it != remove.rend(); ++it) {
    im.bound.erase(im.bound.begin() + static_cast<std::ptrdiff_t>(*it));
    im.configured.erase(im.configured.begin() + static_cast<std::ptrdiff_t>(*it));
  }
  for (const auto& a : added) {
    protocol::TransportAddress addr;
    protocol::TransportAddress::parse_ip(a.spec.address, addr);
    addr.port = a.port;
    im.bound.push_back({a.spec.transport, addr});
    im.configured.push_back(a.spec);
  }
  return remove.size() + added.size();
}

}  // namespace tern::net
