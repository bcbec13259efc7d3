// EtcdStore's sign-in when etcd's authentication is on: a token got once and kept, got again
// when etcd no longer takes it.
#include <nlohmann/json.hpp>

#include "http/http.hpp"
#include "store/etcd.hpp"
#include "store/etcd_wire.hpp"

namespace berth::store {

using nlohmann::json;

namespace {
// Whether etcd refused a sign-in for a while only (no leader yet, a leader election, a slow
// disk): another member, or the same one a moment later, may take it (signing in twice is
// harmless, unlike a transaction that may have been applied).
bool transient_refusal(const std::string& message) {
  for (const char* passing : {"no leader", "timed out", "leader changed", "not capable",
                              "too many requests", "not started"})
    if (message.find(passing) != std::string::npos) return true;
  return false;
}

// Whether a refusal asks for a new token: an unknown one, or one from before the last change
// of etcd's users and roles.
bool sign_in_again(const http::Response& res) {
  return res.status == 401 ||
         (res.status >= 400 && res.body.find(kOldAuthRevision) != std::string::npos);
}

}  // namespace

asio::awaitable<void> EtcdStore::authorize(http::Client& client, http::Request& request) {
  if (login_.user.empty()) co_return;
  if (token_.empty()) {
    json body = {{"name", login_.user}, {"password", login_.password}};
    http::Request sign_in{"POST", "/v3/auth/authenticate", body.dump()};
    auto res = co_await client.request(sign_in, std::chrono::seconds(10));
    if (res.status != 200) {
      std::string why = "etcd: cannot sign in as " + login_.user + ": " + refusal_message(res.body);
      // A member electing a leader or out of its depth: ask another, as for any request. A
      // wrong password is the answer.
      if (res.status >= 500 || transient_refusal(why)) throw http::ConnectError(why);
      throw std::runtime_error(why);
    }
    token_ = json::parse(res.body).value("token", "");
  }
  request.headers.emplace_back("Authorization", token_);
}

asio::awaitable<http::Response> EtcdStore::signed_in_request(http::Client& client,
                                                             http::Request request,
                                                             std::chrono::milliseconds timeout) {
  auto unsigned_request = request;
  co_await authorize(client, request);
  auto res = co_await client.request(request, timeout);
  if (login_.user.empty() || !sign_in_again(res)) co_return res;
  // The token lapsed (unused past its TTL on this member), or etcd's users and roles changed
  // since it was given (a host joined): sign in again, once. etcd applied nothing.
  token_.clear();
  co_await authorize(client, unsigned_request);
  co_return co_await client.request(unsigned_request, timeout);
}

}  // namespace berth::store
