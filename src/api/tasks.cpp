// The API of tasks and backups: start a backup or a restore (a task the leader dispatches),
// follow tasks, and the backup catalog with its data.
#include <algorithm>

#include "api/api.hpp"
#include "api/respond.hpp"
#include "backup/object_store.hpp"
#include "engines/engine.hpp"
#include "model/model.hpp"
#include "util/encoding.hpp"
#include "util/log.hpp"

namespace berth::api {

namespace asio = boost::asio;
namespace keys = model::keys;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

json task_view(const model::Task& t, int64_t revision) {
  json j = t;
  j["revision"] = revision;
  return j;
}

}  // namespace

bool Api::task_running_for(const std::string& database_id) const {
  for (auto* kv : state_.under(keys::kTasks)) {
    auto t = model::parse<model::Task>(kv->value);
    if (t.database_id == database_id && !model::task_finished(t.state)) return true;
  }
  return false;
}

asio::awaitable<http::Response> Api::start_task(model::Task task,
                                                std::vector<store::Compare> compares,
                                                std::vector<store::Operation> ops) {
  task.created_at = model::now_rfc3339();
  task.log.push_back(task.created_at + " created");
  compares.push_back(store::Compare::absent(keys::task(task.id)));
  ops.push_back(store::Operation::put(keys::task(task.id), model::dump(task)));
  auto result = co_await store_.txn(compares, ops);
  if (!result.succeeded) co_return error(409, "database: changed meanwhile; try again");
  co_await state_.wait_revision(result.revision, 5s);
  util::log("server: task {} ({} of {}) created", task.id, model::name(task.kind),
            task.database_name);
  co_return reply(202, task_view(task, result.revision));
}

asio::awaitable<http::Response> Api::start_backup(const std::string& ref,
                                                  const http::ServerRequest& request) {
  std::string id = resolve(ref);
  if (id.empty()) co_return error(404, "database: no database named or with id '" + ref + "'");
  bool verify = false;
  if (!request.body.empty()) {
    http::Response failure;
    auto parsed = parse_body(request, &failure);
    if (!parsed) co_return failure;
    if (parsed->contains("verify")) {
      if (!(*parsed)["verify"].is_boolean()) co_return error(422, "verify: must be true or false");
      verify = (*parsed)["verify"];
    }
  }
  auto db = model::parse<model::Database>(state_.find(keys::database(id))->value);
  if (!engines::find_engine(db.engine)->capabilities().persistent)
    co_return error(422, "engine: " + db.engine + " keeps no data to back up");
  if (task_running_for(id))
    co_return error(409, "database: another task is running on it; wait for it to end");
  model::Task task;
  task.id = "t-" + util::random_hex(6);
  task.kind = model::TaskKind::backup;
  task.database_id = id;
  task.database_name = db.name;
  task.verify = verify;
  co_return co_await start_task(task, {}, {});
}

asio::awaitable<http::Response> Api::start_restore(const std::string& ref,
                                                   const http::ServerRequest& request) {
  std::string id = resolve(ref);
  if (id.empty()) co_return error(404, "database: no database named or with id '" + ref + "'");
  http::Response failure;
  auto parsed = parse_body(request, &failure);
  if (!parsed) co_return failure;
  if (!parsed->is_object() || !parsed->contains("backup") || !(*parsed)["backup"].is_string())
    co_return error(422, "backup: required (a backup id)");
  std::string backup_id = (*parsed)["backup"];
  auto* bkv = state_.find(keys::backup(backup_id));
  if (!bkv) co_return error(404, "backup: no backup with id '" + backup_id + "'");
  auto b = model::parse<model::Backup>(bkv->value);
  auto* dkv = state_.find(keys::database(id));
  auto db = model::parse<model::Database>(dkv->value);
  auto* engine = engines::find_engine(db.engine);
  if (b.engine != db.engine)
    co_return error(
        422, "backup: a " + b.engine + " backup cannot go into a " + db.engine + " database");
  // Checked before anything is touched: the data must fit the database's memory.
  if (b.memory_used_bytes > engine->data_memory_bytes(db.memory_mb))
    co_return error(409, "memory_mb: the backup needed " +
                             std::to_string(b.memory_used_bytes / 1024 / 1024) + " MiB; " +
                             db.name + " has room for " +
                             std::to_string(engine->data_memory_bytes(db.memory_mb) / 1024 / 1024) +
                             " MiB (resize it first)");
  if (task_running_for(id))
    co_return error(409, "database: another task is running on it; wait for it to end");
  model::Task task;
  task.id = "t-" + util::random_hex(6);
  task.kind = model::TaskKind::restore;
  task.database_id = id;
  task.database_name = db.name;
  task.backup_id = backup_id;
  // The database is in maintenance until the restore ends: no failover meanwhile.
  db.maintenance = task.id;
  std::vector<store::Compare> compares{
      store::Compare::mod_revision_is(keys::database(id), dkv->mod_revision),
      store::Compare::present(keys::backup(backup_id))};
  std::vector<store::Operation> ops{store::Operation::put(keys::database(id), model::dump(db))};
  co_return co_await start_task(task, compares, ops);
}

