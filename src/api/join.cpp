// Hosts joining with an identity: /v1/join-tokens (an operator makes one-time tokens that pin
// the cluster CA), /v1/join/ca and /v1/join (a new host proves a token and gets a certificate,
// its etcd user and the sealing key), and DELETE /v1/hosts/{name} (a host removed, its etcd
// user with it).
#include "api/handlers.hpp"
#include "api/requests.hpp"
#include "api/respond.hpp"
#include "join/token.hpp"
#include "store/etcd_auth.hpp"
#include "tls/certs.hpp"
#include "util/encoding.hpp"
#include "util/files.hpp"
#include "util/log.hpp"

namespace berth::api {

namespace keys = model::keys;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const char* kNoAuthority =
    "join: this server cannot let hosts join: start it with --cluster-ca and --cluster-ca-key";

json view_of(const model::JoinToken& t) {
  return {{"id", t.id},
          {"created_at", t.created_at},
          {"expires_at", t.expires_at},
          {"created_by", t.created_by}};
}

}  // namespace

namespace join_tokens {

Reply create(Context& c, const Request& r) {
  if (!c.options.join) co_return error(409, kNoAuthority);
  http::Response failure;
  auto body = r.body.empty() ? std::optional<json>(json::object()) : parse_body(r, &failure);
  if (!body) co_return failure;
  JoinTokenRequest request;
  if (auto bad = parse_join_token(*body, &request)) co_return error(bad.status, bad.message);
  join::Token token{"bjoin-" + util::random_hex(4), util::random_hex(16),
                    tls::fingerprint(c.options.join->ca_cert_pem)};
  model::JoinToken record{token.id, util::sha256_hex(token.secret), model::now_rfc3339(),
                          model::format_time(std::time(nullptr) + request.ttl.count()),
                          r.caller.token_id};
  std::vector<store::Compare> compares{store::Compare::absent(keys::join_token(token.id))};
  std::vector<store::Operation> ops{
      store::Operation::put(keys::join_token(token.id), model::dump(record))};
  auto result = co_await c.try_txn(compares, ops);
  if (!result) co_return error(503, "etcd: the store does not answer; nothing was created");
  if (!result->succeeded) co_return error(409, "join token: its id is taken; try again");
  co_await c.state.wait_revision(result->revision, 5s);
  util::log("server: join token {} made by {}, valid until {}", token.id, r.caller.token_id,
            record.expires_at);
  auto out = view_of(record);
  out["token"] = join::format(token);  // this once: etcd keeps the secret's sha256 only
  out["ca_sha256"] = token.ca_sha256;
  co_return reply(201, out);
}

http::Response list(Context& c, const Request&) {
  json out = json::array();
  std::time_t now = std::time(nullptr);
  for (auto* kv : c.state.under(keys::kJoinTokens)) {
    auto t = model::parse<model::JoinToken>(kv->value);
    if (model::parse_time(t.expires_at) > now) out.push_back(view_of(t));
  }
  return reply(200, out);
}

}  // namespace join_tokens

