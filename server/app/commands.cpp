// serve / check-config / --version: load the config, report errors, start the runtime.
#include "commands.hpp"

#include <iostream>

#include "config/loader.hpp"
#include "net/runtime.hpp"
#include "net/tls.hpp"
#include "runtime_options.hpp"

namespace tern::app {
namespace {

void print_errors(const std::vector<config::ConfigError>& errors) {
  for (const auto& e : errors) {
    std::cerr << e.file;
    if (e.line > 0) std::cerr << ":" << e.line << ":" << e.column;
    std::cerr << ": error: " << e.message << "\n";
  }
}

void print_banner(const net::Runtime& rt, const std::string& source, const net::TlsFiles& tls) {
  std::cout << "tern " << TERN_VERSION << " serving with " << rt.workers() << " worker"
            << (rt.workers() == 1 ? "" : "s") << " (config: " << source << ")\n";
  unsigned short stun_port = 0;
  bool has_tls = false;
  for (const auto& l : rt.listeners()) {
    std::cout << "  listening " << core::to_string(l.transport) << " " << l.address.to_string()
              << "\n";
    if (l.transport == core::Transport::kUdp && stun_port == 0) stun_port = l.address.port;
    has_tls = has_tls || l.transport == core::Transport::kTls;
  }
  if (has_tls) std::cout << "  tls certificate " << tls.cert_file << "\n";
  if (stun_port != 0) {
    std::cout << "Try it:  turnutils_stunclient -p " << stun_port << " 127.0.0.1\n"
              << "In a browser: new RTCPeerConnection({iceServers: [{urls: \"stun:HOST:"
              << stun_port << "\"}]})\n";
  }
  std::cout << "Stop with Ctrl-C." << std::endl;
}

}  // namespace

int print_version() {
  std::cout << "tern " << TERN_VERSION << "\n";
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
  std::cout << path << ": ok\n";
  return 0;
}

int serve(const std::string& config_path) {
  const auto result = config_path.empty()
                          ? config::load_config_string(config::embedded_default_config(),
                                                       "<embedded default>")
                          : config::load_config_file(config_path);
  if (!result.errors.empty()) {
    print_errors(result.errors);
    return 1;
  }
  for (const auto& w : unsupported_warnings(*result.config)) std::cerr << "tern: warning: " << w << "\n";
  try {
    net::RuntimeOptions options = to_runtime_options(*result.config);
    net::Runtime runtime(options);
    print_banner(runtime, config_path.empty() ? "embedded default" : config_path, options.tls);
    runtime.run();
    std::cout << "tern: stopped" << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "tern: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace tern::app
