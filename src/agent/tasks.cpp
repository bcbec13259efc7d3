// The agent's side of tasks: claim what the leader dispatched to this host, run it, and end it
// in one transaction with its result, so a worker that dies leaves nothing half-recorded.
#include "agent/tasks.hpp"

#include <fmt/format.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <filesystem>

#include "agent/supervisor.hpp"
#include "backup/store.hpp"
#include "engines/rootfs.hpp"
#include "util/encoding.hpp"
#include "util/log.hpp"

namespace berth::agent {

namespace asio = boost::asio;
namespace keys = model::keys;
using namespace std::chrono_literals;

TaskRunner::TaskRunner(asio::any_io_executor executor, store::Store& store, docker::Docker& docker,
                       const Options& options, TaskHost& host)
    : executor_(executor),
      store_(store),
      docker_(docker),
      options_(options),
      host_(host),
      tasks_(executor, store, keys::kTasks),
      scope_(executor) {}

void TaskRunner::start() {
  scope_.spawn(tasks_.run(), "agent " + options_.name + ": tasks");
  scope_.spawn(task_loop(), "agent " + options_.name + ": task loop");
}

asio::awaitable<void> TaskRunner::stop() {
  co_await scope_.stop();
}

namespace {
// A named coroutine, not a capturing lambda: g++ 12 mishandles lambda coroutines co_spawned
// from another coroutine.
asio::awaitable<std::string> put_in_store(std::string dir,
                                          std::shared_ptr<const std::string> data) {
  co_return backup::open_directory_store(dir)->put(*data);
}

struct Streamed {
  std::string sha256;
  int64_t size = 0;
  double first_byte_seconds = 0, seconds = 0;  // after the request: the engine's fork, the whole
};

// Streams the engine's snapshot into the store, hashing as it writes: runs on a worker thread
// (file writes block), its socket on that thread's executor.
asio::awaitable<Streamed> stream_to_store(const engines::Engine* engine, model::Allocation a,
                                          std::string dir) {
  auto executor = co_await asio::this_coro::executor;
  auto writer = backup::open_directory_store(dir)->writer();
  auto started = std::chrono::steady_clock::now();
  Streamed out;
  std::function<void(std::string_view)> sink = [&](std::string_view piece) {
    if (writer->size() == 0)
      out.first_byte_seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    writer->write(piece);
  };
  co_await engine->stream_backup(executor, a.ip, a.port, a.password, sink);
  out.sha256 = writer->commit();
  out.size = writer->size();
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  co_return out;
}
}  // namespace

asio::awaitable<void> TaskRunner::task_loop() {
  for (;;) {
    co_await tasks_.wait_change(2s);
    if (!tasks_.loaded() || host_.lease() == 0 || host_.fenced()) continue;
    for (auto* kv : tasks_.under(keys::kTasks)) {
      auto task = model::parse<model::Task>(kv->value);
      if (task.state != model::TaskState::pending || task.worker != options_.name ||
          running_tasks_.count(task.id))
        continue;
      // Claim it: the task runs here, under this agent's lease.
      task.state = model::TaskState::running;
      task.attempts += 1;
      task.started_at = model::now_rfc3339();
      task.log.push_back(task.started_at + " running on " + options_.name + " (attempt " +
                         std::to_string(task.attempts) + ")");
      std::vector<store::Compare> unchanged{
          store::Compare::mod_revision_is(kv->key, kv->mod_revision),
          store::Compare::absent(keys::task_claim(task.id))};
      std::vector<store::Operation> claim{
          store::Operation::put(kv->key, model::dump(task)),
          store::Operation::put(keys::task_claim(task.id), options_.name, host_.lease())};
      try {
        auto result = co_await store_.txn(unchanged, claim);
        if (!result.succeeded) continue;
        co_await tasks_.wait_revision(result.revision, 2s);
      } catch (const std::exception& e) {
        util::log("agent {}: claiming task {}: {}", options_.name, task.id, e.what());
        continue;
      }
      running_tasks_.insert(task.id);
      scope_.spawn(run_task(task.id), "agent " + options_.name + ": task " + task.id);
    }
  }
}

asio::awaitable<bool> TaskRunner::modify_task(const std::string& id,
                                              std::function<void(model::Task&)> modify,
                                              std::vector<store::Operation> also) {
  for (int attempt = 0; attempt < 10; ++attempt) {
    auto* kv = tasks_.find(keys::task(id));
    if (!kv) co_return false;
    auto task = model::parse<model::Task>(kv->value);
    modify(task);
    std::vector<store::Compare> ours{store::Compare::mod_revision_is(kv->key, kv->mod_revision),
                                     store::Compare::value_is(keys::task_claim(id), options_.name)};
    std::vector<store::Operation> ops{store::Operation::put(kv->key, model::dump(task))};
    ops.insert(ops.end(), also.begin(), also.end());
    auto result = co_await store_.txn(ours, ops);
    if (result.succeeded) {
      co_await tasks_.wait_revision(result.revision, 2s);
      co_return true;
    }
    // Someone else wrote the task meanwhile (a cancel request): read it again.
    auto claim = co_await store_.get(keys::task_claim(id));
    if (claim.kvs.empty() || claim.kvs[0].value != options_.name) co_return false;
    co_await tasks_.wait_change(200ms);
  }
  co_return false;
}

namespace {
struct Cancelled : std::runtime_error {
  Cancelled() : std::runtime_error("cancelled") {}
};
}  // namespace

asio::awaitable<void> TaskRunner::end_maintenance(const model::Task& task,
                                                  std::vector<store::Operation>& ops) {
  auto db = co_await store_.get(keys::database(task.database_id));
  if (db.kvs.empty()) co_return;
  auto d = model::parse<model::Database>(db.kvs[0].value);
  if (d.maintenance != task.id) co_return;
  d.maintenance.clear();
  ops.push_back(store::Operation::put(keys::database(d.id), model::dump(d)));
}

asio::awaitable<void> TaskRunner::report_progress(std::string id, int percent, std::string line) {
  bool cancel = false;
  bool ours = co_await modify_task(id, [&](model::Task& t) {
    cancel = t.cancel_requested;
    t.progress = percent;
    t.log.push_back(model::now_rfc3339() + " " + (cancel ? "stopping: cancel requested" : line));
  });
  if (!ours) throw std::runtime_error("the task is no longer ours");
  if (cancel) throw Cancelled();  // between steps, before anything is recorded
}

asio::awaitable<void> TaskRunner::run_task(std::string id) {
  std::string failure;
  bool cancelled = false;
  try {
    auto task = model::parse<model::Task>(tasks_.find(keys::task(id))->value);
    auto owner = keys::instance_owner(task.database_id, task.instance);
    auto* instance = host_.instance(owner);
    auto* engine = instance ? options_.find_engine(instance->allocation().engine) : nullptr;
    if (!engine) throw std::runtime_error("instance " + owner + " does not run on this host");
    if (task.kind == model::TaskKind::backup)
      co_await run_backup(task, *instance, *engine);
    else if (task.kind == model::TaskKind::restore)
      co_await run_restore(task, owner, *engine);
    else
      throw std::runtime_error("unknown task kind " + model::to_string(task.kind));
  } catch (const Cancelled& e) {
    failure = e.what();
    cancelled = true;
  } catch (const std::exception& e) {
    failure = e.what();
  }
  if (!failure.empty()) {
    util::log("agent {}: task {} failed: {}", options_.name, id, failure);
    std::vector<store::Operation> also{store::Operation::erase(keys::task_claim(id))};
    try {
      // A failed restore ends its database's maintenance with it.
      if (auto* kv = tasks_.find(keys::task(id)))
        co_await end_maintenance(model::parse<model::Task>(kv->value), also);
      co_await modify_task(
          id,
          [&](model::Task& t) {
            t.state = cancelled ? model::TaskState::cancelled : model::TaskState::failed;
            t.error = cancelled ? "" : failure;
            t.finished_at = model::now_rfc3339();
            t.log.push_back(t.finished_at + " " + model::to_string(t.state) +
                            (cancelled ? "" : ": " + failure));
          },
          also);
    } catch (const std::exception& e) {
      util::log("agent {}: recording the failure of task {}: {}", options_.name, id, e.what());
    }
  }
  running_tasks_.erase(id);
}

asio::awaitable<void> TaskRunner::run_backup(const model::Task& task, const Supervisor& instance,
                                             const engines::Engine& engine) {
  auto a = instance.allocation();  // a copy: the instance may change while we wait
  std::string sha, file = engine.streamed_backup_file();
  std::shared_ptr<const std::string> data;
  if (!file.empty()) {
    co_await report_progress(task.id, 5,
                             "streaming a consistent snapshot out of instance " +
                                 std::to_string(a.n) + " into the store");
    asio::thread_pool pool(1);
    auto stored = co_await asio::co_spawn(
        pool.get_executor(), stream_to_store(&engine, a, options_.backup_dir), asio::use_awaitable);
    pool.join();
    sha = stored.sha256;
    co_await report_progress(task.id, 80,
                             fmt::format("stored {} bytes in {:.2f} s (the first after {:.2f} s)",
                                         stored.size, stored.seconds, stored.first_byte_seconds));
    if (task.verify) {
      auto content = backup::open_directory_store(options_.backup_dir)->get(sha);
      if (!content) throw std::runtime_error("the stored backup vanished");
      std::vector<engines::RootfsFile> one{{file, std::move(*content), 0644}};
      data = std::make_shared<const std::string>(engines::make_tar(one));
    }
  } else {
    sha = co_await snapshot_and_store(task, a, engine, data);
  }
  engines::Engine::Verification verification;
  if (task.verify) {
    co_await report_progress(task.id, 85, "verifying: loading it in a scratch container");
    verification = co_await verify_backup(engine, a, data, task.id);
  }
  auto size = static_cast<int64_t>(std::filesystem::file_size(options_.backup_dir + "/" + sha));

  model::Backup b;
  b.file = file;
  b.id = "b-" + util::random_hex(6);
  b.database_id = task.database_id;
  b.database_name = task.database_name;
  b.engine = a.engine;
  b.version = engine.version();
  b.created_at = model::now_rfc3339();
  b.sha256 = sha;
  b.size_bytes = size;
  b.memory_used_bytes = instance.status().memory_used_bytes;
  b.memory_mb = a.memory_mb;
  b.source_instance = a.n;
  b.source_role = a.role;
  b.task_id = task.id;
  b.scheduled = task.scheduled;
  if (task.verify) {
    b.verified = verification.ok ? model::Verification::verified : model::Verification::failed;
    b.verify_message = verification.message;
  }
  // The catalog entry and the task's end are one transaction: no backup without its task done.
  std::vector<store::Operation> also{store::Operation::put(keys::backup(b.id), model::dump(b)),
                                     store::Operation::erase(keys::task_claim(task.id))};
  bool done = co_await modify_task(
      task.id,
      [&](model::Task& t) {
        t.state = model::TaskState::done;
        t.progress = 100;
        t.backup_id = b.id;
        t.finished_at = model::now_rfc3339();
        t.log.push_back(t.finished_at + " backup " + b.id + " stored (" +
                        std::to_string(b.size_bytes) + " bytes, sha256 " + sha.substr(0, 12) + ")");
      },
      also);
  if (!done) throw std::runtime_error("the task is no longer ours");
  util::log("agent {}: backup {} of {} done ({} bytes)", options_.name, b.id, task.database_name,
            b.size_bytes);
}

asio::awaitable<std::string> TaskRunner::snapshot_and_store(
    const model::Task& task, const model::Allocation& a, const engines::Engine& engine,
    std::shared_ptr<const std::string>& data) {
  co_await report_progress(task.id, 5,
                           "taking a consistent snapshot on instance " + std::to_string(a.n));
  auto paths = co_await engine.snapshot_for_backup(executor_, a.ip, a.port, a.password);
  if (paths.empty()) throw std::runtime_error(a.engine + " keeps no data to back up");
  co_await report_progress(task.id, 40, "copying the snapshot out of the container");
  // The backup is a tar of the snapshot's files: Docker's own archive when there is one file,
  // so big datasets are not copied again.
  std::string archive;
  std::vector<engines::RootfsFile> files;
  for (auto& path : paths) {
    auto tar = co_await docker_.archive_get(engines::container_name(a), path);
    if (!tar) throw std::runtime_error("the snapshot file " + path + " is missing");
    if (paths.size() == 1) {
      archive = std::move(*tar);
      break;
    }
    for (auto& [name, content] : engines::read_tar(*tar)) files.push_back({name, content, 0644});
  }
  if (paths.size() > 1) archive = engines::make_tar(files);
  co_await report_progress(task.id, 70, "storing " + std::to_string(archive.size()) + " bytes");
  // Writing a big file blocks: a worker thread does it, not the event loop.
  data = std::make_shared<const std::string>(std::move(archive));
  asio::thread_pool pool(1);
  std::string sha = co_await asio::co_spawn(
      pool.get_executor(), put_in_store(options_.backup_dir, data), asio::use_awaitable);
  pool.join();
  co_return sha;
}

asio::awaitable<void> TaskRunner::reseed_replicas(const model::Task& task) {
  // Replicas join the restored primary from scratch: their agents see a new data generation.
  // Each allocation is written only if unchanged since read; a race reads them again.
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto all = co_await store_.get_prefix(keys::kAllocations);
    std::vector<store::Compare> unchanged;
    std::vector<store::Operation> puts;
    for (auto& kv : all.kvs) {
      auto replica = model::parse<model::Allocation>(kv.value);
      if (replica.database_id != task.database_id || replica.role != model::Role::replica ||
          replica.data_generation == task.id)
        continue;
      replica.data_generation = task.id;
      unchanged.push_back(store::Compare::mod_revision_is(kv.key, kv.mod_revision));
      puts.push_back(store::Operation::put(kv.key, model::dump(replica)));
    }
    if (puts.empty() || (co_await store_.txn(unchanged, puts)).succeeded) co_return;
  }
  throw std::runtime_error("the replicas kept changing: they were not re-seeded");
}

