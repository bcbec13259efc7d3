#include "agent/supervisor.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <csignal>
#include <utility>

#include "agent/session.hpp"
#include "util/log.hpp"

namespace berth::agent {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

int RestartWindow::note(int restart_count, bool by_us, Clock::time_point now) {
  int seen = 0;
  if (last_count_ >= 0 && restart_count > last_count_) seen = restart_count - last_count_;
  if (by_us) seen = std::max(seen, 1);
  for (int i = 0; i < seen; ++i) times_.push_back(now);
  if (restart_count >= 0) last_count_ = restart_count;
  while (!times_.empty() && now - times_.front() > kWindow) times_.pop_front();
  return seen;
}

Supervisor::Supervisor(Edges edges, const engines::Engine& engine, model::Allocation allocation)
    : edges_(edges),
      engine_(engine),
      allocation_(std::move(allocation)),
      key_(model::keys::instance_owner(allocation_.database_id, allocation_.n)),
      scope_(edges.executor),
      wake_(edges.executor),
      publish_(edges.executor) {
  status_.host = edges_.options.name;
  status_.state = model::InstanceState::starting;
}

Knowledge Supervisor::knowledge() const {
  return {edges_.session.fenced(), edges_.session.docker_up()};
}

void Supervisor::start() {
  auto name = "agent " + edges_.options.name + ": " + key_;
  scope_.spawn(probe_loop(), name + " probe");
  scope_.spawn(publish_loop(), name + " publish");
  scope_.spawn(witness_loop(), name + " witness");
  scope_.spawn(isolation_loop(), name + " isolation");
}

asio::awaitable<void> Supervisor::stop() {
  co_await scope_.stop();
}

asio::awaitable<void> Supervisor::release(bool kill_process) {
  co_await scope_.stop();
  // The database address goes with it, even while dockerd cannot remove the container.
  try {
    co_await hold_database_address(false);
  } catch (const std::exception& e) {
    util::log("agent {}: {} letting go of its address: {}", edges_.options.name, key_, e.what());
  }
  if (kill_process && pid_ > 0) {
    util::log("agent {}: dockerd is down: unplugging and killing {}'s process {}",
              edges_.options.name, key_, pid_);
    co_await edges_.hostnet.unplug(pid_);
    ::kill(pid_, SIGKILL);
  }
  try {
    co_await withdraw_status();
  } catch (const std::exception& e) {
    util::log("agent {}: withdrawing the status of {}: {}", edges_.options.name, key_, e.what());
  }
}

void Supervisor::update(const model::Allocation& a) {
  auto& old = allocation_;
  // A new password alone is a rotation, set live (rotate_password): not a new instance.
  if (old.ip != a.ip) phase_ = Phase::Starting;
  bool role_changed = old.role != a.role || old.epoch != a.epoch ||
                      old.primary_ip != a.primary_ip || old.memory_mb != a.memory_mb ||
                      old.min_replicas_to_write != a.min_replicas_to_write;
  allocation_ = a;
  if (role_changed) wake_.notify_all();  // act on a promotion at once
}

void Supervisor::container_seen(int pid, int restart_count, bool restarted_by_us,
                                bool new_container) {
  // A restarted container has a new network namespace, without the database address.
  if (pid != pid_) held_address_.clear();
  pid_ = pid;
  if (new_container) restarts_.new_container();
  bool was_looping = restarts_.crash_looping();
  status_.restarts += restarts_.note(restart_count, restarted_by_us, Clock::now());
  if (restarts_.crash_looping() && !was_looping)
    util::log("agent {}: {} keeps crashing ({} restarts within {} s)", edges_.options.name, key_,
              restarts_.size(), RestartWindow::kWindow.count());
}

void Supervisor::starts_over() {
  phase_ = Phase::Starting;
  lost_writes_since_.reset();
  answered_pid_ = 0;
}

void Supervisor::set_agent_error(std::string message) {
  if (message == agent_error_) return;
  agent_error_ = std::move(message);
  wake_.notify_all();
}

asio::awaitable<void> Supervisor::probe_loop() {
  bool probed_again = false;  // at most one immediate probe in a row
  for (;;) {
    // First, whatever the engine will say: an address this instance should no longer hold
    // goes now. A fence wakes this loop, and the address must be gone before the leader's
    // failover gives it to another (at once, when the host's lease is revoked); nor does no
    // answer mean no one else hears it (a cut-off host's link takes its containers' interfaces
    // down too, and brings them back with it). The engine may not answer at all: with dockerd
    // gone, nothing drains its output and a process that logs blocks.
    try {
      co_await let_go_unless_wanted();
    } catch (const std::exception& e) {
      util::log("agent {}: {}: {}", edges_.options.name, key_, e.what());
    }
    auto& a = allocation_;
    int pid = pid_;
    auto result = co_await engine_.probe(edges_.executor, a.ip, a.port, a.password);
    if (result.healthy)
      answered_generation_ = a.password_generation;
    else if (result.refused_password && !a.previous_password.empty() &&
             a.previous_password != a.password)
      result = co_await rotate_password(result);
    // An answer from the process that runs now, not one from before a restart or a restore.
    if (result.healthy && pid == pid_) answered_pid_ = pid;
    bool role_changed = false;
    if (result.healthy) {
      try {
        role_changed = co_await converge(result);
      } catch (const std::exception& e) {
        util::log("agent {}: {}: {}", edges_.options.name, key_, e.what());
      }
      observe(result, knowledge());
    } else {
      observe(result, knowledge());
    }
    // Publishing waits on etcd, which may be out of reach: it never holds up probing and
    // fencing. The publisher takes the newest status; a round it misses, the next catches up.
    publish_.notify_all();
    // Until the first healthy answer, probe often so a new database is announced at once.
    // After a role change, at once: the status tells the new role without a probe interval's
    // delay (a switchover, a restore and a create wait on it).
    bool again = role_changed && !std::exchange(probed_again, true);
    if (!again) probed_again = false;
    auto interval = again ? 0ms : phase_ == Phase::Serving ? edges_.options.probe_interval : 20ms;
    co_await wake_.wait(Clock::now() + interval);
  }
}

// The status as this round's probe shows it.
void Supervisor::observe(const engines::ProbeResult& result, const Knowledge& knowledge) {
  auto& a = allocation_;
  auto& s = status_;
  bool looping = restarts_.crash_looping();
  std::string crashing =
      "keeps crashing: " + std::to_string(restarts_.size()) + " restarts within a minute";
  if (result.healthy) {
    s.state = model::InstanceState::healthy;
    s.role = model::from_name<model::Role>(result.role);
    s.memory_used_bytes = result.memory_used_bytes;
    s.connections = result.connections;
    s.operations = result.operations;
    s.keys = result.keys;
    s.offset = result.offset;
    s.link_up = result.link_up;
    s.epoch = a.epoch;
    s.memory_limit_mb = applied_memory_mb_;
    s.holds_address = held_address_;
    s.message = writes_fenced(a, knowledge) ? "fenced: writes paused" : "";
    s.primary_down = primary_unreachable_ && s.role == model::Role::replica;
    // Sticky: a replica whose link drops as its primary dies still holds what it copied.
    synced_ = synced_ || s.role == model::Role::primary || result.link_up;
    s.synced = synced_;
    s.password_generation = answered_generation_;
    phase_ = Phase::Serving;
    if (looping) {
      s.state = model::InstanceState::failed;
      s.message = crashing;
    } else if (lost_writes_since_ && result.awaiting_role) {
      s.state = model::InstanceState::failed;
      s.message = "restarted: a replica with every acknowledged write takes over";
    }
    return;
  }
  // Before the first answer an instance is starting; afterwards a silence is a fault. What
  // kept the agent from making its container says more than the silence does.
  using State = model::InstanceState;
  s.state = looping                    ? State::failed
            : !agent_error_.empty()    ? State::unhealthy
            : phase_ == Phase::Serving ? State::unhealthy
                                       : State::starting;
  s.message = !agent_error_.empty() ? agent_error_
              : looping             ? crashing + "; " + result.message
                                    : result.message;
}

asio::awaitable<bool> Supervisor::converge(const engines::ProbeResult& current) {
  auto& a = allocation_;
  bool primary = a.role == model::Role::primary;
  if (primary && current.awaiting_role && phase_ == Phase::Serving && !a.database_address.empty() &&
      !lost_writes_since_) {
    lost_writes_since_ = Clock::now();
    util::log("agent {}: primary {} restarted: holding it read-only for a replica to take over",
              edges_.options.name, key_);
  }
  if (!primary || !current.awaiting_role) lost_writes_since_.reset();
  bool holding = lost_writes_since_ && Clock::now() - *lost_writes_since_ < 15s;
  auto step = decide_role(a, knowledge(), current, holding);
  bool writable = step.hold_address || (step.kind == RoleStep::Kind::Apply &&
                                        step.config.role == "primary" && !step.config.fenced);
  if (writable && edges_.still_wanted && !edges_.still_wanted(a)) {
    // Failed over meanwhile (or about to be told so): stay as it is until the reconciler acts.
    step.kind = RoleStep::Kind::HoldReadOnly;
    step.hold_address = false;
    if (!stale_logged_)
      util::log("agent {}: {}'s allocation changed in etcd: not serving writes on the old one",
                edges_.options.name, key_);
    stale_logged_ = true;
  } else {
    stale_logged_ = false;
  }
  // The database address moves first: the old holder lets go before any new one takes it.
  if (!step.hold_address) co_await hold_database_address(false);
  if (step.kind == RoleStep::Kind::HoldReadOnly) co_return false;
  bool role_changed = false;
  if (step.kind == RoleStep::Kind::Apply) {
    role_changed = step.config.role != current.role || current.awaiting_role;
    auto observed = current;
    // Engines say so (a read-only Tarantool, a fenced Redis's min-replicas); the agent recalls too.
    observed.writes_paused = current.writes_paused || writes_paused_;
    co_await engine_.apply_role(edges_.executor, a.ip, a.port, a.password, step.config, observed);
    if (step.config.fenced != writes_paused_)
      util::log("agent {}: {} {}", edges_.options.name, key_,
                step.config.fenced ? "fenced: writes paused" : "unfenced: writes resumed");
    writes_paused_ = step.config.fenced;
  }
  if (a.memory_mb != applied_memory_mb_ && engine_.resize_restarts(a)) {
    // A new limit makes a new container (the reconciler's), made with it: nothing to change in
    // this one, which may be on its way out.
    applied_memory_mb_ = a.memory_mb;
  } else if (a.memory_mb != applied_memory_mb_) {
    // Resize in place: the container's limit and the engine's own, no restart. Growing, the
    // container grows first; shrinking, the engine shrinks first.
    auto container = engines::container_name(a);
    auto& docker = edges_.docker;
    if (a.memory_mb > applied_memory_mb_) {
      co_await docker.container_update_memory(container, a.memory_mb * 1024 * 1024);
      co_await engine_.resize(edges_.executor, a.ip, a.port, a.password, a.memory_mb);
    } else {
      co_await engine_.resize(edges_.executor, a.ip, a.port, a.password, a.memory_mb);
      co_await docker.container_update_memory(container, a.memory_mb * 1024 * 1024);
    }
    applied_memory_mb_ = a.memory_mb;
  }
  if (step.hold_address) co_await hold_database_address(true);
  co_return role_changed;
}

asio::awaitable<void> Supervisor::let_go_unless_wanted() {
  if (held_address_.empty()) co_return;
  bool fenced = knowledge().fenced;
  bool wanted = !edges_.still_wanted || edges_.still_wanted(allocation_);
  if (fenced || !wanted || allocation_.database_address != held_address_)
    co_await hold_database_address(false);
}

asio::awaitable<void> Supervisor::hold_database_address(bool want) {
  auto& a = allocation_;
  auto& hostnet = edges_.hostnet;
  bool macvlan = edges_.options.macvlan();
  std::string address = want ? a.database_address : "";
  if (address.empty() && held_address_.empty() && pid_ && pid_ != swept_pid_) {
    // Once per container: a database address added by an earlier run of this agent (which
    // this one does not remember) goes, or the LAN would see it twice once the role moved.
    swept_pid_ = pid_;
    co_await hostnet.drop_other_addresses(pid_, a.ip);
  }
  if (address == held_address_) co_return;
  if (!held_address_.empty()) {
    if (pid_) co_await hostnet.drop_address(pid_, held_address_);
    if (macvlan) co_await hostnet.unroute(held_address_);
    held_address_.clear();
  }
  if (address.empty()) co_return;
  auto info = co_await edges_.docker.container_inspect(engines::container_name(a));
  if (!info || !info->running || info->pid == 0) co_return;
  pid_ = info->pid;
  co_await hostnet.hold_address(pid_, address);
  if (macvlan) co_await hostnet.route(address);
  held_address_ = address;
  util::log("agent {}: {} holds the database address {}", edges_.options.name, key_, address);
}

asio::awaitable<void> Supervisor::publish_loop() {
  for (;;) {
    co_await publish_.wait(Clock::now() + 1h);
    try {
      co_await publish();
    } catch (const std::exception& e) {
      util::log("agent {}: publish {}: {}", edges_.options.name, key_, e.what());
    }
  }
}

asio::awaitable<void> Supervisor::publish() {
  int64_t lease = edges_.session.lease();
  if (lease == 0) co_return;
  // Back from a lost lease, the mirror can still hold an instance that moved away meanwhile:
  // a status written now would overwrite the new host's (and go with this host's release of
  // it). Nothing is published until the agent has caught up.
  if (edges_.session.lease_lost()) co_return;
  if (edges_.allocated_here && !edges_.allocated_here(allocation_)) co_return;
  auto s = status_;
  // State changes go at once. Memory and traffic figures drift: they go at most every 10 s,
  // and only when they moved enough to matter (an idle database writes nothing: liveness is
  // the host's lease, not a rewritten status).
  model::InstanceStatus comparable = s;
  comparable.memory_used_bytes = comparable.connections = comparable.operations = 0;
  comparable.keys = 0;
  comparable.updated_at.clear();
  std::string signature = model::dump(comparable);
  auto now = Clock::now();
  double seconds = std::chrono::duration<double>(now - published_at_).count();
  auto key = model::keys::status(edges_.options.name, allocation_.database_id, allocation_.n);
  if (signature == published_ &&
      (seconds < 10 || !figures_moved(published_status_, s, seconds, published_rate_))) {
    // Unchanged: nothing is written. Now and then a read (no revision) checks that a status
    // is still there; if it went (a write lost, a lease that ended), it is written again.
    if (now - verified_at_ < edges_.options.status_check_interval) co_return;
    verified_at_ = now;  // (also when etcd does not answer: the next look is an interval on)
    auto current = co_await edges_.store.get(key);
    if (!current.kvs.empty()) co_return;
    util::log("agent {}: the status of {} was gone: written again", edges_.options.name, key_);
  }
  s.updated_at = model::now_rfc3339();
  auto value = model::dump(s);
  co_await edges_.store.put(key, value, lease);
  published_rate_ = signature == published_ ? operations_rate(published_status_, s, seconds) : 0;
  published_ = signature;
  published_status_ = s;
  published_at_ = now;
  verified_at_ = now;
}

asio::awaitable<void> Supervisor::withdraw_status() {
  // The key is this host's own: if the instance runs elsewhere now, its new host's status is
  // under that host's key and stays.
  co_await edges_.store.erase(
      model::keys::status(edges_.options.name, allocation_.database_id, allocation_.n));
}

}  // namespace berth::agent
