// The agent's restores: stream the stored backup into a fresh volume while the instance still
// serves its old data (checked as it is written), then replace the instance's container, and end
// the task once the restored instance answers as primary.
#include <unistd.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>

#include "agent/supervisor.hpp"
#include "agent/tasks.hpp"
#include "agent/volume_fill.hpp"
#include "backup/offload.hpp"
#include "util/log.hpp"
#include "util/tar.hpp"

namespace berth::agent {

namespace asio = boost::asio;
namespace keys = model::keys;
using namespace std::chrono_literals;

namespace {

// Stands for a stored file's content when the engine lays out its data folder: engines pass a
// backup file's content through whole, so the marker comes back where the file must go.
constexpr std::string_view kStoredMarker =
    "\x01"
    "berth-stored-file:";

// The files a restore puts in the fresh volume, each in memory or a range of the stored object.
// A tar of files is read whole first, to find them (and its checksum checked on the way).
asio::awaitable<std::vector<TarFile>> restore_layout(backup::ObjectStore& store,
                                                     const model::Backup& b,
                                                     const engines::Engine& engine) {
  std::string missing = "backup data " + b.sha256 + " is missing from the store";
  std::vector<TarMember> sources;
  if (b.file.empty()) {
    // A tar of the snapshot's files: read once, hashed and indexed as it goes.
    auto members = co_await index_stored_tar(store, b.sha256);
    if (!members) throw std::runtime_error(missing);
    sources = std::move(*members);
  } else {
    // One file stored as is (a streamed backup): its checksum is checked as it is written.
    auto size = co_await store.size(b.sha256);
    if (!size) throw std::runtime_error(missing);
    sources.push_back({b.file, 0, *size});
  }
  std::map<std::string, std::string> markers;
  std::map<std::string, const TarMember*> by_marker;
  for (size_t i = 0; i < sources.size(); ++i) {
    std::string marker = std::string(kStoredMarker) + std::to_string(i);
    markers[sources[i].name] = marker;
    by_marker[marker] = &sources[i];
  }
  std::vector<TarFile> files;
  for (auto& f : engine.restore_files(markers)) {
    if (auto it = by_marker.find(f.content); it != by_marker.end())
      files.push_back({f.path, f.mode, "", b.sha256, it->second->offset, it->second->size});
    else if (f.content.find(kStoredMarker) != std::string::npos)
      throw std::logic_error(engine.name() + " changes a backup file on restore: cannot stream it");
    else
      files.push_back({f.path, f.mode, std::move(f.content), "", 0, 0});
  }
  co_return files;
}

// The files as this host's files name them, each whole stored object to be checked as it is
// copied; nullopt when the store keeps its objects elsewhere.
asio::awaitable<std::optional<std::vector<LocalFile>>> local_files(
    backup::ObjectStore& store, const std::vector<TarFile>& files) {
  std::vector<LocalFile> out;
  for (auto& f : files) {
    LocalFile l{util::tar_relative(f.path), f.mode, f.content, "", f.offset, f.length, ""};
    if (!f.object.empty()) {
      l.source = store.local_path(f.object);
      if (l.source.empty()) co_return std::nullopt;
      auto size = co_await store.size(f.object);
      if (!size) throw std::runtime_error("backup data " + f.object + " is missing from the store");
      if (f.offset == 0 && f.length == *size) l.sha256 = f.object;
    }
    out.push_back(std::move(l));
  }
  co_return out;
}

// False when the agent may not write in the volume's folder (another user, another machine).
asio::awaitable<bool> fill_directly(std::string folder, std::vector<LocalFile> files) {
  auto started = std::chrono::steady_clock::now();
  asio::thread_pool worker(1);
  auto job = [folder, files = std::move(files)] {
    if (::access(folder.c_str(), W_OK) != 0) return false;
    // As the engine's images have their data folder: the engine's user's alone.
    if (::chown(folder.c_str(), engines::kEngineUid, engines::kEngineUid) != 0 ||
        ::chmod(folder.c_str(), 0700) != 0)
      return false;
    fill_directory(folder, files);
    return true;
  };
  bool filled = co_await backup::offload(worker, std::move(job));
  worker.join();
  if (filled)
    util::log("restore: straight into {} in {:.2f} s", folder,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  co_return filled;
}

}  // namespace

asio::awaitable<void> TaskRunner::fill_volume(const model::Allocation& a,
                                              const engines::Engine& engine,
                                              const std::string& volume,
                                              const std::vector<TarFile>& files,
                                              const std::string& task_id) {
  std::string failure, id;
  try {
    bool filled = false;
    if (auto local = co_await local_files(*options_.backups, files)) {
      co_await docker_.volume_create(volume);
      std::string folder = co_await docker_.volume_mountpoint(volume);
      if (!folder.empty()) filled = co_await fill_directly(folder, std::move(*local));
    }
    if (!filled) {
      co_await host_.ensure_image(a);
      docker::ContainerSpec spec;
      spec.name = "berth-restore-" + task_id;
      spec.image = a.image.empty() ? engine.image_recipe().reference() : a.image;
      spec.volumes[volume] = engine.data_dir();  // Docker gives the volume the image's owner
      spec.network = "none";
      spec.restart_policy = "no";
      spec.labels["berth.restore"] = task_id;  // no host label: the reconciler leaves it alone
      co_await docker_.container_remove(spec.name);  // one left by an earlier attempt
      id = co_await docker_.container_create(spec);
      RestoreData backup{options_.backups, tar_of(files, engines::kEngineUid), volume};
      co_await backup.put(docker_, id, engine.data_dir());
    }
  } catch (const std::exception& e) {
    failure = e.what();
  }
  try {
    if (!id.empty()) co_await docker_.container_remove(id);
    if (!failure.empty()) co_await docker_.volume_remove(volume);  // a part of a copy, no more
  } catch (const std::exception&) {
  }
  if (!failure.empty()) throw std::runtime_error(failure + " (the database keeps the data it had)");
}

asio::awaitable<void> TaskRunner::run_restore(const model::Task& task, std::string owner,
                                              const engines::Engine& engine) {
  auto record = co_await store_.get(keys::backup(task.backup_id));
  if (record.kvs.empty()) throw std::runtime_error("backup " + task.backup_id + " is gone");
  auto b = model::parse<model::Backup>(record.kvs[0].value);
  co_await report_progress(task.id, 10, "reading backup " + b.id);
  auto files = co_await restore_layout(*options_.backups, b, engine);
  auto* instance = host_.instance(owner);
  if (!instance) throw std::runtime_error("instance " + owner + " is not here");
  auto a = instance->allocation();
  int old_pid = instance->pid();
  std::string old_volume = co_await host_.live_volume(a);
  // A restart of the old container meanwhile keeps its data, not the volume being filled.
  host_.use_volume_next(owner, old_volume);
  auto data = std::make_shared<RestoreData>();
  data->volume = host_.fresh_volume(a);
  co_await report_progress(task.id, 20,
                           "writing backup " + b.id + " into a fresh volume, checked as it goes");
  // While the old container still serves: it stops only once the data is all there.
  co_await fill_volume(a, engine, data->volume, files, task.id);
  co_await report_progress(task.id, 40, "replacing the data of instance " + std::to_string(a.n));
  // The next container of this instance starts from the fresh volume. The data it had stays in
  // its volume, an orphan from now on: a restore that fails returns to it, one that works keeps
  // it for the orphans' retention.
  std::string reason = "replaced by the restore of backup " + b.id;
  co_await host_.keep_as_orphan(old_volume, a.database_id, a.n, reason);
  host_.restore_next(owner, data);
  co_await docker_.container_remove(engines::container_name(a));
  host_.reconcile_soon();
  // Back to the data it had, when the restored instance cannot be had.
  auto undo = [&]() -> asio::awaitable<void> {
    host_.restore_drop(owner, data);
    co_await host_.adopt_orphan(old_volume);
    host_.use_volume_next(owner, old_volume);
    co_await docker_.container_remove(engines::container_name(a));
    try {
      co_await docker_.volume_remove(data->volume);  // a copy of the backup, nothing more
    } catch (const std::exception&) {
    }
    host_.reconcile_soon();
  };
  // Past the point of no return: a cancel request no longer stops it.
  co_await modify_task(task.id, [](model::Task& t) {
    t.progress = 70;
    t.log.push_back(model::now_rfc3339() + " waiting for the restored instance to answer");
  });
  asio::steady_timer timer(executor_);
  auto deadline = std::chrono::steady_clock::now() + 120s;
  for (;;) {
    auto* i = host_.instance(owner);
    // A status written before the restored container answered says nothing of it.
    if (i && i->pid() != old_pid && i->pid() != 0 && i->answered_pid() == i->pid() &&
        i->status().state == model::InstanceState::healthy &&
        i->status().role == model::Role::primary && !host_.restore_pending(owner))
      break;
    if (std::chrono::steady_clock::now() > deadline) {
      co_await undo();
      throw std::runtime_error(
          "the restored instance did not come back in 2 minutes (the database keeps the data "
          "it had)");
    }
    timer.expires_after(20ms);  // a look at this agent's own state: a restore ends sooner
    co_await timer.async_wait(asio::use_awaitable);
  }
  // Done. The leader then ends the database's maintenance and has the replicas re-seed: an
  // agent's etcd user writes no database or allocation record.
  std::vector<store::Operation> also{store::Operation::erase(keys::task_claim(task.id))};
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
