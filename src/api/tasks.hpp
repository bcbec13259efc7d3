// Starting tasks (backups and restores the leader dispatches), shared by the handlers that
// start them: the task record goes in one transaction with what the caller guards or changes.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/context.hpp"
#include "api/idempotency.hpp"
#include "api/requests.hpp"

namespace berth::api {

struct StartedTask {
  Invalid problem;      // set: nothing was started
  nlohmann::json task;  // the task as GET /v1/tasks/{id} shows it
};

// Whether a task that has not ended works on the database.
bool task_running_for(const Context& c, const std::string& database_id);

// A task of kind on the database, with a fresh id, not written yet.
model::Task new_task(model::TaskKind kind, const std::string& database_id,
                     const std::string& database_name);

// The task an earlier request with this idempotency key started (or the 422/409 of a key
// reused for another request, or of a task since pruned); nullopt: none, go on.
std::optional<StartedTask> replayed_task(const Context& c, const Idempotency& idem);

// Writes a new task, with compares and ops in the same transaction (and, with a key, the
// record of it). A task of the same id that exists already is answered as started.
boost::asio::awaitable<StartedTask> start_task(Context& c, model::Task task,
                                               std::vector<store::Compare> compares,
                                               std::vector<store::Operation> ops,
                                               const Idempotency& idem);

// A restore of backup_id into the existing database id, which stays in maintenance until the
// restore ends. task_id: the id to give the task (one an earlier request planned), else new.
// (No default arguments on coroutines: g++ 12 destroys such a temporary twice.)
boost::asio::awaitable<StartedTask> start_restore(Context& c, const std::string& id,
                                                  const std::string& backup_id,
                                                  const Idempotency& idem,
                                                  const std::string& task_id);

// Whether version a is newer than b ("7.0.15" against "7.0.9"; numbers compared in order).
bool newer_version(const std::string& a, const std::string& b);

// Whether the backup's data fits a database of the engine with memory_mb, and was written by
// a version of the engine no newer than ours; else the 409 (422 for another engine).
Invalid restore_fits(const model::Backup& backup, const std::string& engine,
                     const std::string& database_name, int64_t memory_mb);

// A task as the API shows it: the record and the revision to follow it from.
nlohmann::json task_view(const model::Task& t, int64_t revision);

}  // namespace berth::api
