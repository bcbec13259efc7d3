// /v1/tokens and /v1/whoami: API tokens made, listed (never their secrets) and revoked by a
// project's admins (their project's) and by operators (any).
#include "api/handlers.hpp"
#include "api/requests.hpp"
#include "api/respond.hpp"
#include "api/scope.hpp"
#include "util/encoding.hpp"
#include "util/log.hpp"

namespace berth::api::tokens {

namespace keys = model::keys;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

json view_of(const model::Token& t) {
  return {{"id", t.id},     {"project", t.project},       {"role", model::to_string(t.role)},
          {"name", t.name}, {"created_at", t.created_at}, {"expires_at", t.expires_at}};
}

// Whether the caller manages this token: an operator any, an admin its project's.
bool manages(const Request& r, const model::Token& t) {
  return r.caller.is_operator() || (!t.project.empty() && shown(r, t.project));
}

}  // namespace

http::Response list(Context& c, const Request& r) {
  json out = json::array();
  for (auto& [id, t] : c.view.tokens())
    if (manages(r, t.value) && shown(r, t.value.project))  // shown: an operator's ?project=
      out.push_back(view_of(t.value));
  return reply(200, out);
}

Reply create(Context& c, const Request& r) {
  http::Response failure;
  auto body = parse_body(r, &failure);
  if (!body) co_return failure;
  TokenRequest request;
  if (auto bad = parse_token(*body, &request)) co_return error(bad.status, bad.message);
  if (!r.caller.is_operator()) {
    if (!auth::project_role(request.role))
      co_return error(403, "role: only an operator token can make " +
                               model::to_string(request.role) + " tokens");
    if (request.project != r.caller.project)
      co_return error(403, "project: this token manages project " + r.caller.project + " only");
  }
  if (!request.project.empty() && !c.view.project(request.project))
    co_return error(404, "project: no project named '" + request.project + "'");
  auto secret = auth::make_secret();
  model::Token t;
  t.id = secret.id;
  t.sha256 = util::sha256_hex(secret.secret);
  t.project = request.project;
  t.role = request.role;
  t.name = request.name;
  t.created_at = model::now_rfc3339();
  if (request.ttl) t.expires_at = model::format_time(std::time(nullptr) + request.ttl->count());
  std::vector<store::Compare> compares{store::Compare::absent(keys::token(t.id))};
  if (!t.project.empty()) compares.push_back(store::Compare::present(keys::project(t.project)));
  std::vector<store::Operation> ops{store::Operation::put(keys::token(t.id), model::dump(t))};
  auto result = co_await c.try_txn(compares, ops);
  if (!result) co_return error(503, "etcd: the store does not answer; nothing was created");
  if (!result->succeeded) co_return error(409, "token: its project went meanwhile; try again");
  co_await c.view.wait_revision(result->revision, 5s);
  util::log("server: token {} ({}) made for {} by {}", t.id, model::to_string(t.role),
            t.project.empty() ? "the cluster" : "project " + t.project, r.caller.token_id);
  auto out = view_of(t);
  out["secret"] = secret.secret;  // this once: etcd keeps its sha256 only
  co_return reply(201, out);
}

Reply revoke(Context& c, const Request& r, const TokenId& id) {
  auto* record = c.view.token(id.value);
  if (!record || !manages(r, record->value))
    co_return error(404, "token: no token with id '" + id.value + "'");
  std::vector<store::Compare> none;
  std::vector<store::Operation> ops{store::Operation::erase(record->key)};
  auto result = co_await c.try_txn(none, ops);
  if (!result) co_return error(503, "etcd: the store does not answer; nothing was revoked");
  co_await c.view.wait_revision(result->revision, 5s);
  util::log("server: token {} revoked by {}", id.value, r.caller.token_id);
  http::Response response;
  response.status = 204;
  co_return response;
}

http::Response whoami(Context&, const Request& r) {
  return reply(200, {{"id", r.caller.token_id},
                     {"name", r.caller.token_name},
                     {"project", r.caller.project},
                     {"role", model::to_string(r.caller.role)},
                     {"expires_at", r.caller.expires_at}});
}

}  // namespace berth::api::tokens
