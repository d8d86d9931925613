// The `auth` section: static users, credential files and environment, REST secrets, OAuth keys.
#include "config/walker.hpp"
#include "tern/auth/access_token.hpp"

namespace tern::config {
namespace {

void load_users(Walker& w, const YAML::Node& n, std::vector<User>& out) {
  out.clear();
  if (n.IsNull()) return;
  if (!n.IsSequence()) return w.error(n, "auth.users must be a list of {name, password|key}");
  for (const auto& item : n) {
    User u;
    w.map(item, "auth.users entry",
          {{"name", w.string(u.name, "auth.users.name")},
           {"password", w.string(u.password, "auth.users.password")},
           {"key", w.string(u.key, "auth.users.key")},
           {"sha256_key", w.string(u.sha256_key, "auth.users.sha256_key")}});
    if (!item.IsMap()) continue;
    if (u.name.empty()) w.error(item, "auth.users entry needs a name");
    if (u.password.empty() == u.key.empty()) {
      w.error(item, "auth.users entry '" + u.name + "' needs exactly one of password and key");
    }
    if (!u.key.empty() &&
        (u.key.size() % 2 != 0 ||
         u.key.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)) {
      w.error(item, "auth.users entry '" + u.name + "': key must be hex");
    }
    out.push_back(u);
  }
}

void load_oauth_keys(Walker& w, const YAML::Node& n, std::vector<OAuthKey>& out) {
  out.clear();
  if (n.IsNull()) return;
  if (!n.IsSequence()) return w.error(n, "auth.oauth.keys must be a list of {kid, algorithm, key}");
  for (const auto& item : n) {
    OAuthKey k;
    w.map(item, "auth.oauth.keys entry",
          {{"kid", w.string(k.kid, "auth.oauth.keys.kid")},
           {"algorithm", w.string(k.algorithm, "auth.oauth.keys.algorithm")},
           {"key", w.string(k.key, "auth.oauth.keys.key")}});
    if (!item.IsMap()) continue;
    if (k.kid.empty()) w.error(item, "auth.oauth.keys entry needs a kid");
    for (const auto& other : out) {
      if (other.kid == k.kid) w.error(item, "auth.oauth.keys: kid '" + k.kid + "' appears twice");
    }
    std::string problem;
    if (!auth::OAuthKeyring::check_key(k.algorithm, k.key, &problem)) {
      w.error(item, "auth.oauth.keys entry '" + k.kid + "': " + problem);
    }
    out.push_back(k);
  }
}

}  // namespace

void load_auth(Walker& w, const YAML::Node& n, Auth& auth) {
  w.map(n, "auth",
        {{"users", [&](const YAML::Node& u) { load_users(w, u, auth.users); }},
         {"users_file", w.string(auth.users_file, "auth.users_file")},
         {"users_env", w.string(auth.users_env, "auth.users_env")},
         {"secrets_env", w.string(auth.secrets_env, "auth.secrets_env")},
         {"secrets", w.string_list(auth.secrets, "auth.secrets")},
         {"secrets_file", w.string(auth.secrets_file, "auth.secrets_file")},
         {"strict_expiry", w.boolean(auth.strict_expiry, "auth.strict_expiry")},
         {"generated_secret", w.boolean(auth.generated_secret, "auth.generated_secret")},
         {"oauth", [&](const YAML::Node& o) {
            w.map(o, "auth.oauth",
                  {{"server_name", w.string(auth.oauth.server_name, "auth.oauth.server_name")},
                   {"keys", [&](const YAML::Node& k) { load_oauth_keys(w, k, auth.oauth.keys); }}});
          }}});
}

}  // namespace tern::config
