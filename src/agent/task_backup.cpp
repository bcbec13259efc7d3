// The agent's backups: a consistent snapshot of an instance, streamed or copied into the backup
// store (whose threads do the file work), its catalog entry written with the task's end, and an
// optional check that the engine's own code loads it.
#include <fmt/format.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <future>

#include "agent/supervisor.hpp"
#include "agent/tasks.hpp"
#include "engines/rootfs.hpp"
#include "util/encoding.hpp"
#include "util/log.hpp"

namespace berth::agent {

namespace asio = boost::asio;
namespace keys = model::keys;
using namespace std::chrono_literals;

namespace {

struct Streamed {
  int64_t size = 0;
  double first_byte_seconds = 0, seconds = 0;  // after the request: the engine's fork, the whole
};

// Streams the engine's snapshot into writer. Runs on a worker thread with the engine's socket:
// the engine hands over pieces through a callback that cannot wait, so the worker itself waits.
// Full batches go to the writer on the agent's loop (the store hashes and writes them on its own
// threads), one batch in flight while the next fills: two batches of memory at most, and a
// slow disk slows the engine's stream rather than filling memory.
asio::awaitable<Streamed> stream_to_store(const engines::Engine* engine, model::Allocation a,
                                          backup::ObjectWriter* writer,
                                          asio::any_io_executor loop) {
  constexpr size_t kBatch = 4 << 20;
  auto executor = co_await asio::this_coro::executor;
  auto started = std::chrono::steady_clock::now();
  Streamed out;
  std::string batch;
  std::future<void> in_flight;
  auto flush = [&] {
    if (in_flight.valid()) in_flight.get();
    in_flight = asio::co_spawn(loop, writer->write(std::move(batch)), asio::use_future);
    batch = std::string();
    batch.reserve(kBatch + (64 << 10));
  };
  std::function<void(std::string_view)> sink = [&](std::string_view piece) {
    if (out.size == 0)
      out.first_byte_seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    out.size += static_cast<int64_t>(piece.size());
    batch.append(piece);
    if (batch.size() >= kBatch) flush();
  };
  try {
    co_await engine->stream_backup(executor, a.ip, a.port, a.password, sink);
    if (!batch.empty()) flush();
    if (in_flight.valid()) in_flight.get();
  } catch (...) {
    if (in_flight.valid()) in_flight.wait();  // the writer must outlive its last write
    throw;
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  co_return out;
}

}  // namespace

asio::awaitable<void> TaskRunner::run_backup(const model::Task& task, const Supervisor& instance,
                                             const engines::Engine& engine) {
  auto a = instance.allocation();  // a copy: the instance may change while we wait
  std::string sha, file = engine.streamed_backup_file();
  if (!file.empty()) {
    co_await report_progress(task.id, 5,
                             "streaming a consistent snapshot out of instance " +
                                 std::to_string(a.n) + " into the store");
    auto writer = co_await options_.backups->writer();
    asio::thread_pool worker(1);
    auto stored = co_await asio::co_spawn(worker.get_executor(),
                                          stream_to_store(&engine, a, writer.get(), executor_),
                                          asio::use_awaitable);
    worker.join();
    auto started = std::chrono::steady_clock::now();
    sha = co_await writer->commit();
    stored.seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    co_await report_progress(task.id, 80,
                             fmt::format("stored {} bytes in {:.2f} s (the first after {:.2f} s)",
                                         stored.size, stored.seconds, stored.first_byte_seconds));
  } else {
    sha = co_await snapshot_and_store(task, a, engine);
  }
  auto size = co_await options_.backups->size(sha);
  if (!size) throw std::runtime_error("the stored backup vanished");
  engines::Engine::Verification verification;
  if (task.verify) {
    co_await report_progress(task.id, 85, "verifying: loading it in a scratch container");
    // A streamed backup is the engine's file as is; otherwise the object is a tar already.
    std::vector<TarSegment> data;
    if (file.empty()) {
      TarSegment whole;
      whole.object = sha;
      whole.length = *size;
      data.push_back(std::move(whole));
    } else {
      TarFile one;
      one.path = file;
      one.object = sha;
      one.length = *size;
      data = tar_of({one}, engines::kEngineUid);
    }
    verification = co_await verify_backup(engine, a, std::move(data), task.id);
  }

  model::Backup b;
  b.file = file;
  b.id = "b-" + util::random_hex(6);
  b.database_id = task.database_id;
  b.database_name = task.database_name;
  b.project = task.project;
  b.engine = a.engine;
  b.version = engine.version();
  b.created_at = model::now_rfc3339();
  b.sha256 = sha;
  b.size_bytes = *size;
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

asio::awaitable<std::string> TaskRunner::snapshot_and_store(const model::Task& task,
                                                            const model::Allocation& a,
                                                            const engines::Engine& engine) {
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
  co_return co_await options_.backups->put(std::move(archive));
}

asio::awaitable<engines::Engine::Verification> TaskRunner::verify_backup(
    const engines::Engine& engine, model::Allocation a, std::vector<TarSegment> data,
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
    spec.user = engines::kEngineUser;  // the backup's bytes are not trusted
    spec.restart_policy = "no";
    spec.labels["berth.verify"] = task_id;         // no host label: the reconciler leaves it alone
    co_await docker_.container_remove(spec.name);  // one left by an earlier attempt
    id = co_await docker_.container_create(spec);
    RestoreData backup{options_.backups, std::move(data), ""};
    co_await backup.put(docker_, id, "/tmp");
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

}  // namespace berth::agent
