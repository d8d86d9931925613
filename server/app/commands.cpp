// serve / check-config / --version: load the config, report errors, start the runtime.
#include "commands.hpp"

#include <sys/resource.h>
#include <algorithm>
#include <atomic>
#include <boost/asio/post.hpp>
#include <chrono>
#include <iostream>

#include "admin.hpp"
#include "config/credential_files.hpp"
#include "config/loader.hpp"
#include "ice_servers.hpp"
#include "live_config.hpp"
#include "net/log.hpp"
#include "net/runtime.hpp"
#include "net/tls.hpp"
#include "relay_check.hpp"
#include "runtime_options.hpp"
#include "sd_notify.hpp"
#include "signaling/server.hpp"
#include "tern/auth/credentials.hpp"
#include "tern/metrics/exporter.hpp"

namespace tern::app {
namespace {

// Each UDP allocation holds a relay socket, so the descriptor limit bounds allocations. A
// shell's soft limit (often 1,024) is raised to the hard one (systemd's LimitNOFILE sets both).
void raise_descriptor_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  limit.rlim_cur = limit.rlim_max;
  (void)setrlimit(RLIMIT_NOFILE, &limit);
}

// How often workers record a heartbeat, and how old one may be before /healthz says 503.
constexpr std::chrono::milliseconds kHeartbeatPeriod{500};
constexpr std::chrono::seconds kLivenessMaxAge{10};

void print_errors(const std::vector<config::ConfigError>& errors) {
  for (const auto& e : errors) {
    std::cerr << e.file;
    if (e.line > 0) std::cerr << ":" << e.line << ":" << e.column;
    std::cerr << ": error: " << e.message << "\n";
  }
}

// "203.0.113.5" or "2001:db8::5": the address without its port.
std::string ip_of(const protocol::TransportAddress& a) {
  std::string text = a.to_string();
  text.erase(text.rfind(':'));
  if (!text.empty() && text.front() == '[') text = text.substr(1, text.size() - 2);
  return text;
}

void print_banner(const net::Runtime& rt, const std::string& source, const net::TlsFiles& tls,
                  const net::RelayOptions& relay_options, const std::string& signaling) {
  std::cout << "tern " << TERN_VERSION << " serving with " << rt.workers() << " worker"
            << (rt.workers() == 1 ? "" : "s") << " (config: " << source << ")\n";
  std::cout << "  udp steering: " << rt.steering() << "\n";
  std::cout << "  relay offload: " << rt.offload() << "\n";
  unsigned short stun_port = 0;
  bool has_tls = false;
  for (const auto& l : rt.listeners()) {
    std::cout << "  listening " << core::to_string(l.transport) << " " << l.address.to_string()
              << "\n";
    if (l.transport == core::Transport::kUdp && stun_port == 0) stun_port = l.address.port;
    has_tls =
        has_tls || l.transport == core::Transport::kTls || l.transport == core::Transport::kDtls;
  }
  if (has_tls) std::cout << "  tls certificate " << tls.cert_file << "\n";
  const auto relay = rt.relay_addresses();
  if (relay_options.multiplex_port != 0) {
    std::cout << "  relaying udp through one socket per worker, port";
    for (unsigned i = 0; i < rt.workers(); ++i) {
      std::cout << (i == 0 ? " " : ", ") << relay_options.multiplex_port + 2 * i;
    }
    std::cout << " (relay.multiplex_port)";
  } else {
    std::cout << "  relaying udp ports " << relay_options.min_port << "-" << relay_options.max_port;
  }
  std::cout << ", advertised as " << ip_of(relay.advertised_v4);
  if (relay.advertised_v6) std::cout << " and " << ip_of(*relay.advertised_v6);
  for (const auto& extra : relay.extra) std::cout << " and " << ip_of(extra);
  std::cout << "\n";
  if (stun_port != 0) {
    std::cout << "Try it:  turnutils_stunclient -p " << stun_port << " 127.0.0.1\n"
              << "In a browser: new RTCPeerConnection({iceServers: [{urls: \"stun:HOST:"
              << stun_port << "\"}]})\n";
  }
  if (auto http = rt.http_address()) {
    std::cout << "  listening metrics " << http->to_string() << "\n";
  }
  if (!signaling.empty()) {
    std::cout << "  listening signaling " << signaling << "\n"
              << "Open http://" << signaling
              << "/?room=hello in two browser tabs for a video call through tern.\n";
  }
  std::cout << "Stop with Ctrl-C." << std::endl;
}

metrics::Sources metrics_sources(const net::Runtime& rt, const config::Config& config,
                                 const net::RuntimeOptions& options, ReloadStats& reloads) {
  metrics::Sources s;
  s.for_each_worker = [&rt](const auto& visit) { rt.for_each_worker_stats(visit); };
  s.relay_ports_in_use = [&rt](protocol::Family f) { return rt.relay_ports_in_use(f); };
  s.relay_ports_available = [&rt](protocol::Family f) { return rt.relay_ports_available(f); };
  s.relay_ipv6 = !config.relay.address_v6.empty();
  s.connections_active = [&rt](core::Transport t) { return rt.connections_active(t); };
  s.connections_refused = [&rt] { return rt.connections_refused(); };
  s.version = TERN_VERSION;
  if (!options.tls.cert_file.empty()) {
    s.tls_certificate_expiry = [file = options.tls.cert_file] {
      return net::certificate_expiry(file);
    };
  }
  s.steering_pins_refused = [&rt] { return rt.steering_pins_refused(); };
  s.offload_bindings = [&rt] { return rt.offloaded_bindings(); };
  if (config.relay.multiplex_port != 0)
    s.multiplexed_peers = [&rt] { return rt.multiplexed_peers(); };
  s.users_loaded = [&reloads] { return reloads.users.load(); };
  s.secrets_loaded = [&reloads] { return reloads.secrets.load(); };
  s.reloads_succeeded = &reloads.succeeded;
  s.reloads_failed = &reloads.failed;
  s.last_reload_success = &reloads.last_success;
  return s;
}

void serve_admin(net::Runtime& rt, const std::string& path, AdminContext& admin,
                 net::Logger& logger) {
  if (path.empty()) return;
  try {
    rt.serve_admin(path, [&admin](const std::string& request) {
      return handle_admin_request(request, admin);
    });
  } catch (const std::exception& e) {
    logger.log(net::LogLevel::kWarn, "admin_socket_unavailable",
               {{"detail", e.what()}, {"hint", "set admin.socket to a writable path"}});
  }
}

net::HttpResponse http_response(const net::Runtime& rt, const metrics::Sources& sources,
                                std::string_view path) {
  if (path == "/metrics") {
    return {200, "text/plain; version=0.0.4; charset=utf-8", metrics::render(sources)};
  }
  if (path == "/healthz") {
    if (rt.workers_alive(kLivenessMaxAge)) return {200, "text/plain; charset=utf-8", "ok\n"};
    return {503, "text/plain; charset=utf-8", "not live: a worker has stopped answering\n"};
  }
  if (path == "/readyz") {
    if (rt.draining()) return {503, "text/plain; charset=utf-8", "not ready: draining\n"};
    if (rt.ready()) return {200, "text/plain; charset=utf-8", "ready\n"};
    return {503, "text/plain; charset=utf-8", "not ready: no IPv4 relay ports left\n"};
  }
  return {404, "text/plain; charset=utf-8", "not found\n"};
}

// Every worker records a heartbeat each second; /healthz and systemd's watchdog (WatchdogSec,
// petted at half its interval) need every heartbeat recent, so a stuck worker gets tern
// restarted.
void watch_workers(net::Runtime& runtime) {
  runtime.post_heartbeats();
  runtime.every(kHeartbeatPeriod, [&runtime] { runtime.post_heartbeats(); });
  const auto interval = watchdog_interval();
  if (!interval) return;
  const auto period =
      std::max(std::chrono::milliseconds(100),
               std::chrono::duration_cast<std::chrono::milliseconds>(*interval / 2));
  runtime.every(period, [&runtime, max_age = *interval / 2 + 2 * kHeartbeatPeriod] {
    if (runtime.workers_alive(max_age)) sd_notify("WATCHDOG=1");
  });
}

}  // namespace

