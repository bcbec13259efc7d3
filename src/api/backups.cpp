// Backups: start one (a task the leader dispatches), restore one into a database or into a new
// one, and the catalog with its data.
#include <algorithm>

#include "api/database_service.hpp"
#include "api/handlers.hpp"
#include "api/respond.hpp"
#include "api/scope.hpp"
#include "api/tasks.hpp"
#include "backup/object_store.hpp"
#include "engines/engine.hpp"
#include "util/encoding.hpp"

namespace berth::api::backups {

namespace asio = boost::asio;
namespace keys = model::keys;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

http::Response answer(const StartedTask& started) {
  if (started.problem) return error(started.problem.status, started.problem.message);
  return reply(202, started.task);
}

}  // namespace

Reply start(Context& c, const Request& r, const DatabaseRef& ref) {
  Idempotency idem;
  if (auto bad = read_idempotency(r, &idem)) co_return error(bad.status, bad.message);
  if (auto replayed = replayed_task(c, idem)) co_return answer(*replayed);
  std::string id = resolve(c, r, ref.value);
  if (id.empty()) co_return error(404, no_database(ref.value));
  bool verify = false;
  if (!r.body.empty()) {
    http::Response failure;
    auto parsed = parse_body(r, &failure);
    if (!parsed) co_return failure;
    if (parsed->contains("verify")) {
      if (!(*parsed)["verify"].is_boolean()) co_return error(422, "verify: must be true or false");
      verify = (*parsed)["verify"];
    }
  }
  auto db = model::parse<model::Database>(c.state.find(keys::database(id))->value);
  auto caps = berth::engines::find_engine(db.engine)->capabilities();
  if (!caps.persistent) co_return error(422, "engine: " + db.engine + " keeps no data to back up");
  if (!caps.backups)
    co_return error(422, "engine: berth cannot back up " + db.engine + " databases yet");
  if (task_running_for(c, id))
    co_return error(409, "database: another task is running on it; wait for it to end");
  auto task = new_task(model::TaskKind::backup, id, db.name);
  task.verify = verify;
  // Named, not {}: g++ 12 destroys a temporary of a co_await expression twice.
  std::vector<store::Compare> no_compares;
  std::vector<store::Operation> no_ops;
  co_return answer(co_await start_task(c, task, no_compares, no_ops, idem));
}

namespace {

// The backup of that id, when the caller may see it: another project's does not exist for it.
const store::KeyValue* shown_backup(const Context& c, const Request& r, const std::string& id) {
  auto* kv = c.state.find(keys::backup(id));
  if (!kv || !shown(r, model::parse<model::Backup>(kv->value).project)) return nullptr;
  return kv;
}

std::string no_backup(const std::string& id) {
  return "backup: no backup with id '" + id + "'";
}

}  // namespace

Reply restore(Context& c, const Request& r, const DatabaseRef& ref) {
  Idempotency idem;
  if (auto bad = read_idempotency(r, &idem)) co_return error(bad.status, bad.message);
  if (auto replayed = replayed_task(c, idem)) co_return answer(*replayed);
  std::string id = resolve(c, r, ref.value);
  if (id.empty()) co_return error(404, no_database(ref.value));
  http::Response failure;
  auto parsed = parse_body(r, &failure);
  if (!parsed) co_return failure;
  if (!parsed->is_object() || !parsed->contains("backup") || !(*parsed)["backup"].is_string())
    co_return error(422, "backup: required (a backup id)");
  std::string backup_id = (*parsed)["backup"].get<std::string>();
  if (!shown_backup(c, r, backup_id)) co_return error(404, no_backup(backup_id));
  std::string new_task_id;
  co_return answer(co_await start_restore(c, id, backup_id, idem, new_task_id));
}

