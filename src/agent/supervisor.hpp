// One instance this host runs, from its first probe to its release: probes it, brings it to
// its allocation's role (fenced while the host is), resizes it, holds the database address for
// a primary, and publishes its status under the host's lease. One owner, one stop.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/hostnet.hpp"
#include "agent/options.hpp"
#include "agent/plan.hpp"
#include "agent/scope.hpp"
#include "docker/docker.hpp"
#include "engines/engine.hpp"
#include "model/model.hpp"
#include "store/store.hpp"
#include "util/signal.hpp"

namespace berth::agent {

class HostSession;

// Restarts of a container noticed within the last minute: three make a crash loop, and the
// controller moves the instance elsewhere.
class RestartWindow {
 public:
  // restart_count: Docker's count now (-1: unknown); by_us: the agent started it again itself.
  // Returns how many restarts it noticed.
  int note(int restart_count, bool by_us, std::chrono::steady_clock::time_point now);
  void new_container() { last_count_ = -1; }
  bool crash_looping() const { return static_cast<int>(times_.size()) >= kRestarts; }
  size_t size() const { return times_.size(); }

  static constexpr int kRestarts = 3;
  static constexpr std::chrono::seconds kWindow{60};

 private:
  int last_count_ = -1;
  std::deque<std::chrono::steady_clock::time_point> times_;
};

class Supervisor {
 public:
  struct Edges {
    boost::asio::any_io_executor executor;
    store::Store& store;
    docker::Docker& docker;
    HostNetwork& hostnet;
    HostSession& session;
    const Options& options;
    // Whether etcd, as the agent last heard, still wants this allocation as it is: an instance
    // is made writable only then (its reconciler may lag behind a failover by seconds).
    std::function<bool(const model::Allocation&)> still_wanted;
    // Whether this host is still allocated the instance at all: a supervisor whose instance
    // moved away never writes its status over its new host's.
    std::function<bool(const model::Allocation&)> allocated_here;
    // The addresses of the database's other instances (its replicas, for a primary).
    std::function<std::vector<std::string>(const model::Allocation&)> peers;
  };
  // The instance's life as its probes show it.
  enum class Phase {
    Starting,  // no answer yet since its container (or its password or address) changed
    Serving,   // it answered once: a silence now is a fault
  };

  Supervisor(Edges edges, const engines::Engine& engine, model::Allocation allocation);

  // Starts probing (and publishing) until stop().
  void start();
  // Cancels its probing and publication; the container runs on, as it is (an agent restart is
  // invisible to its databases).
  boost::asio::awaitable<void> stop();
  // The instance left this host: stop(), let go of the database address, and withdraw the
  // status. kill_process: dockerd is down, and the container, running on elsewhere now, must
  // not answer at an address that moved: unplug it and kill its process.
  boost::asio::awaitable<void> release(bool kill_process);

  // A newer allocation from etcd: a changed role, epoch or size is acted on at once.
  void update(const model::Allocation& allocation);
  // What the reconciler saw of the container: its process and Docker's restart count.
  void container_seen(int pid, int restart_count, bool restarted_by_us, bool new_container);
  // Its next container starts from data put there on purpose (a restore): not a restart of
  // a primary that may have lost acknowledged writes.
  void starts_over();
  // The agent could not make or start the container: the status says why ("" clears it).
  void set_agent_error(std::string message);
  // The host is fenced or unfenced: act now rather than at the next probe.
  void wake() { wake_.notify_all(); }
  // The lease changed: write the status again under the new one.
  void republish() { published_.clear(); }

  const std::string& key() const { return key_; }
  const model::Allocation& allocation() const { return allocation_; }
  const model::InstanceStatus& status() const { return status_; }
  int pid() const { return pid_; }
  // The container process that last answered a probe healthy (0: none yet).
  int answered_pid() const { return answered_pid_; }
  Phase phase() const { return phase_; }

 private:
  boost::asio::awaitable<void> probe_loop();
  boost::asio::awaitable<void> publish_loop();
  boost::asio::awaitable<void> witness_loop();
  // For a primary with a replica in sync: is this host still in touch with its replicas?
  boost::asio::awaitable<void> isolation_loop();
  boost::asio::awaitable<void> ping_peer(std::string ip, int port);
  void observe(const engines::ProbeResult& result, const Knowledge& knowledge);
  // Brings the instance to its allocation; true when it changed its role.
  boost::asio::awaitable<bool> converge(const engines::ProbeResult& current);
  boost::asio::awaitable<void> hold_database_address(bool want);
  // The instance refused the allocation's password: if it still takes the one before a
  // rotation, sets the new one live (supervisor_password.cpp). The probe's answer afterwards.
  boost::asio::awaitable<engines::ProbeResult> rotate_password(engines::ProbeResult refused);
  // Drops the database address if fenced, failed over, or no longer this instance's to hold.
  boost::asio::awaitable<void> let_go_unless_wanted();
  boost::asio::awaitable<void> publish();
  boost::asio::awaitable<void> withdraw_status();
  Knowledge knowledge() const;

  Edges edges_;
  const engines::Engine& engine_;
  model::Allocation allocation_;
  std::string key_;  // "id/n"
  Scope scope_;
  util::Signal wake_;
  util::Signal publish_;
  Phase phase_ = Phase::Starting;
  model::InstanceStatus status_;
  std::string agent_error_;
  std::string published_;  // the status last written, without its volatile fields
  std::chrono::steady_clock::time_point published_at_{};
  // When the status in etcd was last seen to be still ours (an unchanged status is not
  // rewritten, so it is looked at now and then: another writer may have removed it).
  std::chrono::steady_clock::time_point verified_at_{};
  model::InstanceStatus published_status_;  // its figures, to tell a drift that matters
  double published_rate_ = 0;               // the operations per second it reported
  // What the agent applied: Redis cannot tell whether its writes are paused, so it is recalled.
  bool writes_paused_ = false;
  int64_t applied_memory_mb_ = 0;  // 0: not applied by this agent yet
  int pid_ = 0;                    // the container's process, for its network namespace
  int answered_pid_ = 0;
  int64_t answered_generation_ = 0;  // the password generation the instance last answered to
  std::string held_address_;         // the database address this container holds
  RestartWindow restarts_;
  // A primary whose container restarted while it had replicas may have lost writes they
  // acknowledged: read-only, a replica takes over (or, with none, after 15 s, it serves again).
  std::optional<std::chrono::steady_clock::time_point> lost_writes_since_;
  bool stale_logged_ = false;
  bool synced_ = false;               // has answered as a primary, or as a replica with its link up
  bool primary_unreachable_ = false;  // the witness' last look at the primary
  static constexpr std::chrono::milliseconds kWitnessInterval{200};
  // When a replica last answered this host (the time the ask was sent), and who is asked now.
  std::chrono::steady_clock::time_point peer_answered_at_ = std::chrono::steady_clock::now();
  std::set<std::string> pinging_;
  static constexpr std::chrono::milliseconds kIsolationTick{100};
  int swept_pid_ = 0;  // the container whose leftover addresses were dropped
};

}  // namespace berth::agent