int print_version() {
  std::cout << "tern " << TERN_VERSION << "\n";
  return 0;
}

int print_key(const std::string& user, const std::string& realm) {
  std::string password;
  if (!std::getline(std::cin, password) || password.empty()) {
    std::cerr << "tern key: give the password on stdin (one line)\n";
    return 2;
  }
  if (!password.empty() && password.back() == '\r') password.pop_back();
  std::cout << config::user_key_line(user, realm, password) << "\n";
  return 0;
}

int print_default_config() {
  std::cout << config::embedded_default_config();
  return 0;
}

int check_config(const std::string& path) {
  auto result = config::load_config_file(path);
  if (result.errors.empty()) {
    // Checks the loader cannot make alone: credentials and peer CIDRs as the server builds them.
    for (const auto& e : build_deps(*result.config).errors) {
      result.errors.push_back({path, 0, 0, e});
    }
  }
  if (!result.errors.empty()) {
    print_errors(result.errors);
    std::cerr << path << ": " << result.errors.size() << " error"
              << (result.errors.size() == 1 ? "" : "s") << "\n";
    return 1;
  }
  if (auto warning = private_relay_warning(*result.config)) {
    std::cerr << path << ": warning: " << *warning << "\n";
  }
  std::cout << path << ": ok\n";
  return 0;
}

