// /v1/databases: list, show, create, change, delete and switch over databases.
#include "api/database_service.hpp"
#include "api/handlers.hpp"
#include "api/respond.hpp"
#include "api/scope.hpp"
#include "controller/switchover.hpp"
#include "engines/engine.hpp"
#include "usage/usage.hpp"
#include "util/log.hpp"

namespace berth::api::databases {

namespace asio = boost::asio;
namespace keys = model::keys;
using nlohmann::json;
using namespace std::chrono_literals;

http::Response list(Context& c, const Request& r) {
  http::Response response;
  response.status = 200;
  if (r.caller.is_operator() && !r.query.count("project")) {
    response.body = c.views.list(c.state);  // every database: the cached list
    return response;
  }
  // By name, as the whole list is.
  std::map<std::pair<std::string, std::string>, std::string> shown_ids;
  for (auto& [id, db] : c.view.databases())
    if (shown(r, db.value.project)) shown_ids[{db.value.name, db.value.project}] = id;
  response.body = "[";
  for (auto& [name, id] : shown_ids)
    response.body += (response.body.size() > 1 ? "," : "") + c.views.database(c.state, id);
  response.body += "]";
  return response;
}

http::Response get(Context& c, const Request& r, const DatabaseRef& ref) {
  std::string id = resolve(c, r, ref.value);
  if (id.empty()) return error(404, no_database(ref.value));
  http::Response response;
  response.status = 200;
  response.body = c.views.database(c.state, id);
  return response;
}

Reply create(Context& c, const Request& r) {
  Idempotency idem;
  if (auto bad = read_idempotency(r, &idem)) co_return error(bad.status, bad.message);
  http::Response failure;
  auto body = parse_body(r, &failure);
  if (!body) co_return failure;
  CreateRequest request;
  if (auto bad = parse_create(*body, &request)) co_return error(bad.status, bad.message);
  int status = 0;
  std::string problem;
  if (body->contains("project") && !(*body)["project"].is_string())
    co_return error(422, "project: must be a project name");
  request.project = project_for_create(c, r, body->value("project", ""), &status, &problem);
  if (request.project.empty()) co_return error(status, problem);
  bool wait = r.query.count("wait") == 0 || r.query.at("wait") != "false";
  std::string no_task;
  auto created = co_await DatabaseService(c).create(request, wait, idem, no_task);
  if (created.problem) co_return error(created.problem.status, created.problem.message);
  co_return reply(created.healthy ? 201 : 202, created.view);
}

Reply update(Context& c, const Request& r, const DatabaseRef& ref) {
  std::string id = resolve(c, r, ref.value);
  if (id.empty()) co_return error(404, no_database(ref.value));
  http::Response failure;
  auto body = parse_body(r, &failure);
  if (!body) co_return failure;
  auto* engine = berth::engines::find_engine(
      model::parse<model::Database>(c.state.find(keys::database(id))->value).engine);
  UpdateRequest request;
  if (auto bad = parse_update(*body, *engine, &request)) co_return error(bad.status, bad.message);
  auto updated = co_await DatabaseService(c).update(id, ref.value, request);
  if (updated.problem) co_return error(updated.problem.status, updated.problem.message);
  co_return reply(updated.applied ? 200 : 202, database_view(c.state, id));
}

Reply remove(Context& c, const Request& r, const DatabaseRef& ref) {
  std::string id = resolve(c, r, ref.value);
  if (id.empty()) co_return error(404, no_database(ref.value));
  auto* kv = c.state.find(keys::database(id));
  if (!kv) co_return error(404, no_database(ref.value));
  auto db = model::parse<model::Database>(kv->value);
  std::vector<store::Compare> compares{
      store::Compare::mod_revision_is(keys::database(id), kv->mod_revision)};
  std::vector<store::Operation> ops{
      store::Operation::erase(keys::database(id)),
      store::Operation::erase(keys::name(db.project, db.name)),
      store::Operation::erase_prefix(berth::usage::database_prefix(id)),
      // The proof every agent needs before it removes the database's data.
      store::Operation::put(keys::tombstone(id),
                            model::dump(model::Tombstone{id, db.name, model::now_rfc3339()}))};
  bool host_alive = false;
  for (auto* akv : c.state.under(keys::kAllocations)) {
    auto a = model::parse<model::Allocation>(akv->value);
    if (a.database_id != id) continue;
    ops.push_back(store::Operation::erase(akv->key));
    if (c.state.find(keys::host(a.host))) host_alive = true;
  }
  auto result = co_await c.store.txn(compares, ops);
  if (!result.succeeded) co_return error(409, "database: changed meanwhile; try again");
  co_await c.state.wait_revision(result.revision, 5s);
  util::log("server: deleted database {} ({})", db.name, id);
  // Answer once the agent has removed the container and returned the address, so a
  // deleted database is gone for real; a host that is down cleans up when it returns.
  if (host_alive) {
    std::string owner_prefix = id + "/";
    co_await c.state.wait_for(
        [&] {
          for (auto* a : c.state.under(keys::kAddresses))
            if (a->value.starts_with(owner_prefix)) return false;
          return true;
        },
        20s);
  }
  http::Response response;
  response.status = 204;
  co_return response;
}

Reply switchover(Context& c, const Request& r, const DatabaseRef& ref) {
  std::string id = resolve(c, r, ref.value);
  if (id.empty()) co_return error(404, no_database(ref.value));
  int to = -1;
  if (!r.body.empty()) {
    http::Response failure;
    auto parsed = parse_body(r, &failure);
    if (!parsed) co_return failure;
    if (parsed->contains("to")) {
      if (!(*parsed)["to"].is_number_integer())
        co_return error(422, "to: must be an instance number");
      to = (*parsed)["to"].get<int>();
    }
  }
  auto result = co_await controller::switchover(c.executor, c.store, c.state, id, to);
  if (result.status != 200) co_return error(result.status, result.error);
  co_return reply(200, database_view(c.state, id));
}

}  // namespace berth::api::databases