asio::awaitable<engines::Engine::Verification> TaskRunner::verify_backup(
    const engines::Engine& engine, model::Allocation a, std::shared_ptr<const std::string> data,
    std::string task_id) {
  auto command = engine.verify_command("/tmp");
  if (command.empty()) co_return engines::Engine::Verification{false, a.engine + " cannot verify"};
  std::string failure, id;
  engines::Engine::Verification result;
  try {
    co_await host_.ensure_image(a);
    docker::ContainerSpec spec;
    spec.name = "berth-verify-" + task_id;
    spec.image = a.image.empty() ? engine.image_recipe().reference() : a.image;
    spec.cmd = command;
    spec.memory_bytes = a.memory_mb * 1024 * 1024;
    spec.network = "none";
    spec.restart_policy = "no";
    spec.labels["berth.verify"] = task_id;         // no host label: the reconciler leaves it alone
    co_await docker_.container_remove(spec.name);  // one left by an earlier attempt
    id = co_await docker_.container_create(spec);
    co_await docker_.archive_put(id, "/tmp", *data);
    co_await docker_.container_start(id);
    int exit_code = co_await docker_.container_wait(id, std::chrono::seconds(600));
    result = engine.read_verification(exit_code, co_await docker_.container_logs(id));
  } catch (const std::exception& e) {
    failure = e.what();
  }
  if (!id.empty()) {
    try {
      co_await docker_.container_remove(id);
    } catch (const std::exception&) {
    }
  }
  if (!failure.empty()) result = {false, "verification could not run: " + failure};
  co_return result;
}