int serve(const std::string& config_path) {
  const auto result =
      config_path.empty()
          ? config::load_config_string(config::embedded_default_config(), "<embedded default>")
          : config::load_config_file(config_path);
  if (!result.errors.empty()) {
    print_errors(result.errors);
    return 1;
  }
  net::Logger logger(net::parse_log_level(result.config->log_level),
                     net::parse_log_format(result.config->log_format));
  raise_descriptor_limit();
  try {
    net::RuntimeOptions options = to_runtime_options(*result.config);
    options.deps.events = &logger;
    net::Runtime runtime(options);
    LiveConfig live(config_path, *result.config, options, runtime, logger);
    runtime.on_reload([&live] {
      sd_notify(reloading_state());
      live.reload("SIGHUP");
      sd_notify("READY=1");
    });
    runtime.on_drain([] { sd_notify("STOPPING=1\nSTATUS=draining: no new allocations"); });
    watch_workers(runtime);
    runtime.every(std::chrono::seconds(2), [&live] { live.check_files(); });
    AdminContext admin{runtime, live, logger};
    serve_admin(runtime, result.config->admin_socket, admin, logger);
    metrics::Sources sources = metrics_sources(runtime, *result.config, options, live.stats());
    std::unique_ptr<signaling::SignalingServer> signaling_server;
    if (!result.config->signaling_listen.empty()) {
      signaling::SignalingOptions signaling_options;
      signaling_options.listen = result.config->signaling_listen;
      signaling_options.max_connections = result.config->signaling_max_connections;
      signaling_options.connections_per_source_ip =
          result.config->signaling_connections_per_source_ip;
      signaling_options.trusted_proxy = [&runtime](const protocol::TransportAddress& source) {
        return runtime.trusted_proxy(source);
      };
      signaling_server = std::make_unique<signaling::SignalingServer>(
          runtime.main_context(), std::move(signaling_options),
          [&runtime, &live](std::string_view target, std::string_view auth, bool loopback) {
            return signaling_route(runtime, live, target, auth, loopback);
          });
      runtime.reserve_service_port(signaling_server->local().port);
    }
    // `any` listeners: web connections go to the signaling server (closed when it is off).
    for (const auto& shared : options.shared_ports) {
      runtime.serve_shared_port(
          shared.address, shared.port,
          [&signaling_server](boost::asio::ip::tcp::socket socket,
                              std::shared_ptr<boost::asio::ssl::context> tls,
                              net::SslSession session, std::vector<std::uint8_t> read) {
            if (signaling_server) {
              signaling_server->adopt(std::move(socket), std::move(tls), session.release(), read);
            }
          });
    }
    if (!result.config->metrics_listen.empty()) {
      runtime.serve_http(
          result.config->metrics_listen,
          [&](std::string_view path) { return http_response(runtime, sources, path); },
          result.config->metrics_tls);
    }
    print_banner(runtime, config_path.empty() ? "embedded default" : config_path, options.tls,
                 options.relay,
                 signaling_server ? signaling_server->local().to_string() : std::string());
    if (auto warning = private_relay_warning(runtime.relay_addresses(), *result.config)) {
      std::cout << "warning: " << *warning << std::endl;
      logger.log(net::LogLevel::kWarn, "relay_address_private", {{"detail", *warning}});
    }
    logger.log(net::LogLevel::kInfo, "started",
               {{"version", TERN_VERSION},
                {"workers", std::to_string(runtime.workers())},
                {"steering", runtime.steering()},
                {"offload", runtime.offload()}});
    // Runs once run() has started the workers: every listener is open and served.
    boost::asio::post(runtime.main_context(), [] { sd_notify("READY=1\nSTATUS=serving"); });
    runtime.run();
    sd_notify("STOPPING=1");
    logger.log(net::LogLevel::kInfo, "stopped", {});
    std::cout << "tern: stopped" << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "tern: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace tern::app