Reply restore_to_new(Context& c, const Request& r, const BackupId& backup) {
  Idempotency idem;
  if (auto bad = read_idempotency(r, &idem)) co_return error(bad.status, bad.message);
  auto* bkv = shown_backup(c, r, backup.value);
  if (!bkv) co_return error(404, no_backup(backup.value));
  auto b = model::parse<model::Backup>(bkv->value);
  http::Response failure;
  auto parsed = parse_body(r, &failure);
  if (!parsed) co_return failure;
  CreateRequest request;
  if (auto bad = parse_restore_to_new(*parsed, b.engine, b.memory_mb, &request))
    co_return error(bad.status, bad.message);
  int status = 0;
  std::string problem;
  if (parsed->contains("project") && !(*parsed)["project"].is_string())
    co_return error(422, "project: must be a project name");
  request.project =
      project_for_create(c, r, parsed->value("project", b.project), &status, &problem);
  if (request.project.empty()) co_return error(status, problem);
  // Bad input changes nothing: the data must fit before the database is made.
  if (auto bad = restore_fits(b, b.engine, request.name, request.memory_mb))
    co_return error(bad.status, bad.message);
  bool wait = r.query.count("wait") == 0 || r.query.at("wait") != "false";
  // With a key, the create records the restore's task id too: a retry after the create but
  // before the restore started starts that same task.
  std::string task_id = new_task(model::TaskKind::restore, "", "").id;
  auto created = co_await DatabaseService(c).create(request, wait, idem, task_id);
  if (created.problem) co_return error(created.problem.status, created.problem.message);
  if (!created.task_id.empty()) task_id = created.task_id;
  // Made, running or not yet: the restore waits as a pending task until an instance is
  // healthy (the dispatcher's rule), so it starts either way.
  Idempotency recorded_by_create;  // named, not {}: see start()
  auto started = co_await start_restore(c, created.id, backup.value, recorded_by_create, task_id);
  if (started.problem) co_return error(started.problem.status, started.problem.message);
  // The new database's password is shown here, once, as at any creation.
  started.task["database"] = created.view;
  co_return reply(202, started.task);
}

http::Response list(Context& c, const Request& r) {
  std::string filter;
  if (auto it = r.query.find("database"); it != r.query.end()) {
    filter = resolve(c, r, it->second);
    if (filter.empty()) filter = it->second;  // a deleted database's id still finds its backups
  }
  json out = json::array();
  for (auto* kv : c.state.under(keys::kBackups)) {
    auto b = model::parse<model::Backup>(kv->value);
    if (!filter.empty() && b.database_id != filter && b.database_name != filter) continue;
    if (!shown(r, b.project)) continue;
    out.push_back(b);
  }
  std::sort(out.begin(), out.end(),
            [](const json& a, const json& b) { return a["created_at"] > b["created_at"]; });
  return reply(200, out);
}

http::Response get(Context& c, const Request& r, const BackupId& backup) {
  auto* kv = shown_backup(c, r, backup.value);
  if (!kv) return error(404, no_backup(backup.value));
  return reply(200, json::parse(kv->value));
}

Reply remove(Context& c, const Request& r, const BackupId& backup) {
  const std::string& id = backup.value;
  auto* kv = shown_backup(c, r, id);
  if (!kv) co_return error(404, no_backup(id));
  auto b = model::parse<model::Backup>(kv->value);
  for (auto* tkv : c.state.under(keys::kTasks)) {
    auto t = model::parse<model::Task>(tkv->value);
    if (t.kind == model::TaskKind::restore && t.backup_id == id && !model::task_finished(t.state))
      co_return error(409, "backup: a restore of it is running");
  }
  std::vector<store::Compare> compares{store::Compare::mod_revision_is(kv->key, kv->mod_revision)};
  std::vector<store::Operation> ops{store::Operation::erase(kv->key)};
  auto result = co_await c.store.txn(compares, ops);
  if (!result.succeeded) co_return error(409, "backup: changed meanwhile; try again");
  co_await c.state.wait_revision(result.revision, 5s);
  // The data goes once no other catalog entry names the same bytes.
  bool shared = false;
  for (auto* other : c.state.under(keys::kBackups))
    shared |= model::parse<model::Backup>(other->value).sha256 == b.sha256;
  if (!shared) co_await c.options.backups->remove(b.sha256);
  http::Response response;
  response.status = 204;
  co_return response;
}

Reply data(Context& c, const Request& request, const BackupId& backup) {
  const std::string id = backup.value;
  auto* kv = shown_backup(c, request, id);
  if (!kv) co_return error(404, no_backup(id));
  auto b = model::parse<model::Backup>(kv->value);
  // Streamed piece by piece: a backup of any size costs the server one piece of memory.
  std::shared_ptr<backup::ObjectReader> reader = co_await c.options.backups->open(b.sha256);
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

}  // namespace berth::api::backups
