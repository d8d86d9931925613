// The tern binary: `serve`, `check-config`, `key`, `--version`.
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "admin_client.hpp"
#include "commands.hpp"

namespace {

constexpr const char* kUsage =
    "usage: tern serve [--config FILE]   run the server (no FILE = the embedded default)\n"
    "       tern check-config FILE       validate a config file; prints every error\n"
    "       tern print-default-config    print the embedded default config\n"
    "       tern key --user U --realm R  print U's long-term keys for a password read from stdin\n"
    "       tern --version\n"
    "admin (talks to a running tern over admin.socket; --socket PATH or --config FILE to find it,\n"
    "       --json for machine-readable output):\n"
    "       tern status | reload | drain [--deadline 10m]\n"
    "       tern users list | add NAME (password on stdin) | remove NAME\n"
    "       tern secrets list | add (secret on stdin) | remove FINGERPRINT | promote FINGERPRINT\n"
    "       tern credentials --user U [--ttl 1h] [--host HOST]\n"
    "       tern sessions list [--user U] | kill --user U | kill --id ID\n";

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string& cmd = args[0];
  if (cmd == "--version" || cmd == "version") return tern::app::print_version();
  if (cmd == "serve") {
    if (args.size() == 1) return tern::app::serve("");
    if (args.size() == 3 && args[1] == "--config") return tern::app::serve(args[2]);
  }
  if (cmd == "check-config" && args.size() == 2) return tern::app::check_config(args[1]);
  if (cmd == "print-default-config" && args.size() == 1) return tern::app::print_default_config();
  if (cmd == "key" && args.size() == 5 && args[1] == "--user" && args[3] == "--realm") {
    return tern::app::print_key(args[2], args[4]);
  }
  if (cmd == "key" && args.size() == 5 && args[1] == "--realm" && args[3] == "--user") {
    return tern::app::print_key(args[4], args[2]);
  }
  if (tern::app::is_admin_command(cmd)) return tern::app::run_admin_command(args);
  if (cmd == "--help" || cmd == "help" || cmd == "-h") {
    std::cout << kUsage;
    return 0;
  }
  std::cerr << "tern: unknown command or arguments\n" << kUsage;
  return 2;
}
