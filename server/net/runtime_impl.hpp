// Runtime's private state, shared by runtime.cpp and runtime_listeners.cpp.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <future>
#include <memory>
#include <vector>

#include "admin_endpoint.hpp"
#include "connection_budget.hpp"
#include "dtls.hpp"
#include "offload/kernel_relay.hpp"
#include "packer.hpp"
#include "port_mux.hpp"
#include "runtime.hpp"
#include "worker.hpp"

namespace tern::net {

struct Runtime::Impl {
  // Declared so that what connections and relays use outlives the workers that hold them.
  RuntimeOptions options;
  ConnectionBudget budget;
  std::unique_ptr<boost::asio::ssl::context> tls;
  std::shared_ptr<const DtlsContext> dtls;  // made with the first dtls listener
  std::unique_ptr<RelayPorts> ports;
  std::unique_ptr<TcpRelayHub> tcp_hub;  // RFC 6062 peer connections between workers; may be null
  std::unique_ptr<Packer> packer;        // UDP steering; null = the kernel's hash
  std::string steering;                  // what the banner says about it
  std::unique_ptr<offload::KernelRelay> kernel;  // relay.offload; null = user space only
  std::string offload;                           // what the banner says about it
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<BoundListener> bound;
  boost::asio::io_context main_io{1};
  // Installed when the runtime is built, before anything is printed, so that a SIGTERM that
  // arrives early still stops tern cleanly.
  boost::asio::signal_set signals{main_io, SIGINT};
  boost::asio::signal_set drain_signal{main_io, SIGTERM};
  boost::asio::signal_set reload_signal{main_io, SIGHUP};
  std::function<void()> reload_hook;
  std::function<void()> drain_hook;
  std::vector<std::unique_ptr<boost::asio::ssl::context>> retired_tls;  // open connections use them
  std::vector<std::unique_ptr<boost::asio::steady_timer>> timers;
  std::vector<std::shared_ptr<std::function<void()>>> ticks;
  std::atomic<bool> draining{false};
  std::atomic<bool> running{false};
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  // Runs f(worker) on every worker's thread and waits for all of them.
  template <class F>
  void on_each_worker(F f) {
    std::vector<std::future<void>> done;
    for (auto& w : workers) {
      if (!running) {
        f(*w);
        continue;
      }
      auto task = std::make_shared<std::packaged_task<void()>>([&f, &w] { f(*w); });
      done.push_back(task->get_future());
      boost::asio::post(w->io, [task] { (*task)(); });
    }
    for (auto& d : done) d.wait();
  }
  std::unique_ptr<HttpEndpoint> http;  // after main_io: destroyed first
  std::vector<std::unique_ptr<PortMux>> muxes;
  std::vector<BoundListener> shared_bound;           // the muxes' ports, as tcp and tls
  std::shared_ptr<boost::asio::ssl::context> https;  // for web connections on shared ports
  // Starts a TURN connection a shared port accepted on the worker its client hashes to; with
  // `web`, a TLS one whose first request is HTTP comes back to `web` on the main thread.
  void to_worker(boost::asio::ip::tcp::socket socket, bool tls,
                 const protocol::TransportAddress& local,
                 std::shared_ptr<const Runtime::WebSink> web = nullptr);
  // Posts such a connection to `web` on the main thread.
  WebFallback back_to_web(boost::asio::ip::tcp protocol,
                          std::shared_ptr<const Runtime::WebSink> web);
  std::unique_ptr<AdminEndpoint> admin;

  // RFC 8016: each worker's core can fetch an allocation from another worker.
  void attach_movers();
  // UDP steering (runtime_steering.cpp): loads it when packing is wanted, steers a UDP
  // listener's sockets, and samples the workers' load while running.
  void start_steering();
  // relay.offload: loads and attaches the kernel relay before the workers exist (their cores
  // then report channel routes); throws when it is required and cannot be had.
  void start_offload();
  // relay.multiplex_port: ports multiplex_port + 2i (worker i) are the workers' shared relay
  // sockets; the kernel relay stays off (its routes name one relay socket per allocation).
  void share_relay_ports(unsigned count);
  void steer(const protocol::TransportAddress& local, const std::vector<int>& fds);
  void sample_load();
  void open(const ListenerSpec& spec);
  std::vector<int> open_fds(const ListenerSpec& spec, unsigned short& port);
  void attach(Worker& w, const ListenerSpec& spec, int fd, bool start);
  void detach(Worker& w, const BoundListener& l);
  // The TLS and DTLS contexts the listeners of `spec` need, made from the TLS files if missing.
  void ensure_contexts(const ListenerSpec& spec);
  std::vector<ListenerSpec> configured;  // as in the config, parallel to `bound`
};

}  // namespace tern::net
