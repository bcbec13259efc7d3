// Idempotency-Key: a POST that carries one does its work once. What it did is recorded in the
// same transaction as the work, so a retry (the answer lost, the outcome unknown) answers the same.
#pragma once

#include <optional>
#include <string>

#include "api/context.hpp"
#include "api/requests.hpp"
#include "http/http.hpp"

namespace berth::api {

struct Idempotency {
  std::string key;          // the record's etcd key; empty when the request carries no header
  std::string fingerprint;  // of method, path and body: one key, one request
  explicit operator bool() const { return !key.empty(); }
};

// The request's Idempotency-Key; a 422 naming the header when it is malformed.
Invalid read_idempotency(const http::ServerRequest& r, Idempotency* out);

// What an earlier request with this key did: nullopt when there was none (or no key). A 422
// when the key was used for a different request.
std::optional<model::IdempotentOutcome> earlier_outcome(const Context& c, const Idempotency& idem,
                                                        Invalid* bad);

// The guard and the write that go into the work's transaction.
store::Compare unused(const Idempotency& idem);
store::Operation record(const Idempotency& idem, model::IdempotentOutcome outcome);

}  // namespace berth::api
