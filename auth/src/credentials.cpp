// Static-user and TURN REST credential lookup (draft-uberti-behave-turn-rest-00 §4.2).
#include "tern/auth/credentials.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>

namespace tern::auth {
namespace {

// Unix seconds before the first ':' of a REST username; nullopt if the name has no such prefix.
std::optional<std::chrono::system_clock::time_point> rest_expiry(std::string_view username) {
  const std::string_view digits = username.substr(0, username.find(':'));
  std::int64_t seconds = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), seconds);
  if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() || seconds < 0)
    return std::nullopt;
  // Keep far-future values inside time_point's range (int64 nanoseconds reach year 2262).
  constexpr std::int64_t kMaxSeconds = std::int64_t{1} << 33;
  return std::chrono::system_clock::time_point(
      std::chrono::seconds(std::min(seconds, kMaxSeconds)));
}

}  // namespace

CredentialStore::Built CredentialStore::build(std::string realm, std::span<const StaticUser> users,
                                              std::vector<std::string> rest_secrets) {
  Built out;
  CredentialStore s;
  s.realm_ = std::move(realm);
  for (const StaticUser& u : users) {
    const std::string where = "auth.users '" + u.name + "': ";
    if (u.name.empty()) {
      out.errors.push_back("auth.users: a user has an empty name");
      continue;
    }
    if (u.password.empty() == u.key_hex.empty()) {
      out.errors.push_back(where + "give exactly one of password and key");
      continue;
    }
    LongTermKeys keys;
    if (!u.password.empty()) {
      keys.md5 = md5_key(u.name, s.realm_, u.password);
      keys.sha256 = sha256_key(u.name, s.realm_, u.password);
    } else {
      const std::vector<std::uint8_t> key = from_hex(u.key_hex);
      if (key.size() != keys.md5.size()) {
        out.errors.push_back(where + "key must be 32 hex digits (the MD5 long-term key)");
        continue;
      }
      std::copy(key.begin(), key.end(), keys.md5.begin());
      if (!u.sha256_key_hex.empty()) {
        const std::vector<std::uint8_t> k256 = from_hex(u.sha256_key_hex);
        if (k256.size() != Sha256Key{}.size()) {
          out.errors.push_back(where + "sha256 key must be 64 hex digits");
          continue;
        }
        keys.sha256.emplace();
        std::copy(k256.begin(), k256.end(), keys.sha256->begin());
      }
    }
    if (!s.users_.emplace(u.name, keys).second) {
      out.errors.push_back(where + "listed twice");
      continue;
    }
    s.userhashes_.emplace(userhash(u.name, s.realm_), u.name);
  }
  for (std::size_t i = 0; i < rest_secrets.size(); ++i) {
    if (rest_secrets[i].empty())
      out.errors.push_back("auth.secrets[" + std::to_string(i) + "] is empty");
  }
  s.secrets_ = std::move(rest_secrets);
  if (out.errors.empty()) out.store = std::move(s);
  return out;
}

std::optional<CredentialStore::Found> CredentialStore::lookup(
    std::string_view username, std::chrono::system_clock::time_point now) const {
  if (auto it = users_.find(username); it != users_.end())
    return Found{it->first, Source::kStatic, {it->second}, std::nullopt};
  if (secrets_.empty()) return std::nullopt;
  const auto expiry = rest_expiry(username);
  if (!expiry || *expiry <= now) return std::nullopt;
  Found found{std::string(username), Source::kRest, {}, expiry};
  for (const std::string& secret : secrets_) {
    const std::string password = rest_password(secret, username);
    found.candidates.push_back(
        {md5_key(username, realm_, password), sha256_key(username, realm_, password)});
  }
  return found;
}

std::optional<CredentialStore::Found> CredentialStore::lookup_userhash(
    const Sha256Key& hash) const {
  const auto it = userhashes_.find(hash);
  if (it == userhashes_.end()) return std::nullopt;
  return Found{it->second, Source::kStatic, {users_.find(it->second)->second}, std::nullopt};
}

}  // namespace tern::auth