asio::awaitable<http::Response> Api::restore_to_new(const std::string& backup_id,
                                                    const http::ServerRequest& request) {
  auto* bkv = state_.find(keys::backup(backup_id));
  if (!bkv) co_return error(404, "backup: no backup with id '" + backup_id + "'");
  auto b = model::parse<model::Backup>(bkv->value);
  http::Response failure;
  auto parsed = parse_body(request, &failure);
  if (!parsed) co_return failure;
  if (!parsed->is_object() || !parsed->contains("to") || !(*parsed)["to"].is_string())
    co_return error(422, "to: required (the new database's name)");
  // The new database: the backup's engine, at least the memory the original had.
  json create = {{"name", (*parsed)["to"]},
                 {"engine", b.engine},
                 {"memory_mb", parsed->value("memory_mb", std::max<int64_t>(b.memory_mb, 64))}};
  if (parsed->contains("replicas")) create["replicas"] = (*parsed)["replicas"];
  http::ServerRequest inner;
  inner.method = "POST";
  inner.path = "/v1/databases";
  inner.body = create.dump();
  auto created = co_await create_database(inner);
  if (created.status != 201) co_return created;
  json body = {{"backup", backup_id}};
  http::ServerRequest restore;
  restore.method = "POST";
  restore.body = body.dump();
  auto started = co_await start_restore(create["name"].get<std::string>(), restore);
  if (started.status != 202) co_return started;
  // The new database's password is shown here, once, as at any creation.
  auto task = json::parse(started.body);
  task["database"] = json::parse(created.body);
  co_return reply(202, task);
}

http::Response Api::list_tasks(const http::ServerRequest& request) const {
  std::string filter;
  if (auto it = request.query.find("database"); it != request.query.end())
    filter = resolve(it->second).empty() ? it->second : resolve(it->second);
  json out = json::array();
  for (auto* kv : state_.under(keys::kTasks)) {
    auto t = model::parse<model::Task>(kv->value);
    if (!filter.empty() && t.database_id != filter) continue;
    out.push_back(task_view(t, kv->mod_revision));
  }
  std::sort(out.begin(), out.end(),
            [](const json& a, const json& b) { return a["created_at"] > b["created_at"]; });
  return reply(200, out);
}

asio::awaitable<http::Response> Api::get_task(const std::string& id,
                                              const http::ServerRequest& request) {
  auto* kv = state_.find(keys::task(id));
  if (!kv) co_return error(404, "task: no task with id '" + id + "'");
  // Long poll: ?wait=SECONDS answers once the task changes past ?revision (or ends).
  if (auto w = request.query.find("wait"); w != request.query.end()) {
    int seconds = std::clamp(std::atoi(w->second.c_str()), 0, 60);
    int64_t seen = 0;
    if (auto r = request.query.find("revision"); r != request.query.end())
      seen = std::atoll(r->second.c_str());
    co_await state_.wait_for(
        [&] {
          auto* now = state_.find(keys::task(id));
          if (!now) return true;
          if (seen > 0) return now->mod_revision > seen;
          return model::task_finished(model::parse<model::Task>(now->value).state);
        },
        std::chrono::seconds(seconds));
    kv = state_.find(keys::task(id));
    if (!kv) co_return error(404, "task: no task with id '" + id + "'");
  }
  co_return reply(200, task_view(model::parse<model::Task>(kv->value), kv->mod_revision));
}

