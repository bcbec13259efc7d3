// Idempotency-Key: reading the header, finding an earlier outcome, recording a new one.
#include "api/idempotency.hpp"

#include "model/secret.hpp"
#include "secrets/keyring.hpp"
#include "util/encoding.hpp"

namespace berth::api {

Invalid read_idempotency(const http::ServerRequest& r, Idempotency* out) {
  *out = {};
  auto it = r.headers.find("idempotency-key");
  if (it == r.headers.end()) return {};
  const std::string& key = it->second;
  if (key.empty() || key.size() > 255) return {422, "Idempotency-Key: must be 1 to 255 characters"};
  for (unsigned char ch : key)
    if (ch < 0x21 || ch > 0x7e) return {422, "Idempotency-Key: must be printable ASCII"};
  // Hashed: any key the client chose becomes a safe etcd key of one length.
  out->key = model::keys::idempotency(util::sha256_hex(key));
  // Keyed: the body may hold a password, and etcd's readers must not be able to test guesses.
  std::string request = r.method + " " + r.path + "\n" + r.body;
  auto* keyring = model::keyring();
  out->fingerprint = keyring ? keyring->fingerprint(request) : util::sha256_hex(request);
  return {};
}

std::optional<model::IdempotentOutcome> earlier_outcome(const Context& c, const Idempotency& idem,
                                                        Invalid* bad) {
  *bad = {};
  if (!idem) return std::nullopt;
  auto* kv = c.state.find(idem.key);
  if (!kv) return std::nullopt;
  auto outcome = model::parse<model::IdempotentOutcome>(kv->value);
  if (outcome.fingerprint != idem.fingerprint) {
    *bad = {422, "Idempotency-Key: already used for a different request"};
    return std::nullopt;
  }
  return outcome;
}

store::Compare unused(const Idempotency& idem) {
  return store::Compare::absent(idem.key);
}

store::Operation record(const Idempotency& idem, model::IdempotentOutcome outcome) {
  outcome.fingerprint = idem.fingerprint;
  outcome.created_at = model::now_rfc3339();
  return store::Operation::put(idem.key, model::dump(outcome));
}

}  // namespace berth::api
