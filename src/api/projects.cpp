// /v1/projects: the teams' shares of the cluster, their quotas and what they use (operators).
#include "api/handlers.hpp"
#include "api/quota.hpp"
#include "api/requests.hpp"
#include "api/respond.hpp"
#include "util/log.hpp"

namespace berth::api::projects {

namespace keys = model::keys;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

json view_of(const Context& c, const model::Project& p) {
  auto use = project_use(c.view, p.name);
  json out = p;
  out["databases"] = use.databases;
  out["memory_mb"] = use.memory_mb;
  return out;
}

http::Response no_project(const std::string& name) {
  return error(404, "project: no project named '" + name + "'");
}

}  // namespace

http::Response list(Context& c, const Request&) {
  json out = json::array();
  for (auto& [name, p] : c.view.projects()) out.push_back(view_of(c, p.value));
  return reply(200, out);
}

http::Response get(Context& c, const Request&, const ProjectName& name) {
  auto* p = c.view.project(name.value);
  if (!p) return no_project(name.value);
  return reply(200, view_of(c, p->value));
}

Reply create(Context& c, const Request& r) {
  http::Response failure;
  auto body = parse_body(r, &failure);
  if (!body) co_return failure;
  ProjectRequest request;
  if (auto bad = parse_project(*body, true, &request)) co_return error(bad.status, bad.message);
  model::Project p;
  p.name = request.name;
  p.memory_quota_mb = request.memory_quota_mb.value_or(0);
  p.database_quota = request.database_quota.value_or(0);
  p.created_at = model::now_rfc3339();
  std::vector<store::Compare> compares{store::Compare::absent(keys::project(p.name))};
  std::vector<store::Operation> ops{store::Operation::put(keys::project(p.name), model::dump(p))};
  auto result = co_await c.try_txn(compares, ops);
  if (!result) co_return error(503, "etcd: the store does not answer; nothing was created");
  if (!result->succeeded) co_return error(409, "name: project '" + p.name + "' exists");
  co_await c.view.wait_revision(result->revision, 5s);
  util::log("server: created project {}", p.name);
  co_return reply(201, view_of(c, p));
}

Reply update(Context& c, const Request& r, const ProjectName& name) {
  http::Response failure;
  auto body = parse_body(r, &failure);
  if (!body) co_return failure;
  ProjectRequest request;
  if (auto bad = parse_project(*body, false, &request)) co_return error(bad.status, bad.message);
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto* record = c.view.project(name.value);
    if (!record) co_return no_project(name.value);
    auto p = record->value;
    if (request.memory_quota_mb) p.memory_quota_mb = *request.memory_quota_mb;
    if (request.database_quota) p.database_quota = *request.database_quota;
    std::vector<store::Compare> compares{
        store::Compare::mod_revision_is(record->key, record->mod_revision)};
    std::vector<store::Operation> ops{store::Operation::put(record->key, model::dump(p))};
    auto result = co_await c.try_txn(compares, ops);
    if (!result) co_return error(503, "etcd: the store does not answer; nothing was changed");
    co_await c.view.wait_revision(result->revision, 5s);
    if (result->succeeded) co_return reply(200, view_of(c, p));
  }
  co_return error(409, "project: changed meanwhile; try again");
}

Reply remove(Context& c, const Request&, const ProjectName& name) {
  if (name.value == keys::kDefaultProject)
    co_return error(409,
                    "project: the default project stays (databases made without one go there)");
  auto* record = c.view.project(name.value);
  if (!record) co_return no_project(name.value);
  auto use = project_use(c.view, name.value);
  if (use.databases > 0)
    co_return error(409, "project: " + name.value + " still has " + std::to_string(use.databases) +
                             " databases; delete them first");
  // Its tokens go with it: none may outlive the project and name it again if it is remade.
  std::vector<store::Compare> compares{
      store::Compare::mod_revision_is(record->key, record->mod_revision)};
  std::vector<store::Operation> ops{store::Operation::erase(record->key)};
  for (auto& [id, t] : c.view.tokens())
    if (t.value.project == name.value) ops.push_back(store::Operation::erase(t.key));
  auto result = co_await c.try_txn(compares, ops);
  if (!result) co_return error(503, "etcd: the store does not answer; nothing was removed");
  if (!result->succeeded) co_return error(409, "project: changed meanwhile; try again");
  co_await c.view.wait_revision(result->revision, 5s);
  util::log("server: removed project {}", name.value);
  http::Response response;
  response.status = 204;
  co_return response;
}

}  // namespace berth::api::projects
