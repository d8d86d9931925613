// Long-term credential lookup: static users and TURN REST API shared secrets (RFC 8489 §9.2,
// RFC 8656 §6, draft-uberti-behave-turn-rest-00). Only keys are kept, never passwords.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tern/auth/keys.hpp"

namespace tern::auth {

struct LongTermKeys {
  Md5Key md5{};
  std::optional<Sha256Key> sha256;  // absent for a user provisioned with an MD5 key only
};

// One configured user: exactly one of `password` and `key_hex` (32 hex digits, the MD5 key).
struct StaticUser {
  std::string name;
  std::string password;
  std::string key_hex;
  std::string sha256_key_hex;  // optional with key_hex: enables SHA-256 for this user
};

class CredentialStore {
 public:
  enum class Source { kStatic, kRest };

  // What a USERNAME or USERHASH resolved to. Try each candidate's key on MESSAGE-INTEGRITY(-SHA256)
  // in order and accept the first that verifies: a static user has one candidate, a REST
  // username one per shared secret, in configuration order (so the index names the secret).
  struct Found {
    std::string username;
    Source source = Source::kStatic;
    std::vector<LongTermKeys> candidates;
    std::optional<std::chrono::system_clock::time_point> expiry;  // REST credentials only
  };

  struct Built;

  // Errors name every bad user or secret.
  static Built build(std::string realm, std::span<const StaticUser> users,
                     std::vector<std::string> rest_secrets);

  // A static user by name, else a REST username "expiry[:user]" (unix seconds) that has not
  // expired at `now`. Unknown and expired names both give nullopt (the server answers 401).
  std::optional<Found> lookup(std::string_view username,
                              std::chrono::system_clock::time_point now) const;
  // USERHASH = SHA-256(username ":" realm) (RFC 8489 §14.4); static users only.
  std::optional<Found> lookup_userhash(const Sha256Key& userhash) const;

  const std::string& realm() const noexcept { return realm_; }
  // Whether every credential can be found from its USERHASH: not so for TURN REST names, which
  // are minted on the fly and cannot be listed to hash. Only then may a server offer username
  // anonymity (RFC 8489 §9.2.1), or a client that uses it is refused for ever.
  bool resolves_every_userhash() const noexcept { return secrets_.empty(); }

 private:
  std::string realm_;
  std::map<std::string, LongTermKeys, std::less<>> users_;
  std::map<Sha256Key, std::string> userhashes_;
  std::vector<std::string> secrets_;
};

struct CredentialStore::Built {
  std::optional<CredentialStore> store;  // set when errors is empty
  std::vector<std::string> errors;
};

}  // namespace tern::auth