namespace joining {

http::Response ca(Context& c, const Request&) {
  if (!c.options.join) return error(404, kNoAuthority);
  http::Response r;
  r.status = 200;
  r.content_type = "application/x-pem-file";
  r.body = c.options.join->ca_cert_pem;
  return r;
}

Reply join(Context& c, const Request& r) {
  if (!c.options.join) co_return error(409, kNoAuthority);
  auto& authority = *c.options.join;
  http::Response failure;
  auto body = parse_body(r, &failure);
  if (!body) co_return failure;
  JoinRequest request;
  if (auto bad = parse_join(*body, &request)) co_return error(bad.status, bad.message);
  auto token = *join::parse(request.token);
  if (token.ca_sha256 != tls::fingerprint(authority.ca_cert_pem))
    co_return error(401, "token: it pins another CA than this cluster's");
  auto* kv = c.state.find(keys::join_token(token.id));
  std::optional<model::JoinToken> record;
  if (kv) record = model::parse<model::JoinToken>(kv->value);
  if (auto refused = join::refusal(record ? &*record : nullptr, token, std::time(nullptr)))
    co_return error(401, "token: " + *refused);
  if (c.state.find(keys::host(request.host)))
    co_return error(409, "host: a host named " + request.host +
                             " is alive; stop its agent first or join under another --name");
  // Signed before the token is spent, so that a bad request does not waste it.
  std::string cert;
  try {
    cert = tls::sign_request({authority.ca_cert_pem, authority.ca_key_pem}, request.csr,
                             {request.host, request.address});
  } catch (const std::exception& e) {
    co_return error(422, std::string("csr: ") + e.what());
  }
  std::vector<store::Compare> unused{store::Compare::mod_revision_is(kv->key, kv->mod_revision)};
  std::vector<store::Operation> spend{store::Operation::erase(kv->key)};
  auto result = co_await c.try_txn(unused, spend);
  if (!result) co_return error(503, "etcd: the store does not answer; the token is not spent");
  if (!result->succeeded)
    co_return error(401, "token: join token " + token.id + " is unknown or already used");
  json etcd{{"endpoints", authority.etcd_endpoints}, {"user", ""}, {"password", ""}};
  if (authority.add_etcd_user) {
    std::string password = util::random_password(32);
    try {
      co_await authority.add_etcd_user(request.host, password);
    } catch (const std::exception& e) {
      co_return error(503, "etcd: cannot make the host's etcd user (" + std::string(e.what()) +
                               "); the token is spent: make another");
    }
    etcd["user"] = store::agent_user(request.host);
    etcd["password"] = password;
  }
  std::string sealing_key;
  try {
    sealing_key = util::read_file(authority.sealing_key_file);
  } catch (const std::exception& e) {
    co_return error(503, std::string("join: the server cannot read its sealing key: ") + e.what());
  }
  util::log("server: host {} ({}) joined with join token {}", request.host, request.address,
            token.id);
  co_return reply(200, {{"host", request.host},
                        {"ca_cert", authority.ca_cert_pem},
                        {"cert", cert},
                        {"etcd", etcd},
                        {"sealing_key", sealing_key}});
}

}  // namespace joining

namespace hosts {

Reply remove(Context& c, const Request& r, const HostName& name) {
  auto* settings = c.state.find(keys::host_settings(name.value));
  if (!settings && !c.state.find(keys::host(name.value)))
    co_return error(404, "host: no host named '" + name.value + "'");
  if (c.state.find(keys::host(name.value)))
    co_return error(409, "host: " + name.value + " is alive; stop its agent first");
  if (auto on = c.view.allocations_on(name.value); !on.empty())
    co_return error(409, "host: " + name.value + " still has " + std::to_string(on.size()) +
                             " instances; they move away once it has been down a moment, or "
                             "drain it first");
  // Its keys, and the addresses only its agent could ever give back.
  std::vector<store::Compare> still_gone{store::Compare::absent(keys::host(name.value))};
  std::vector<store::Operation> ops{store::Operation::erase(keys::host_settings(name.value)),
                                    store::Operation::erase(keys::host_left(name.value)),
                                    store::Operation::erase_prefix(keys::orphans_of(name.value))};
  for (auto* kv : c.state.under(keys::kAddresses))
    if (kv->value == keys::host_address_owner(name.value) ||
        keys::retired_on(kv->value) == name.value)
      ops.push_back(store::Operation::erase(kv->key));
  auto result = co_await c.try_txn(still_gone, ops);
  if (!result) co_return error(503, "etcd: the store does not answer; nothing was removed");
  if (!result->succeeded) co_return error(409, "host: " + name.value + " came back meanwhile");
  bool revoked = false;
  if (c.options.join && c.options.join->remove_etcd_user) {
    try {
      co_await c.options.join->remove_etcd_user(name.value);
      revoked = true;
    } catch (const std::exception& e) {
      util::log("server: host {} removed, but its etcd user stays: {}", name.value, e.what());
    }
  }
  co_await c.state.wait_revision(result->revision, 5s);
  util::log("server: host {} removed by {}{}", name.value, r.caller.token_id,
            revoked ? "; its etcd user is gone" : "");
  co_return reply(200, {{"name", name.value}, {"removed", true}, {"identity_revoked", revoked}});
}

}  // namespace hosts

}  // namespace berth::api
