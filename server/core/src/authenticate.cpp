// Long-term credential check for TURN requests (RFC 8489 §9.2.4), incl. PASSWORD-ALGORITHMS,
// and third-party authorization with access tokens (RFC 7635).
#include <algorithm>

#include "tern/auth/access_token.hpp"

#include "handlers.hpp"
#include "tern/auth/credentials.hpp"
#include "tern/auth/nonce.hpp"
#include "tern/core/rate_limit.hpp"
#include "tern/protocol/attributes.hpp"
#include "tern/protocol/bytes.hpp"
#include "tern/protocol/integrity.hpp"

namespace tern::core {
namespace {

namespace attr = protocol::attr;
using protocol::Bytes;
using protocol::MessageView;
using protocol::Method;

constexpr std::uint16_t kMd5 = 0x0001;
constexpr std::uint16_t kSha256 = 0x0002;
// RFC 7635 §7 (Delta): how far a token's timestamp may be from tern's clock beyond its lifetime.
constexpr std::chrono::seconds kTokenClockSkew{5};
// Server preference order, as sent in PASSWORD-ALGORITHMS.
constexpr std::array<protocol::PasswordAlgorithmValue, 2> kAlgorithms = {
    protocol::PasswordAlgorithmValue{kSha256, {}}, protocol::PasswordAlgorithmValue{kMd5, {}}};

// Unauthenticated error replies are rate limited per source IP, so tern cannot be used to
// reflect traffic at a spoofed address; over the limit the request is dropped silently.
bool may_reply(Turn& t, const Request& req) {
  if (t.rate_limit.allow(req.flow.client, req.now.steady)) return true;
  t.stats.drop(Drop::kRateLimited);
  return false;
}

// 401 or 438 with REALM, a fresh NONCE and PASSWORD-ALGORITHMS; never with integrity.
Reply challenge(Turn& t, const Request& req, ErrorCode code) {
  if (!may_reply(t, req)) return {};
  auto b = start_response(req, protocol::MessageClass::kErrorResponse, t.buf);
  b.add_error_code(code);
  b.add_string(attr::kRealm, t.options.realm);
  b.add_string(attr::kNonce, t.deps.nonces->issue(req.flow.client, req.now.wall));
  b.add_password_algorithms(kAlgorithms);
  if (t.deps.oauth && !t.deps.oauth->empty()) {
    b.add_string(attr::kThirdPartyAuthorization, t.deps.oauth->server_name());
  }
  return finish_response(req, t.options, b);
}

Reply bad_request(Turn& t, const Request& req) {
  if (!may_reply(t, req)) return {};
  return error_response(req, t.options, ErrorCode::kBadRequest, t.buf);
}

// RFC 8489 §9.2.4 bid-down protection: the algorithm the request uses, or nullopt (400).
std::optional<std::uint16_t> negotiated_algorithm(const MessageView& m) {
  const auto one = m.find_value(attr::kPasswordAlgorithm);
  const auto list = m.find_value(attr::kPasswordAlgorithms);
  if (!one && !list) return kMd5;
  if (!one || !list) return std::nullopt;
  auto offered = protocol::decode_password_algorithms(*list);
  auto chosen = protocol::decode_password_algorithm(*one);
  if (!offered || !chosen || offered->count != kAlgorithms.size()) return std::nullopt;
  for (std::size_t i = 0; i < kAlgorithms.size(); ++i) {
    if (offered->items[i].algorithm != kAlgorithms[i].algorithm ||
        !offered->items[i].parameters.empty()) {
      return std::nullopt;  // not the list we sent: someone tampered with it
    }
  }
  if (chosen->algorithm != kMd5 && chosen->algorithm != kSha256) return std::nullopt;
  return chosen->algorithm;
}

bool verifies(const MessageView& m, Bytes key, bool sha256_integrity) {
  const auto check = sha256_integrity ? protocol::check_message_integrity_sha256(m, key)
                                      : protocol::check_message_integrity(m, key);
  return check == protocol::Check::kValid;
}

std::optional<auth::CredentialStore::Found> resolve_user(const Turn& t, const MessageView& m,
                                                         WallTime now) {
  if (!t.deps.credentials) return std::nullopt;
  if (auto username = m.find_value(attr::kUsername)) {
    auto name = protocol::decode_username(*username);
    if (!name) return std::nullopt;
    return t.deps.credentials->lookup(*name, now);
  }
  auto hash = protocol::decode_userhash(*m.find_value(attr::kUserhash));
  if (!hash) return std::nullopt;
  return t.deps.credentials->lookup_userhash(*hash);
}

// RFC 7635 §7: USERNAME names the key that opens ACCESS-TOKEN; the token must be within its
// lifetime (either side of tern's clock, by kTokenClockSkew), and its mac_key must verify the
// request. The RFC signs with the whole mac_key; coturn's clients sign with its first 16 bytes,
// so that is tried second, and the answers are signed with whichever verified.
std::optional<SessionKey> token_key(const Turn& t, const MessageView& m, WallTime now,
                                    bool sha256_integrity, bool& user_known) {
  const auto kid_value = m.find_value(attr::kUsername);
  if (!kid_value) return std::nullopt;  // a USERHASH cannot name a key
  const auto kid = protocol::decode_username(*kid_value);
  if (!kid) return std::nullopt;
  const auth::OAuthKey* k = t.deps.oauth->find(*kid);
  if (k == nullptr) return std::nullopt;
  user_known = true;
  const auto token =
      auth::open_access_token(*m.find_value(attr::kAccessToken), *k, t.deps.oauth->server_name());
  if (!token) return std::nullopt;
  const auto issued = token->issued();
  const auto window = std::chrono::seconds(token->lifetime) + kTokenClockSkew;
  const auto distance = now > issued ? now - issued : issued - now;
  if (distance >= window) return std::nullopt;
  SessionKey key;
  key.username = std::string(*kid);
  key.quota_user = key.username;
  key.sha256_integrity = sha256_integrity;
  // RFC 7635 §7: what is left is lifetime + Delta - |now - timestamp|, whichever side of now
  // the timestamp lies (a token from a clock ahead of tern's is not good for longer).
  key.expires = now + (window - distance);
  key.token = true;
  const auto& mac = token->mac_key;
  for (const std::size_t size : {mac.size(), std::min<std::size_t>(16, mac.size())}) {
    key.key.assign(mac.begin(), mac.begin() + static_cast<std::ptrdiff_t>(size));
    if (verifies(m, key.key, sha256_integrity)) return key;
  }
  return std::nullopt;
}

// The key that verifies the request: a new access token's, the allocation's own, or one from
// the credential store.
std::optional<SessionKey> verified_key(const Turn& t, const Request& req,
                                       const Allocation* existing, std::uint16_t algorithm,
                                       bool sha256_integrity, bool& user_known) {
  const MessageView& m = req.message;
  // RFC 7635: a token is presented in Allocate and Refresh; and in ConnectionBind, which has
  // no allocation of its own and must use the control connection's credentials (RFC 6062
  // §5.4). Elsewhere it is ignored.
  const auto method = static_cast<Method>(m.method());
  if (m.find(attr::kAccessToken) && (method == Method::kAllocate || method == Method::kRefresh ||
                                     method == Method::kConnectionBind)) {
    return token_key(t, m, req.now.wall, sha256_integrity, user_known);
  }
  const bool expired = t.options.strict_expiry && existing != nullptr && existing->key.expires &&
                       *existing->key.expires <= req.now.wall;
  if (existing != nullptr && !expired && verifies(m, existing->key.key, sha256_integrity)) {
    // A live allocation keeps the key it was made with, even after its credential was
    // rotated away (DESIGN §4); the username must still be the same one.
    auto name = m.find_value(attr::kUsername);
    if (name && std::string_view(reinterpret_cast<const char*>(name->data()), name->size()) ==
                    existing->key.username) {
      SessionKey key = existing->key;
      key.sha256_integrity = sha256_integrity;
      return key;
    }
  }
  auto found = resolve_user(t, m, req.now.wall);
  user_known = existing != nullptr || found.has_value();
  if (!found) return std::nullopt;
  for (const auto& candidate : found->candidates) {
    SessionKey key;
    if (algorithm == kSha256) {
      if (!candidate.sha256) continue;
      key.key.assign(candidate.sha256->begin(), candidate.sha256->end());
    } else {
      key.key.assign(candidate.md5.begin(), candidate.md5.end());
    }
    if (!verifies(m, key.key, sha256_integrity)) continue;
    key.username = found->username;
    key.quota_user = found->username;
    // A REST username is "expiry:user": quotas count the user, not each minted credential.
    if (const auto colon = key.username.find(':');
        found->source == auth::CredentialStore::Source::kRest && colon != std::string::npos) {
      key.quota_user = key.username.substr(colon + 1);
    }
    key.sha256_integrity = sha256_integrity;
    key.expires = found->expiry;
    return key;
  }
  return std::nullopt;
}

}  // namespace

std::chrono::seconds within_token(const SessionKey& key, std::chrono::seconds lifetime,
                                  WallTime now) {
  if (!key.token || !key.expires) return lifetime;
  const auto left = std::chrono::duration_cast<std::chrono::seconds>(*key.expires - now);
  return std::min(lifetime, std::max(left, std::chrono::seconds(1)));
}

// RFC 8489 §9.2.4 in its order: 401 without integrity, 400 for missing or bid-down
// attributes, 401 for an unknown user or a wrong MAC, and only then 438 for a stale nonce.
AuthOutcome authenticate(Turn& t, const Request& req, const Allocation* existing,
                         const protocol::TransportAddress* nonce_owner) {
  const MessageView& m = req.message;
  if (m.find(attr::kAccessToken) && !(t.deps.oauth && !t.deps.oauth->empty())) {
    // RFC 7635 §7: a token the server never asked for (no THIRD-PARTY-AUTHORIZATION sent).
    if (!may_reply(t, req)) return {};
    const std::uint16_t type = attr::kAccessToken;
    return {
        {},
        error_response(req, t.options, ErrorCode::kUnknownAttribute, t.buf, std::span(&type, 1))};
  }
  const bool sha256_integrity = m.find(attr::kMessageIntegritySha256).has_value();
  if (!sha256_integrity && !m.find(attr::kMessageIntegrity)) {
    t.stats.auth_challenges.add();
    return {{}, challenge(t, req, ErrorCode::kUnauthenticated)};
  }
  const auto nonce_value = m.find_value(attr::kNonce);
  const auto realm_value = m.find_value(attr::kRealm);
  if (!(m.find(attr::kUsername) || m.find(attr::kUserhash)) || !nonce_value || !realm_value) {
    t.stats.auth_failure(AuthFailure::kMissingAttributes);
    return {{}, bad_request(t, req)};
  }
  const auto algorithm = negotiated_algorithm(m);
  if (!algorithm) {
    t.stats.auth_failure(AuthFailure::kPasswordAlgorithms);
    return {{}, bad_request(t, req)};
  }
  auto realm = protocol::decode_realm(*realm_value);
  if (!realm || *realm != t.options.realm) {
    t.stats.auth_failure(AuthFailure::kWrongRealm);
    return {{}, challenge(t, req, ErrorCode::kUnauthenticated)};
  }
  bool user_known = false;
  auto key = verified_key(t, req, existing, *algorithm, sha256_integrity, user_known);
  if (!key) {
    t.stats.auth_failure(user_known ? AuthFailure::kBadIntegrity : AuthFailure::kUnknownUser);
    return {{}, challenge(t, req, ErrorCode::kUnauthenticated)};
  }
  auto nonce = protocol::decode_nonce(*nonce_value);
  const auto valid_for = [&](const protocol::TransportAddress& client) {
    return t.deps.nonces->check(*nonce, client, req.now.wall) == auth::NonceIssuer::Verdict::kValid;
  };
  if (!nonce || !(valid_for(req.flow.client) || (nonce_owner && valid_for(*nonce_owner)))) {
    t.stats.auth_failure(AuthFailure::kStaleNonce);
    return {{}, challenge(t, req, ErrorCode::kStaleNonce)};
  }
  t.rate_limit.refund(req.flow.client, req.now.steady);  // a challenge answered, not a flood
  return {std::move(key), {}};
}

}  // namespace tern::core
