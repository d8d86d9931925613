// handle_admin_request: parse the JSON request, run the command, answer in JSON.
#include "admin.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>

#include "admin_files.hpp"
#include "config/credential_files.hpp"
#include "config/loader.hpp"
#include "tern/auth/keys.hpp"

namespace tern::app {
namespace {

namespace json = boost::json;

json::object ok() {
  return {{"ok", true}};
}
json::object fail(const std::string& message) {
  return {{"ok", false}, {"error", message}};
}

std::string text(const json::object& req, const char* key) {
  const auto* v = req.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

// Applies a file change through a reload; the answer says whether it took.
json::object reload_after_change(AdminContext& ctx, const std::string& what) {
  const auto errors = ctx.live.reload(what);
  if (errors.empty()) {
    auto r = ok();
    r["generation"] = ctx.live.generation();
    return r;
  }
  std::string joined;
  for (const auto& e : errors) joined += (joined.empty() ? "" : "; ") + e;
  return fail("the change was written but the reload failed: " + joined);
}

json::object status(AdminContext& ctx) {
  auto r = ok();
  r["version"] = TERN_VERSION;
  r["uptime_seconds"] = ctx.runtime.uptime().count();
  r["allocations"] = ctx.runtime.allocation_count();
  r["config_generation"] = ctx.live.generation();
  r["config"] = ctx.live.path().empty() ? "embedded default" : ctx.live.path();
  r["draining"] = ctx.runtime.draining();
  r["udp_steering"] = ctx.runtime.steering();
  r["relay_offload"] = ctx.runtime.offload();
  r["offloaded_bindings"] = ctx.runtime.offloaded_bindings();
  json::array listeners;
  for (const auto& l : ctx.runtime.listeners()) {
    listeners.push_back(
        json::value(std::string(core::to_string(l.transport)) + " " + l.address.to_string()));
  }
  r["listeners"] = std::move(listeners);
  return r;
}

json::object sessions_list(AdminContext& ctx, const json::object& req) {
  const std::string user = text(req, "user");
  json::array list;
  for (const auto& s : ctx.runtime.sessions()) {
    if (!user.empty() && s.username != user) continue;
    char id[17];
    std::snprintf(id, sizeof id, "%016llx", static_cast<unsigned long long>(s.id));
    json::array relayed;
    for (const auto& a : s.relayed) relayed.push_back(json::value(a.to_string()));
    list.push_back(json::object{{"id", id},
                                {"user", s.username},
                                {"client", s.flow.client.to_string()},
                                {"transport", core::to_string(s.flow.transport)},
                                {"relayed", std::move(relayed)},
                                {"expires_in_seconds", s.expires_in.count()},
                                {"permissions", s.permissions},
                                {"channels", s.channels}});
  }
  auto r = ok();
  r["sessions"] = std::move(list);
  return r;
}

json::object sessions_kill(AdminContext& ctx, const json::object& req) {
  const std::string user = text(req, "user");
  const std::string id_text = text(req, "id");
  if (user.empty() && id_text.empty()) return fail("give --user USER or --id ID");
  std::uint64_t id = 0;
  if (!id_text.empty()) {
    try {
      id = std::stoull(id_text, nullptr, 16);
    } catch (const std::exception&) {
      return fail("--id must be a session id as `tern sessions list` shows it");
    }
  }
  const std::size_t ended = ctx.runtime.kill_sessions(user, id);
  ctx.logger.log(net::LogLevel::kInfo, "sessions_killed",
                 {{"user", user}, {"id", id_text}, {"ended", std::to_string(ended)}});
  auto r = ok();
  r["ended"] = ended;
  return r;
}

json::object users_command(AdminContext& ctx, const std::string& action, const json::object& req) {
  const auto& c = ctx.live.config();
  const auto& credentials = ctx.live.credentials();
  if (action == "list") {
    json::array names;
    for (const auto& u : credentials.users) names.push_back(json::value(u.name));
    auto r = ok();
    r["users"] = std::move(names);
    return r;
  }
  const std::string name = text(req, "name");
  if (name.empty()) return fail("give the user name");
  for (const auto& u : c.auth.users) {
    if (u.name == name) {
      return fail("user '" + name + "' is defined in the config file (auth.users); edit it there");
    }
  }
  if (c.auth.users_file.empty()) {
    return fail("no auth.users_file is configured: the CLI keeps users in that file");
  }
  std::string error;
  if (action == "add") {
    const std::string password = text(req, "password");
    if (password.empty()) return fail("give the password on stdin");
    error =
        upsert_user_line(c.auth.users_file, name, config::user_key_line(name, c.realm, password));
  } else if (action == "remove") {
    error = remove_user_line(c.auth.users_file, name);
  } else {
    return fail("unknown users command: " + action);
  }
  if (!error.empty()) return fail(error);
  return reload_after_change(ctx, "users " + action + " " + name);
}

json::object secrets_command(AdminContext& ctx, const std::string& action,
                             const json::object& req) {
  const auto& c = ctx.live.config();
  const auto& credentials = ctx.live.credentials();
  if (action == "list") {
    json::array list;
    for (std::size_t i = 0; i < credentials.secrets.size(); ++i) {
      list.push_back(json::object{{"fingerprint", auth::secret_fingerprint(credentials.secrets[i])},
                                  {"signs", i == 0}});
    }
    auto r = ok();
    r["secrets"] = std::move(list);
    return r;
  }
  if (c.auth.secrets_file.empty()) {
    return fail("no auth.secrets_file is configured: the CLI keeps secrets in that file");
  }
  if (!c.auth.secrets.empty() || !c.auth.secrets_env.empty()) {
    return fail(
        "secrets are also set in auth.secrets or auth.secrets_env; keep them all in "
        "auth.secrets_file to manage them from the CLI");
  }
  std::vector<std::string> secrets = config::parse_secrets([&] {
    std::string all;
    for (const auto& l : read_lines(c.auth.secrets_file)) all += l + "\n";
    return all;
  }());
  auto find = [&](const std::string& fp) {
    return std::find_if(secrets.begin(), secrets.end(),
                        [&](const std::string& s) { return auth::secret_fingerprint(s) == fp; });
  };
  if (action == "add") {
    const std::string secret = text(req, "secret");
    if (secret.empty()) return fail("give the secret on stdin");
    if (find(auth::secret_fingerprint(secret)) != secrets.end()) return fail("already there");
    secrets.push_back(secret);
  } else if (action == "remove" || action == "promote") {
    const auto it = find(text(req, "fingerprint"));
    if (it == secrets.end()) return fail("no secret with that fingerprint");
    const std::string secret = *it;
    secrets.erase(it);
    if (action == "promote") secrets.insert(secrets.begin(), secret);
  } else {
    return fail("unknown secrets command: " + action);
  }
  if (auto error = write_secrets(c.auth.secrets_file, secrets); !error.empty()) return fail(error);
  return reload_after_change(ctx, "secrets " + action);
}

json::object credentials_command(AdminContext& ctx, const json::object& req) {
  const auto& c = ctx.live.config();
  const auto& credentials = ctx.live.credentials();
  if (credentials.secrets.empty()) return fail("no TURN REST secret is configured");
  std::chrono::seconds ttl{3600};
  if (!text(req, "ttl").empty() && !config::parse_duration(text(req, "ttl"), ttl)) {
    return fail("--ttl must be a duration such as 10m or 1h");
  }
  const std::string user = text(req, "user");
  const auto expiry = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch()) +
                      ttl;
  const std::string username = std::to_string(expiry.count()) + (user.empty() ? "" : ":" + user);
  const std::string password = auth::rest_password(credentials.secrets.front(), username);
  std::string host = text(req, "host");
  if (host.empty()) host = c.relay.public_address;
  json::array urls;
  for (const auto& l : ctx.runtime.listeners()) {
    const std::string port = std::to_string(l.address.port);
    std::string h = l.address.to_string();  // brackets an IPv6 address
    if (!host.empty())
      h = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + port;
    if (l.transport == core::Transport::kDtls) continue;  // browsers have no URL for DTLS
    const char* scheme = l.transport == core::Transport::kTls ? "turns:" : "turn:";
    const char* transport = l.transport == core::Transport::kUdp ? "udp" : "tcp";
    urls.push_back(json::value(std::string(scheme) + h + "?transport=" + transport));
  }
  auto r = ok();
  r["username"] = username;
  r["credential"] = password;
  r["ttl"] = ttl.count();
  r["iceServers"] = json::array{
      json::object{{"urls", std::move(urls)}, {"username", username}, {"credential", password}}};
  return r;
}

json::object dispatch(AdminContext& ctx, const json::object& req) {
  const std::string command = text(req, "command");
  const auto dot = command.find('.');
  const std::string group = command.substr(0, dot);
  const std::string action = dot == std::string::npos ? "" : command.substr(dot + 1);
  if (command == "status") return status(ctx);
  if (command == "reload") return reload_after_change(ctx, "tern reload");
  if (command == "drain") {
    std::chrono::seconds deadline{600};
    if (!text(req, "deadline").empty() &&
        !config::parse_duration(text(req, "deadline"), deadline)) {
      return fail("--deadline must be a duration such as 10m");
    }
    ctx.runtime.drain(deadline);
    ctx.logger.log(net::LogLevel::kInfo, "draining",
                   {{"deadline_seconds", std::to_string(deadline.count())}});
    auto r = ok();
    r["allocations"] = ctx.runtime.allocation_count();
    return r;
  }
  if (command == "sessions.list") return sessions_list(ctx, req);
  if (command == "sessions.kill") return sessions_kill(ctx, req);
  if (group == "users") return users_command(ctx, action, req);
  if (group == "secrets") return secrets_command(ctx, action, req);
  if (command == "credentials") return credentials_command(ctx, req);
  return fail("unknown command '" + command + "'");
}

}  // namespace

std::string handle_admin_request(const std::string& request, AdminContext& ctx) {
  boost::system::error_code ec;
  json::value v = json::parse(request, ec);
  if (ec || !v.is_object()) return json::serialize(fail("the request is not a JSON object"));
  try {
    return json::serialize(dispatch(ctx, v.as_object()));
  } catch (const std::exception& e) {
    return json::serialize(fail(e.what()));
  }
}

}  // namespace tern::app