asio::awaitable<void> TaskRunner::run_restore(const model::Task& task, std::string owner,
                                              const engines::Engine& engine) {
  auto record = co_await store_.get(keys::backup(task.backup_id));
  if (record.kvs.empty()) throw std::runtime_error("backup " + task.backup_id + " is gone");
  auto b = model::parse<model::Backup>(record.kvs[0].value);
  co_await report_progress(task.id, 10, "reading backup " + b.id + " and checking its checksum");
  auto store = backup::open_directory_store(options_.backup_dir);
  auto data = store->get(b.sha256);
  // Checked before anything is touched.
  if (!data) throw std::runtime_error("backup data " + b.sha256 + " is missing from the store");
  if (util::sha256_hex(*data) != b.sha256)
    throw std::runtime_error("checksum mismatch: the stored data is damaged");
  // One file stored as is (a streamed backup), or a tar of the snapshot's files.
  auto files = engine.restore_files(
      b.file.empty() ? engines::read_tar(*data)
                     : std::map<std::string, std::string>{{b.file, std::move(*data)}});
  auto* instance = host_.instance(owner);
  if (!instance) throw std::runtime_error("instance " + owner + " is not here");
  auto a = instance->allocation();
  int old_pid = instance->pid();
  co_await report_progress(task.id, 40, "replacing the data of instance " + std::to_string(a.n));
  // The next container of this instance starts from the backup, in a fresh volume.
  host_.restore_next(owner, engines::make_tar(files));
  co_await docker_.container_remove(engines::container_name(a));
  try {
    co_await docker_.volume_remove(engines::volume_name(a));
  } catch (const std::exception&) {
    // Re-created meanwhile by the reconciler, from the restored data: nothing to remove.
  }
  host_.reconcile_soon();
  // Past the point of no return: a cancel request no longer stops it.
  co_await modify_task(task.id, [](model::Task& t) {
    t.progress = 70;
    t.log.push_back(model::now_rfc3339() + " waiting for the restored instance to answer");
  });
  asio::steady_timer timer(executor_);
  auto deadline = std::chrono::steady_clock::now() + 120s;
  for (;;) {
    auto* i = host_.instance(owner);
    if (i && i->pid() != old_pid && i->pid() != 0 &&
        i->status().state == model::InstanceState::healthy &&
        i->status().role == model::Role::primary && !host_.restore_pending(owner))
      break;
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("the restored instance did not come back in 2 minutes");
    timer.expires_after(100ms);
    co_await timer.async_wait(asio::use_awaitable);
  }
  if (engine.capabilities().restore_reseeds_replicas) co_await reseed_replicas(task);
  // Done, and the database out of maintenance, in one transaction.
  std::vector<store::Operation> also{store::Operation::erase(keys::task_claim(task.id))};
  co_await end_maintenance(task, also);
  bool done = co_await modify_task(
      task.id,
      [&](model::Task& t) {
        t.state = model::TaskState::done;
        t.progress = 100;
        t.finished_at = model::now_rfc3339();
        t.log.push_back(t.finished_at + " restored backup " + b.id);
      },
      also);
  if (!done) throw std::runtime_error("the task is no longer ours");
  util::log("agent {}: restored backup {} into {}", options_.name, b.id, task.database_name);
}

}  // namespace berth::agent