asio::awaitable<http::Response> Api::cancel_task(const std::string& id) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto* kv = state_.find(keys::task(id));
    if (!kv) co_return error(404, "task: no task with id '" + id + "'");
    auto t = model::parse<model::Task>(kv->value);
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
      if (auto* dkv = state_.find(keys::database(t.database_id))) {
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
    auto result = co_await store_.txn(compares, ops);
    if (result.succeeded) {
      co_await state_.wait_revision(result.revision, 5s);
      co_return reply(200, task_view(t, result.revision));
    }
    co_await state_.wait_revision(result.revision, 2s);
  }
  co_return error(409, "task: changed meanwhile; try again");
}

http::Response Api::list_backups(const http::ServerRequest& request) const {
  std::string filter;
  if (auto it = request.query.find("database"); it != request.query.end()) {
    filter = resolve(it->second);
    if (filter.empty()) filter = it->second;  // a deleted database's id still finds its backups
  }
  json out = json::array();
  for (auto* kv : state_.under(keys::kBackups)) {
    auto b = model::parse<model::Backup>(kv->value);
    if (!filter.empty() && b.database_id != filter && b.database_name != filter) continue;
    out.push_back(b);
  }
  std::sort(out.begin(), out.end(),
            [](const json& a, const json& b) { return a["created_at"] > b["created_at"]; });
  return reply(200, out);
}

http::Response Api::get_backup(const std::string& id) const {
  auto* kv = state_.find(keys::backup(id));
  if (!kv) return error(404, "backup: no backup with id '" + id + "'");
  return reply(200, json::parse(kv->value));
}

asio::awaitable<http::Response> Api::delete_backup(const std::string& id) {
  auto* kv = state_.find(keys::backup(id));
  if (!kv) co_return error(404, "backup: no backup with id '" + id + "'");
  auto b = model::parse<model::Backup>(kv->value);
  for (auto* tkv : state_.under(keys::kTasks)) {
    auto t = model::parse<model::Task>(tkv->value);
    if (t.kind == model::TaskKind::restore && t.backup_id == id && !model::task_finished(t.state))
      co_return error(409, "backup: a restore of it is running");
  }
  std::vector<store::Compare> compares{store::Compare::mod_revision_is(kv->key, kv->mod_revision)};
  std::vector<store::Operation> ops{store::Operation::erase(kv->key)};
  auto result = co_await store_.txn(compares, ops);
  if (!result.succeeded) co_return error(409, "backup: changed meanwhile; try again");
  co_await state_.wait_revision(result.revision, 5s);
  // The data goes once no other catalog entry names the same bytes.
  bool shared = false;
  for (auto* other : state_.under(keys::kBackups))
    shared |= model::parse<model::Backup>(other->value).sha256 == b.sha256;
  if (!shared) co_await options_.backups->remove(b.sha256);
  http::Response r;
  r.status = 204;
  co_return r;
}

asio::awaitable<http::Response> Api::backup_data(const std::string& id) const {
  auto* kv = state_.find(keys::backup(id));
  if (!kv) co_return error(404, "backup: no backup with id '" + id + "'");
  auto b = model::parse<model::Backup>(kv->value);
  // Streamed piece by piece: a backup of any size costs the server one piece of memory.
  std::shared_ptr<backup::ObjectReader> reader = co_await options_.backups->open(b.sha256);
  if (!reader) co_return error(410, "backup: its data is missing from the store");
  http::Response r;
  r.status = 200;
  r.source = std::make_shared<http::BodySource>();
  r.source->size = reader->size();
  r.source->next = [reader]() { return reader->read(1 << 20); };
  // A streamed backup is the engine's own file (an RDB); otherwise a tar of its files.
  r.content_type = b.file.empty() ? "application/x-tar" : "application/octet-stream";
  std::string filename = b.file.empty() ? id + ".tar" : id + "-" + b.file;
  r.headers.push_back({"Content-Disposition", "attachment; filename=\"" + filename + "\""});
  r.headers.push_back({"X-Checksum-Sha256", b.sha256});
  co_return r;
}

}  // namespace berth::api
