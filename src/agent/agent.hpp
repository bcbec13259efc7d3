// The agent: one per Docker host. Registers the host under an etcd lease, makes local Docker
// match the instances assigned to the host, probes their health and publishes what it sees.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "agent/backup_tar.hpp"
#include "agent/hostnet.hpp"
#include "backup/object_store.hpp"
#include "docker/docker.hpp"
#include "engines/engine.hpp"
#include "model/model.hpp"
#include "store/mirror.hpp"
#include "store/store.hpp"
#include "util/signal.hpp"

namespace berth::metrics {
class Registry;
}

namespace berth::agent {

struct Options {
  std::string name;       // host name, unique in the cluster
  std::string advertise;  // the host's address
  int lease_ttl_seconds = 5;
  std::chrono::milliseconds probe_interval{1000};
  std::map<std::string, std::string> labels;
  int64_t memory_mb = 0;  // 0: what dockerd reports
  // "" (a bridge network, one machine) or "macvlan:IF" (containers on the LAN behind IF).
  std::string network;
  std::shared_ptr<backup::ObjectStore> backups;  // the backup store, built at start-up
  std::string metrics_address;  // where its /metrics listens, recorded in the host record
};

class Agent {
 public:
  Agent(boost::asio::any_io_executor executor, store::Store& store, docker::Client& docker,
        Options options);
  ~Agent();

  // Runs until stop(); survives etcd and dockerd restarts.
  boost::asio::awaitable<void> run();
  // Waits until the host is registered (for `berth up`, which must not report ready before).
  boost::asio::awaitable<bool> wait_registered(std::chrono::steady_clock::duration timeout);
  // Revokes the lease so the host leaves at once instead of after its TTL.
  boost::asio::awaitable<void> shutdown();
  // Adds this host's instances and the agent's state to a scrape (agent/metrics.cpp).
  void collect_metrics(metrics::Registry& out) const;

 private:
  struct Instance;

  boost::asio::awaitable<void> register_host();
  boost::asio::awaitable<void> keep_alive_loop();
  boost::asio::awaitable<void> reconcile_loop();
  boost::asio::awaitable<void> reconcile();
  boost::asio::awaitable<void> ensure_network();
  boost::asio::awaitable<void> ensure_image(const model::Allocation& allocation);
  boost::asio::awaitable<void> start_instance(const model::Allocation& allocation,
                                              const std::string& spec_hash);
  // Removes a container that is not wanted here; its volume too unless wanted_here (it was
  // a duplicate), and its address and status when its database is gone.
  boost::asio::awaitable<void> remove_container(const docker::ContainerInfo& container,
                                                bool wanted_here);
  boost::asio::awaitable<void> probe_loop(std::shared_ptr<Instance> instance);
  boost::asio::awaitable<void> publish(Instance& instance);
  boost::asio::awaitable<void> publish_in_background(std::shared_ptr<Instance> instance);
  // Erases the instance's status if it is still what this agent wrote last.
  boost::asio::awaitable<void> withdraw_status(Instance& instance);
  // Brings a healthy instance to what its allocation says: role, fencing, memory, address.
  boost::asio::awaitable<void> converge(Instance& instance, const engines::Engine& engine,
                                        const engines::ProbeResult& current);
  // Counts the container's restarts seen since the last look; marks a crash loop.
  void note_restarts(Instance& instance, int restart_count, bool restarted_by_us);
  boost::asio::awaitable<void> fence_watchdog();
  boost::asio::awaitable<void> docker_watchdog();
  boost::asio::awaitable<void> ensure_shim(const model::NetworkConfig& config);
  boost::asio::awaitable<void> hold_database_address(Instance& instance, bool want);
  boost::asio::awaitable<void> release_database_addresses(const std::string& database_id);

  // Tasks (agent/tasks.cpp): claims the tasks dispatched to this host and runs them.
  boost::asio::awaitable<void> task_loop();
  boost::asio::awaitable<void> run_task(std::string task_id);
  boost::asio::awaitable<void> run_backup(const model::Task& task, Instance& instance,
                                          const engines::Engine& engine);
  boost::asio::awaitable<void> run_restore(const model::Task& task, std::string owner,
                                           const engines::Engine& engine);
  // Gives the database's replicas a new data generation: they start over from empty volumes.
  boost::asio::awaitable<void> reseed_replicas(const model::Task& task);
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
  // Adds to ops the write that ends the maintenance task put its database in, if it did.
  boost::asio::awaitable<void> end_maintenance(const model::Task& task,
                                               std::vector<store::Operation>& ops);
  // Records progress and a log line; throws once the task is no longer this agent's.
  boost::asio::awaitable<void> report_progress(std::string id, int percent, std::string line);
  // Changes the task with modify() while this agent holds its claim; false once it does not.
  boost::asio::awaitable<bool> modify_task(const std::string& id,
                                           std::function<void(model::Task&)> modify,
                                           std::vector<store::Operation> also = {});

  boost::asio::any_io_executor executor_;
  store::Store& store_;
  docker::Client& docker_;
  Options options_;
  store::Mirror allocations_;
  util::Signal wake_;
  int64_t lease_ = 0;
  // Fenced: etcd has not confirmed our lease for a good part of its TTL, so another host may
  // already hold our primaries' roles. Primaries refuse writes until we are back in touch.
  bool fenced_ = false;
  std::chrono::steady_clock::time_point last_keep_alive_ = std::chrono::steady_clock::now();
  bool macvlan_ = false;
  std::unique_ptr<HostNetwork> hostnet_;
  std::string shim_address_;
  util::Signal registered_;
  bool stopping_ = false;
  bool network_ready_ = false;
  bool docker_down_ = false;    // dockerd has stopped answering (see docker_watchdog)
  std::string docker_network_;  // set by ensure_network
  std::map<std::string, std::shared_ptr<Instance>> instances_;  // by "id/n"
  store::Mirror tasks_;
  std::set<std::string> running_tasks_;
  // Data to put in an instance's fresh volume when its container is next created (a restore).
  std::map<std::string, std::shared_ptr<RestoreData>> pending_restore_;  // by "id/n"
};

// The hash of everything in an allocation that needs a new container when it changes.
std::string spec_hash(const model::Allocation& allocation);

}  // namespace berth::agent
