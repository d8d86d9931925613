// The command line, defined once with CLI11: parsing, --help for every (sub)command, errors that
// name the bad argument, and the bash completion script all come from the same definitions.
#include "cli.hpp"

#include <CLI/CLI.hpp>
#include <deque>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "admin_client.hpp"
#include "commands.hpp"

namespace tern::app {
namespace {

using Action = std::function<int()>;

// --socket, --config and --json, shared by every admin command.
struct AdminOptions {
  std::string socket;
  std::string config;
  bool as_json = false;
};

void add_admin_options(CLI::App& cmd, AdminOptions& o) {
  cmd.add_option("--socket", o.socket,
                 "admin socket of the running tern (default: $TERN_ADMIN_SOCKET, else "
                 "admin.socket of --config, else /run/tern/admin.sock)");
  cmd.add_option("--config", o.config, "config file whose admin.socket to use");
  cmd.add_flag("--json", o.as_json, "print the server's answer as JSON");
}

// An admin command whose request carries `fields` (filled at parse time) and maybe a line of
// stdin. A deque, so the values CLI11 writes into keep their addresses as fields are added.
struct AdminCommand {
  AdminOptions options;
  std::deque<std::pair<std::string, std::string>> fields;
  std::string stdin_field;
};

CLI::App* admin(CLI::App& parent, const std::string& name, const std::string& description,
                const std::string& command, std::vector<std::unique_ptr<AdminCommand>>& store,
                Action& action, AdminCommand** out = nullptr) {
  auto* cmd = parent.add_subcommand(name, description);
  store.push_back(std::make_unique<AdminCommand>());
  AdminCommand* ac = store.back().get();
  add_admin_options(*cmd, ac->options);
  cmd->callback([ac, command, &action] {
    action = [ac, command] {
      AdminRequest r;
      r.command = command;
      for (const auto& [key, value] : ac->fields) {
        if (!value.empty()) r.fields.emplace_back(key, value);
      }
      r.stdin_field = ac->stdin_field;
      r.socket = ac->options.socket;
      r.config = ac->options.config;
      r.as_json = ac->options.as_json;
      return run_admin_command(r);
    };
  });
  if (out != nullptr) *out = ac;
  return cmd;
}

// A value the request carries under `key`, for CLI11 to fill.
std::string& field(AdminCommand& ac, const std::string& key) {
  return ac.fields.emplace_back(key, std::string()).second;
}

// The named subcommands of `app` (CLI11 keeps option groups among them, without a name).
std::vector<const CLI::App*> commands(const CLI::App& app) {
  std::vector<const CLI::App*> out;
  for (const CLI::App* sub : app.get_subcommands({})) {
    if (!sub->get_name().empty()) out.push_back(sub);
  }
  return out;
}

// A bash completion script: commands, their subcommands and their options.
std::string bash_completion(const CLI::App& app) {
  std::string words;
  std::string cases;
  for (const CLI::App* cmd : commands(app)) {
    words += cmd->get_name() + " ";
    std::string inner;
    for (const CLI::App* sub : commands(*cmd)) inner += sub->get_name() + " ";
    for (const CLI::Option* o : cmd->get_options()) {
      for (const auto& name : o->get_lnames()) inner += "--" + name + " ";
    }
    cases += "    " + cmd->get_name() + ") opts=\"" + inner + "\" ;;\n";
  }
  return "# bash completion for tern: source it, or install it as\n"
         "# /usr/share/bash-completion/completions/tern\n"
         "_tern() {\n"
         "  local cur=${COMP_WORDS[COMP_CWORD]} opts\n"
         "  if ((COMP_CWORD == 1)); then\n"
         "    opts=\"" +
         words +
         "--help --version\"\n"
         "  else\n"
         "    case ${COMP_WORDS[1]} in\n" +
         cases +
         "    *) opts=\"\" ;;\n"
         "    esac\n"
         "    opts+=\" --help\"\n"
         "  fi\n"
         "  COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
         "  [[ $cur == -* || ${#COMPREPLY[@]} -gt 0 ]] || COMPREPLY=($(compgen -f -- \"$cur\"))\n"
         "}\n"
         "complete -F _tern tern\n";
}

// Follows argv's words down the command tree. Returns the command path ("tern users") and, for a
// word that names no command where one is expected, an error that names it.
std::string command_path(const CLI::App& app, int argc, char** argv, std::string& error) {
  std::string path = "tern";
  const CLI::App* cur = &app;
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    if (word.empty() || word[0] == '-') continue;
    const auto subs = commands(*cur);
    if (subs.empty()) break;  // a leaf: the rest are its arguments
    const CLI::App* next = nullptr;
    for (const CLI::App* sub : subs) {
      if (sub->get_name() == word) next = sub;
    }
    if (next == nullptr) {
      std::string known;
      for (const CLI::App* sub : subs) known += (known.empty() ? "" : ", ") + sub->get_name();
      error = "unknown command '" + word + "' for '" + path + "' (one of: " + known + ")";
      break;
    }
    path += " " + word;
    cur = next;
  }
  return path;
}

}  // namespace

