// Makes local Docker match the allocations of this host: follows them in a mirror, plans
// (agent/plan.hpp) against the containers Docker lists, and applies the plan: the cluster
// network, images, containers, and one Supervisor per instance. One owner, one stop.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <list>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "agent/backup_tar.hpp"
#include "agent/hostnet.hpp"
#include "agent/options.hpp"
#include "agent/plan.hpp"
#include "agent/scope.hpp"
#include "agent/supervisor.hpp"
#include "docker/docker.hpp"
#include "store/mirror.hpp"
#include "store/store.hpp"
#include "util/signal.hpp"

namespace berth::agent {

class HostSession;

// The hash of everything in an allocation that needs a new container when it changes; with
// legacy_password, as it was before passwords were rotated live (the password in it).
std::string spec_hash(const model::Allocation& allocation, const engines::Engine* engine,
                      const std::string* legacy_password = nullptr);

class Reconciler {
 public:
  Reconciler(boost::asio::any_io_executor executor, store::Store& store, docker::Docker& docker,
             HostSession& session, const Options& options);
  ~Reconciler();

  // Follows the allocations and reconciles on every change and every 2 s, until stop().
  void start();
  // Stops reconciling and every supervisor (the containers keep running: an agent restart is
  // invisible to its databases).
  boost::asio::awaitable<void> stop();
  // Reconciles now rather than at the next tick.
  void wake() { wake_.notify_all(); }
  // After a fence: true once the mirror holds exactly what etcd has now, and it is applied.
  boost::asio::awaitable<bool> catch_up();
  // One round: plan and apply (tests call it directly).
  boost::asio::awaitable<void> reconcile();

  // For the fence and the lease: every supervisor hears of it.
  void fence_changed();
  void registered();

  const Supervisor* find(const std::string& instance) const;
  const std::map<std::string, std::unique_ptr<Supervisor>>& supervisors() const {
    return supervisors_;
  }
  // The next container of instance starts from this data in a fresh volume (a restore).
  void restore_next(const std::string& instance, std::shared_ptr<RestoreData> data);
  // Forgets that data if it is still the instance's next (its restore gave up).
  void restore_drop(const std::string& instance, const std::shared_ptr<RestoreData>& data);
  bool restore_pending(const std::string& instance) const {
    return pending_restore_.count(instance) > 0;
  }
  boost::asio::awaitable<void> ensure_image(const model::Allocation& allocation);

  // Volumes (volumes.cpp). The volume an instance's data lives in on this host: the one set
  // for its next container, else the newest of its volumes that is not an orphan, else its
  // plain name (a fresh one when that is an orphan).
  boost::asio::awaitable<std::string> live_volume(const model::Allocation& allocation);
  // A name no volume of the instance has had: a new data generation, a restore.
  std::string fresh_volume(const model::Allocation& allocation) const;
  // The next container of the instance uses this volume (a restore, or its undoing).
  void use_volume_next(const std::string& instance, const std::string& volume) {
    next_volume_[instance] = volume;
  }
  // Records the volume as an orphan of instance n of the database, kept for the retention.
  // Throws when etcd does not take the record: the caller then leaves the data in use.
  boost::asio::awaitable<void> keep_as_orphan(const std::string& volume,
                                              const std::string& database_id, int n,
                                              const std::string& reason);
  // The volume is in use again (a restore that failed returns to its data): no orphan.
  boost::asio::awaitable<void> adopt_orphan(const std::string& volume);

 private:
  boost::asio::awaitable<void> reconcile_loop();
  boost::asio::awaitable<void> reconcile_round();
  // The cluster id etcd holds now ("" when none); the last one known when etcd does not answer.
  // Read from etcd each round, not from a mirror: an emptied etcd must never look like one
  // whose allocations are gone but whose id is still there (two watches are not in step).
  boost::asio::awaitable<std::string> cluster_id();
  boost::asio::awaitable<void> apply(const Action& action, bool& new_container,
                                     bool& restarted_by_us);
  boost::asio::awaitable<void> ensure_network();
  boost::asio::awaitable<void> ensure_shim(const model::NetworkConfig& config);
  // volume: where its data lives ("" : the instance's live volume).
  boost::asio::awaitable<void> create_container(const model::Allocation& allocation,
                                                const std::string& spec_hash, std::string volume);
  // Removes a container that is not wanted here: its volume too when the action drops it
  // (the database is deleted; then its addresses and status go too), or keeps the volume as
  // an orphan when the action says so.
  boost::asio::awaitable<void> remove_container(const Action& action);
  boost::asio::awaitable<void> forget_deleted_instance(const std::string& database_id, int n);
  // Returns to the pool the addresses retired on this host (their instances re-created
  // elsewhere) that no container here holds any more.
  boost::asio::awaitable<void> release_retired_addresses();
  // Removes the orphan volumes whose time has come (orphans_to_remove).
  boost::asio::awaitable<void> remove_orphans(const Knowledge& knowledge);
  std::set<std::string> deleted_databases() const;
  std::vector<model::Orphan> orphans() const;
  // The volume a container of ours mounts (its label; the plain name for older containers).
  static std::string volume_of(const docker::ContainerInfo& container);
  Supervisor& supervise(const model::Allocation& allocation);
  // The addresses of a's database's other instances, as the address pool has them.
  std::vector<std::string> peers(const model::Allocation& a) const;
  bool still_wanted(const model::Allocation& allocation) const;

  boost::asio::any_io_executor executor_;
  store::Store& store_;
  docker::Docker& docker_;
  HostSession& session_;
  const Options& options_;
  HostNetwork hostnet_;
  store::Mirror allocations_;
  store::Mirror tombstones_;  // every deleted database's
  store::Mirror orphans_;     // this host's orphan volumes
  store::Mirror addresses_;   // the pool's taken addresses (those retired here are ours to free)
  Scope scope_;
  util::Signal wake_;
  // One round at a time: the loop and a catch-up after a fence both reconcile.
  bool reconciling_ = false;
  util::Signal round_ended_;
  bool network_ready_ = false;
  std::string cluster_id_;      // what etcd said last; new containers carry it
  std::string known_cluster_;   // the last id etcd had (kept while it has none)
  std::string docker_network_;  // set by ensure_network
  std::string shim_address_;
  std::map<std::string, std::unique_ptr<Supervisor>> supervisors_;  // by "id/n"
  // Released, still stopping: kept until their coroutines have ended.
  std::list<std::unique_ptr<Supervisor>> retiring_;
  std::map<std::string, std::shared_ptr<RestoreData>> pending_restore_;  // by "id/n"
  std::map<std::string, std::string> next_volume_;                       // by "id/n"
};

}  // namespace berth::agent
