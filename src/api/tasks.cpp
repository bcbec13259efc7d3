// /v1/tasks: follow and cancel tasks; and how the other handlers start them.
#include "api/tasks.hpp"

#include <algorithm>

#include "api/handlers.hpp"
#include "api/respond.hpp"
#include "api/scope.hpp"
#include "engines/engine.hpp"
#include "util/encoding.hpp"
#include "util/log.hpp"

namespace berth::api {

namespace asio = boost::asio;
namespace keys = model::keys;
using nlohmann::json;
using namespace std::chrono_literals;

json task_view(const model::Task& t, int64_t revision) {
  json j = t;
  j["revision"] = revision;
  return j;
}

bool task_running_for(const Context& c, const std::string& database_id) {
  for (auto* kv : c.state.under(keys::kTasks)) {
    auto t = model::parse<model::Task>(kv->value);
    if (t.database_id == database_id && !model::task_finished(t.state)) return true;
  }
  return false;
}

model::Task new_task(model::TaskKind kind, const std::string& database_id,
                     const std::string& database_name) {
  model::Task task;
  task.id = "t-" + util::random_hex(6);
  task.kind = kind;
  task.database_id = database_id;
  task.database_name = database_name;
  return task;
}

namespace {

// The task of that id as started, if it exists.
std::optional<StartedTask> existing_task(const Context& c, const std::string& id) {
  auto* kv = c.state.find(keys::task(id));
  if (!kv) return std::nullopt;
  return StartedTask{{}, task_view(model::parse<model::Task>(kv->value), kv->mod_revision)};
}

}  // namespace

std::optional<StartedTask> replayed_task(const Context& c, const Idempotency& idem) {
  Invalid reused;
  auto earlier = earlier_outcome(c, idem, &reused);
  if (reused) return StartedTask{reused, {}};
  if (!earlier) return std::nullopt;
  if (auto started = existing_task(c, earlier->task_id)) return started;
  return StartedTask{{409, "Idempotency-Key: the task this request started is gone"}, {}};
}

asio::awaitable<StartedTask> start_task(Context& c, model::Task task,
                                        std::vector<store::Compare> compares,
                                        std::vector<store::Operation> ops,
                                        const Idempotency& idem) {
  task.created_at = model::now_rfc3339();
  task.log.push_back(task.created_at + " created");
  if (auto* db = c.view.database(task.database_id)) task.project = db->value.project;
  compares.push_back(store::Compare::absent(keys::task(task.id)));
  ops.push_back(store::Operation::put(keys::task(task.id), model::dump(task)));
  if (idem) {
    compares.push_back(unused(idem));
    ops.push_back(record(idem, {.database_id = task.database_id, .task_id = task.id}));
  }
  auto result = co_await c.store.txn(compares, ops);
  if (!result.succeeded) {
    // The same request twice at once: the one that lost answers what the other started.
    co_await c.state.wait_revision(result.revision, 2s);
    if (auto replayed = replayed_task(c, idem)) co_return *replayed;
    if (auto started = existing_task(c, task.id)) co_return *started;
    co_return StartedTask{{409, "database: changed meanwhile; try again"}, {}};
  }
  co_await c.state.wait_revision(result.revision, 5s);
  util::log("server: task {} ({} of {}) created", task.id, model::name(task.kind),
            task.database_name);
  co_return StartedTask{{}, task_view(task, result.revision)};
}

bool newer_version(const std::string& a, const std::string& b) {
  // Numbers compared one by one: 7.10 is newer than 7.9.
  auto numbers = [](const std::string& v) {
    std::vector<long> out;
    for (size_t i = 0; i < v.size();) {
      if (!std::isdigit(static_cast<unsigned char>(v[i]))) {
        ++i;
        continue;
      }
      size_t end = i;
      while (end < v.size() && std::isdigit(static_cast<unsigned char>(v[end]))) ++end;
      out.push_back(std::stol(v.substr(i, std::min<size_t>(end - i, 9))));
      i = end;
    }
    return out;
  };
  return numbers(a) > numbers(b);
}

Invalid restore_fits(const model::Backup& b, const std::string& engine_name,
                     const std::string& database_name, int64_t memory_mb) {
  auto* engine = berth::engines::find_engine(engine_name);
  if (b.engine != engine_name)
    return {422, "backup: a " + b.engine + " backup cannot go into a " + engine_name + " database"};
  // An engine does not load what a newer version of it wrote: refused before anything is
  // touched, not found out with the old data gone.
  if (!b.version.empty() && newer_version(b.version, engine->version()))
    return {409, "backup: made by " + b.engine + " " + b.version + ", newer than the " +
                     engine->version() + " this cluster runs; it cannot be loaded"};
  // Checked before anything is touched: the data must fit the database's memory.
  if (b.memory_used_bytes > engine->data_memory_bytes(memory_mb))
    return {409, "memory_mb: the backup needed " +
                     std::to_string(b.memory_used_bytes / 1024 / 1024) + " MiB; " + database_name +
                     " has room for " +
                     std::to_string(engine->data_memory_bytes(memory_mb) / 1024 / 1024) +
                     " MiB (resize it first)"};
  return {};
}

asio::awaitable<StartedTask> start_restore(Context& c, const std::string& id,
                                           const std::string& backup_id, const Idempotency& idem,
                                           const std::string& task_id) {
  if (auto replayed = replayed_task(c, idem)) co_return *replayed;
  if (!task_id.empty())
    if (auto started = existing_task(c, task_id)) co_return *started;
  auto* bkv = c.state.find(keys::backup(backup_id));
  if (!bkv) co_return StartedTask{{404, "backup: no backup with id '" + backup_id + "'"}, {}};
  auto b = model::parse<model::Backup>(bkv->value);
  auto* dkv = c.state.find(keys::database(id));
  if (!dkv) co_return StartedTask{{404, no_database(id)}, {}};
  auto db = model::parse<model::Database>(dkv->value);
  if (auto bad = restore_fits(b, db.engine, db.name, db.memory_mb)) co_return StartedTask{bad, {}};
  if (task_running_for(c, id))
    co_return StartedTask{{409, "database: another task is running on it; wait for it to end"}, {}};
  auto task = new_task(model::TaskKind::restore, id, db.name);
  if (!task_id.empty()) task.id = task_id;
  task.backup_id = backup_id;
  // The database is in maintenance until the restore ends: no failover meanwhile.
  db.maintenance = task.id;
  std::vector<store::Compare> compares{
      store::Compare::mod_revision_is(keys::database(id), dkv->mod_revision),
      store::Compare::present(keys::backup(backup_id))};
  std::vector<store::Operation> ops{store::Operation::put(keys::database(id), model::dump(db))};
  co_return co_await start_task(c, task, compares, ops, idem);
}

namespace tasks {

http::Response list(Context& c, const Request& r) {
  std::string filter;
  if (auto it = r.query.find("database"); it != r.query.end())
    filter = resolve(c, r, it->second).empty() ? it->second : resolve(c, r, it->second);
  json out = json::array();
  for (auto* kv : c.state.under(keys::kTasks)) {
    auto t = model::parse<model::Task>(kv->value);
    if (!filter.empty() && t.database_id != filter) continue;
    if (!shown(r, t.project)) continue;
    out.push_back(task_view(t, kv->mod_revision));
  }
  std::sort(out.begin(), out.end(),
            [](const json& a, const json& b) { return a["created_at"] > b["created_at"]; });
  return reply(200, out);
}

Reply get(Context& c, const Request& r, const TaskId& task) {
  const std::string& id = task.value;
  auto* kv = c.state.find(keys::task(id));
  if (!kv || !shown(r, model::parse<model::Task>(kv->value).project))
    co_return error(404, "task: no task with id '" + id + "'");
  // Long poll: ?wait=SECONDS answers once the task changes past ?revision (or ends).
  if (auto w = r.query.find("wait"); w != r.query.end()) {
    int seconds = std::clamp(std::atoi(w->second.c_str()), 0, 60);
    int64_t seen = 0;
    if (auto rev = r.query.find("revision"); rev != r.query.end())
      seen = std::atoll(rev->second.c_str());
    co_await c.state.wait_for(
        [&] {
          auto* now = c.state.find(keys::task(id));
          if (!now) return true;
          if (seen > 0) return now->mod_revision > seen;
          return model::task_finished(model::parse<model::Task>(now->value).state);
        },
        std::chrono::seconds(seconds));
    kv = c.state.find(keys::task(id));
    if (!kv) co_return error(404, "task: no task with id '" + id + "'");
  }
  co_return reply(200, task_view(model::parse<model::Task>(kv->value), kv->mod_revision));
}

Reply cancel(Context& c, const Request& r, const TaskId& task) {
  const std::string& id = task.value;
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto* kv = c.state.find(keys::task(id));
    if (!kv) co_return error(404, "task: no task with id '" + id + "'");
    auto t = model::parse<model::Task>(kv->value);
    if (!shown(r, t.project)) co_return error(404, "task: no task with id '" + id + "'");
    if (model::task_finished(t.state))
      co_return error(409, "task: it has ended already (" + model::to_string(t.state) + ")");
    std::vector<store::Compare> compares{
        store::Compare::mod_revision_is(kv->key, kv->mod_revision)};
    std::vector<store::Operation> ops;
    if (t.state == model::TaskState::pending) {
      // Not started: it ends here, and so does its database's maintenance.
      t.state = model::TaskState::cancelled;
      t.finished_at = model::now_rfc3339();
      t.log.push_back(t.finished_at + " cancelled before it started");
      if (auto* dkv = c.state.find(keys::database(t.database_id))) {
        auto d = model::parse<model::Database>(dkv->value);
        if (d.maintenance == id) {
          d.maintenance.clear();
          compares.push_back(store::Compare::mod_revision_is(dkv->key, dkv->mod_revision));
          ops.push_back(store::Operation::put(dkv->key, model::dump(d)));
        }
      }
    } else {
      t.cancel_requested = true;  // its worker stops at the next step
      t.log.push_back(model::now_rfc3339() + " cancel requested");
    }
    ops.push_back(store::Operation::put(kv->key, model::dump(t)));
    auto result = co_await c.store.txn(compares, ops);
    if (result.succeeded) {
      co_await c.state.wait_revision(result.revision, 5s);
      co_return reply(200, task_view(t, result.revision));
    }
    co_await c.state.wait_revision(result.revision, 2s);
  }
  co_return error(409, "task: changed meanwhile; try again");
}

}  // namespace tasks
}  // namespace berth::api
