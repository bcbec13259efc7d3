// POST /v1/databases/{name}/password: a new password, set live on every instance (each agent
// sets it, authenticating with the one before), shown once in the answer.
#include "api/handlers.hpp"
#include "api/requests.hpp"
#include "api/respond.hpp"
#include "api/scope.hpp"
#include "engines/engine.hpp"
#include "util/encoding.hpp"
#include "util/log.hpp"

namespace berth::api::databases {

namespace keys = model::keys;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

// The instance of a database that has not taken its last new password yet ("" none).
std::string behind(const state::View& view, const std::string& id) {
  for (auto* a : view.allocations_of(id)) {
    auto* s = view.status(id, a->value.n);
    if ((s ? s->value.password_generation : 0) < a->value.password_generation)
      return std::to_string(a->value.n);
  }
  return {};
}

}  // namespace

Reply rotate_password(Context& c, const Request& r, const DatabaseRef& ref) {
  std::string id = resolve(c, r, ref.value);
  if (id.empty()) co_return error(404, no_database(ref.value));
  auto* record = c.view.database(id);
  if (!record) co_return error(404, no_database(ref.value));
  auto* engine = berth::engines::find_engine(record->value.engine);
  json body;
  if (!r.body.empty()) {
    http::Response failure;
    auto parsed = parse_body(r, &failure);
    if (!parsed) co_return failure;
    body = std::move(*parsed);
  }
  std::optional<std::string> given;
  if (auto bad = api::parse_password(body, *engine, &given))
    co_return error(bad.status, bad.message);
  std::string next = given ? *given : util::random_password(24);
  int64_t generation = 0;
  // The controller writes allocations too (a replica's return changes its primary's
  // min-replicas): a transaction that lost that race is made again from the newer state.
  for (int attempt = 1;; ++attempt) {
    record = c.view.database(id);
    if (!record) co_return error(404, no_database(ref.value));
    auto db = record->value;
    if (db.password.empty())
      co_return error(409, "password: " + db.name +
                               " was made without one (open to its network); make a new "
                               "database with a password instead");
    if (next == db.password.plain()) co_return error(422, "password: the same as the current one");
    // The instances know the current password and the one before it only.
    if (auto n = behind(c.view, id); !n.empty())
      co_return error(409, "database: instance " + n +
                               " has not taken the last new password yet; try again when it "
                               "is healthy");
    generation = db.password_generation + 1;
    db.password = next;
    db.password_generation = generation;
    std::vector<store::Compare> compares{
        store::Compare::mod_revision_is(keys::database(id), record->mod_revision)};
    std::vector<store::Operation> ops{store::Operation::put(keys::database(id), model::dump(db))};
    for (auto* allocation : c.view.allocations_of(id)) {
      auto a = allocation->value;
      a.previous_password = a.password;
      a.password = next;
      a.password_generation = generation;
      compares.push_back(
          store::Compare::mod_revision_is(allocation->key, allocation->mod_revision));
      ops.push_back(store::Operation::put(allocation->key, model::dump(a)));
    }
    auto result = co_await c.store.txn(compares, ops);
    bool written = result.succeeded;
    co_await c.state.wait_revision(result.revision, 5s);
    if (written) break;
    if (attempt == 5) co_return error(409, "database: changed meanwhile; try again");
  }
  util::log("server: new password for database {} ({}), generation {}", ref.value, id, generation);
  // Answered once every instance takes it (202 if one has not within 20 s: its agent goes on).
  bool taken = co_await c.state.wait_for([&] { return behind(c.view, id).empty(); }, 20s);
  auto view = database_view(c.state, id);
  view["password"] = next;  // shown this once
  view["password_generation"] = generation;
  co_return reply(taken ? 200 : 202, view);
}

}  // namespace berth::api::databases
