// The task runner: claims the tasks the leader dispatched to this host (backups, restores),
// runs them under the host's lease, and ends each in one transaction with its result. Its
// seam to the rest of the agent is TaskHost; its internals live in agent/tasks.cpp,
// task_backup.cpp and task_restore.cpp.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "agent/backup_tar.hpp"
#include "agent/options.hpp"
#include "agent/scope.hpp"
#include "docker/docker.hpp"
#include "engines/engine.hpp"
#include "model/model.hpp"
#include "store/mirror.hpp"
#include "store/store.hpp"

namespace berth::agent {

class Supervisor;

// What the task runner needs from the rest of the agent.
class TaskHost {
 public:
  virtual ~TaskHost() = default;
  // The host's lease (0: not registered); tasks are claimed under it, and not while fenced.
  virtual int64_t lease() const = 0;
  virtual bool fenced() const = 0;
  // The instance ("id/n") this host runs, or nullptr.
  virtual const Supervisor* instance(const std::string& key) const = 0;
  // The next container of the instance starts from data, in a fresh volume (a restore);
  // restore_drop forgets it if it is still pending (the restore gave up).
  virtual void restore_next(const std::string& key, std::shared_ptr<RestoreData> data) = 0;
  virtual void restore_drop(const std::string& key, const std::shared_ptr<RestoreData>& data) = 0;
  virtual bool restore_pending(const std::string& key) const = 0;
  virtual void reconcile_soon() = 0;
  virtual boost::asio::awaitable<void> ensure_image(const model::Allocation& allocation) = 0;
  // The instance's volumes and the host's orphans (see Reconciler).
  virtual boost::asio::awaitable<std::string> live_volume(const model::Allocation& a) = 0;
  virtual std::string fresh_volume(const model::Allocation& a) const = 0;
  virtual void use_volume_next(const std::string& key, const std::string& volume) = 0;
  virtual boost::asio::awaitable<void> keep_as_orphan(const std::string& volume,
                                                      const std::string& database_id, int n,
                                                      const std::string& reason) = 0;
  virtual boost::asio::awaitable<void> adopt_orphan(const std::string& volume) = 0;
};

class TaskRunner {
 public:
  TaskRunner(boost::asio::any_io_executor executor, store::Store& store, docker::Docker& docker,
             const Options& options, TaskHost& host);

  // Follows the tasks and runs this host's, until stop(); stop() cancels the running ones.
  void start();
  boost::asio::awaitable<void> stop();

 private:
  boost::asio::awaitable<void> task_loop();
  boost::asio::awaitable<void> run_task(std::string task_id);
  boost::asio::awaitable<void> run_backup(const model::Task& task, const Supervisor& instance,
                                          const engines::Engine& engine);
  boost::asio::awaitable<void> run_restore(const model::Task& task, std::string owner,
                                           const engines::Engine& engine);
  // Puts a restore's files into `volume`, which a container that never starts makes: straight
  // into its folder when this host's Docker and store allow it, else as a tar through Docker.
  // Throws, with the volume removed, when that fails (damaged data among others).
  boost::asio::awaitable<void> fill_volume(const model::Allocation& a,
                                           const engines::Engine& engine, const std::string& volume,
                                           const std::vector<TarFile>& files,
                                           const std::string& task_id);
  // A backup from files the engine snapshots inside the instance, copied out through Docker
  // and stored as one tar; returns its checksum.
  boost::asio::awaitable<std::string> snapshot_and_store(const model::Task& task,
                                                         const model::Allocation& allocation,
                                                         const engines::Engine& engine);
  // Loads a backup with the engine's own code in a scratch container (no network).
  boost::asio::awaitable<engines::Engine::Verification> verify_backup(const engines::Engine& engine,
                                                                      model::Allocation allocation,
                                                                      std::vector<TarSegment> data,
                                                                      std::string task_id);
  // Records progress and a log line; throws once the task is no longer this agent's.
  boost::asio::awaitable<void> report_progress(std::string id, int percent, std::string line);
  // Changes the task with modify() while this agent holds its claim; false once it does not.
  boost::asio::awaitable<bool> modify_task(const std::string& id,
                                           std::function<void(model::Task&)> modify,
                                           std::vector<store::Operation> also = {});

  boost::asio::any_io_executor executor_;
  store::Store& store_;
  docker::Docker& docker_;
  const Options& options_;
  TaskHost& host_;
  store::Mirror tasks_;
  Scope scope_;
  std::set<std::string> running_tasks_;
};

}  // namespace berth::agent