int run_cli(int argc, char** argv) {
  CLI::App app{
      "tern: a STUN/TURN relay server for WebRTC (RFC 8489, RFC 8656).\n"
      "Admin commands talk to a running tern over its admin socket.",
      "tern"};
  app.set_version_flag("--version", std::string("tern ") + TERN_VERSION);
  app.require_subcommand(1);
  app.fallthrough(false);
  Action action;
  std::vector<std::unique_ptr<AdminCommand>> admins;

  std::string config_path;
  auto* serve_cmd = app.add_subcommand("serve", "run the server");
  serve_cmd->add_option("--config,-c", config_path, "config file (default: the embedded default)")
      ->check(CLI::ExistingFile);
  serve_cmd->callback([&] { action = [&] { return serve(config_path); }; });

  std::string check_path;
  auto* check_cmd = app.add_subcommand("check-config",
                                       "validate a config file; prints every error as "
                                       "file:line:column");
  check_cmd->add_option("FILE", check_path, "the config file")->required();
  check_cmd->callback([&] { action = [&] { return check_config(check_path); }; });

  app.add_subcommand("print-default-config", "print the embedded default config")->callback([&] {
    action = [] { return print_default_config(); };
  });

  std::string key_user, key_realm;
  auto* key_cmd = app.add_subcommand(
      "key",
      "print a user's long-term keys (MD5 and SHA-256) for a password read from stdin, "
      "as a line for auth.users_file");
  key_cmd->add_option("--user,-u", key_user, "user name")->required();
  key_cmd->add_option("--realm,-r", key_realm, "realm")->required();
  key_cmd->callback([&] { action = [&] { return print_key(key_user, key_realm); }; });

  app.add_subcommand("version", "print the version")->callback([&] {
    action = [] { return print_version(); };
  });

  admin(app, "status", "show a running tern's state", "status", admins, action);
  admin(app, "reload", "reload the config, credentials and certificates", "reload", admins, action);
  AdminCommand* drain = nullptr;
  auto* drain_cmd = admin(app, "drain", "refuse new allocations, keep live ones up to a deadline",
                          "drain", admins, action, &drain);
  drain_cmd->add_option("--deadline", field(*drain, "deadline"),
                        "how long live allocations may go on (default 10m)");

  auto* users = app.add_subcommand("users", "static users in auth.users_file");
  users->require_subcommand(1);
  admin(*users, "list", "list the users", "users.list", admins, action);
  AdminCommand* ac = nullptr;
  admin(*users, "add", "add a user; the password is read from stdin", "users.add", admins, action,
        &ac)
      ->add_option("NAME", field(*ac, "name"), "user name")
      ->required();
  ac->stdin_field = "password";
  admin(*users, "remove", "remove a user (its allocations end)", "users.remove", admins, action,
        &ac)
      ->add_option("NAME", field(*ac, "name"), "user name")
      ->required();

  auto* secrets = app.add_subcommand("secrets", "TURN REST secrets in auth.secrets_file");
  secrets->require_subcommand(1);
  admin(*secrets, "list", "list the secrets' fingerprints; the first signs", "secrets.list", admins,
        action);
  admin(*secrets, "add", "add a secret (read from stdin) after the others", "secrets.add", admins,
        action, &ac);
  ac->stdin_field = "secret";
  admin(*secrets, "remove", "remove a secret", "secrets.remove", admins, action, &ac)
      ->add_option("FINGERPRINT", field(*ac, "fingerprint"), "as secrets list shows it")
      ->required();
  admin(*secrets, "promote", "make a secret the one that signs", "secrets.promote", admins, action,
        &ac)
      ->add_option("FINGERPRINT", field(*ac, "fingerprint"), "as secrets list shows it")
      ->required();

  auto* creds = admin(app, "credentials", "mint TURN REST credentials and an iceServers entry",
                      "credentials", admins, action, &ac);
  creds->add_option("--user", field(*ac, "user"), "the USER part of EXPIRY:USER");
  creds->add_option("--ttl", field(*ac, "ttl"), "lifetime (default 1h)");
  creds->add_option("--host", field(*ac, "host"), "host name for the URLs");

  auto* sessions = app.add_subcommand("sessions", "live allocations");
  sessions->require_subcommand(1);
  admin(*sessions, "list", "list live allocations", "sessions.list", admins, action, &ac)
      ->add_option("--user", field(*ac, "user"), "only this user's");
  auto* kill = admin(*sessions, "kill", "end allocations by user or by id", "sessions.kill", admins,
                     action, &ac);
  auto* which = kill->add_option_group("which", "exactly one of");
  which->add_option("--user", field(*ac, "user"), "every one of USER");
  which->add_option("--id", field(*ac, "id"), "the one with this id");
  which->require_option(1);

  auto* completion = app.add_subcommand("completion", "print a shell completion script");
  completion->add_subcommand("bash", "for bash")->callback([&] {
    action = [&] {
      std::cout << bash_completion(app);
      return 0;
    };
  });
  completion->require_subcommand(1);

  if (argc <= 1) {
    std::cerr << app.help();
    return 2;
  }
  std::string unknown;
  const std::string path = command_path(app, argc, argv, unknown);
  try {
    if (!unknown.empty()) throw CLI::ParseError(unknown, CLI::ExitCodes::ExtrasError);
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --version
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "tern: error: " << e.what() << "\nRun '" << path << " --help' for usage.\n";
    return 2;
  }
  return action ? action() : 2;
}

}  // namespace tern::app
