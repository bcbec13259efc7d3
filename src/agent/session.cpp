#include "agent/session.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "model/model.hpp"
#include "util/log.hpp"

namespace berth::agent {

namespace asio = boost::asio;
using namespace std::chrono_literals;

HostSession::HostSession(asio::any_io_executor executor, store::Store& store,
                         docker::Docker& docker, const Options& options, Hooks hooks)
    : executor_(executor),
      store_(store),
      docker_(docker),
      options_(options),
      hooks_(std::move(hooks)),
      scope_(executor),
      registered_(executor),
      keep_alive_now_(executor),
      catch_up_now_(executor) {}

asio::awaitable<void> HostSession::start() {
  co_await register_host();
  scope_.spawn(keep_alive_loop(), "agent " + options_.name + ": keep-alive");
  scope_.spawn(unfence_loop(), "agent " + options_.name + ": unfence");
  scope_.spawn(fence_watchdog(), "agent " + options_.name + ": fence watchdog");
  scope_.spawn(quorum_watch(), "agent " + options_.name + ": etcd quorum watch");
  scope_.spawn(docker_watchdog(), "agent " + options_.name + ": docker watchdog");
}

asio::awaitable<void> HostSession::stop() {
  co_await scope_.stop();
}

void HostSession::set_fenced(bool fenced) {
  if (fenced) fenced_at_ = std::chrono::steady_clock::now();
  if (fenced_ == fenced) return;
  fenced_ = fenced;
  if (hooks_.fence_changed) hooks_.fence_changed();
}

asio::awaitable<void> HostSession::register_host() {
  asio::steady_timer retry(executor_);
  for (;;) {
    std::string error;
    try {
      auto info = co_await docker_.info();
      model::Host host;
      host.name = options_.name;
      host.address = options_.advertise;
      host.memory_bytes = options_.memory_mb > 0 ? options_.memory_mb * 1024 * 1024
                                                 : info.value("MemTotal", int64_t{0});
      host.cpus = info.value("NCPU", 0);
      host.labels = options_.labels;
      host.started_at = model::now_rfc3339();
      host.version = "berth-agent";
      host.metrics_address = options_.metrics_address;
      host.metrics_tls = options_.metrics_tls;
      // The host's settings (drain) live on after its lease: made once, if absent.
      model::HostSettings settings;
      settings.first_seen = model::now_rfc3339();
      std::vector<store::Compare> absent{
          store::Compare::absent(model::keys::host_settings(options_.name))};
      std::vector<store::Operation> create{
          store::Operation::put(model::keys::host_settings(options_.name), model::dump(settings))};
      co_await store_.txn(absent, create);
      // lease_ is set only once the host key exists: `berth up` waits on it to say ready.
      // An agent restarted within its lease's TTL takes the lease back: to the cluster the host
      // never left, so nothing fails over and its instances' statuses stay.
      int64_t lease = co_await lease_still_held();
      bool resumed = lease != 0;
      if (!resumed) lease = co_await store_.lease_grant(options_.lease_ttl_seconds);
      co_await store_.put(model::keys::host(options_.name), model::dump(host), lease);
      co_await store_.erase(model::keys::host_left(options_.name));
      lease_ = lease;
      docker_down_ = false;
      try {
        co_await store_.learn_members();
      } catch (const std::exception& e) {
        util::log("agent {}: cannot list etcd's members: {}", options_.name, e.what());
      }
      // Statuses were bound to the old lease: publish them again under the new one.
      if (hooks_.registered) hooks_.registered();
      registered_.notify_all();
      last_keep_alive_ = std::chrono::steady_clock::now();
      util::log("agent {}: registered ({} lease {:x}, {} MiB, {} CPUs)", options_.name,
                resumed ? "took back its" : "new", lease_, host.memory_bytes / 1024 / 1024,
                host.cpus);
      co_return;
    } catch (const std::exception& e) {
      error = e.what();
    }
    util::log("agent {}: cannot register yet: {}", options_.name, error);
    retry.expires_after(500ms);
    co_await retry.async_wait(asio::use_awaitable);
  }
}

asio::awaitable<int64_t> HostSession::lease_still_held() {
  auto current = co_await store_.get(model::keys::host(options_.name));
  if (current.kvs.empty() || current.kvs[0].lease == 0) co_return 0;
  int64_t lease = current.kvs[0].lease;
  try {
    if (co_await store_.lease_keep_alive(lease) > 0) co_return lease;
  } catch (const store::Unavailable&) {
    throw;  // etcd out of reach: registration tries again
  } catch (const std::exception&) {
  }
  co_return 0;
}

asio::awaitable<void> HostSession::keep_alive_loop() {
  auto interval = std::chrono::milliseconds(options_.lease_ttl_seconds * 1000 / 5);
  for (;;) {
    // Woken early when etcd has just got its quorum back (the fence's clock is running), or
    // when a primary's replicas fell silent (is the host cut off?).
    if (!keep_alive_asked_)
      co_await keep_alive_now_.wait(std::chrono::steady_clock::now() + interval);
    keep_alive_asked_ = false;
    bool expired = false;
    auto sent = std::chrono::steady_clock::now();
    try {
      expired = co_await store_.lease_keep_alive(lease_) <= 0;
      if (!expired) last_keep_alive_ = std::chrono::steady_clock::now();
      if (quorum_lost_) util::log("agent {}: etcd answers again", options_.name);
      quorum_lost_ = false;
    } catch (const std::exception& e) {
      util::log("agent {}: keep-alive failed: {}", options_.name, e.what());
      continue;  // etcd unreachable: keep trying; the lease may still be alive
    }
    if (expired) {
      util::log("agent {}: lease expired, registering again", options_.name);
      lease_lost_ = true;
      set_fenced(true);
      co_await register_host();
      last_keep_alive_ = std::chrono::steady_clock::now();
    }
    if (!expired) confirmed_at_ = sent;
    // Back in touch: the catching up runs beside this loop, never in it. Catching up can wait
    // on a reconcile round that makes containers for seconds, longer than the lease lives.
    if (fenced_ && !expired) catch_up_now_.notify_all();
  }
}

asio::awaitable<void> HostSession::unfence_loop() {
  auto limit = fence_after();
  for (;;) {
    co_await catch_up_now_.wait(std::chrono::steady_clock::now() + 1s);
    // Only a keep-alive sent after the fence proves the host is back in touch.
    if (!fenced_ || docker_down_ || confirmed_at_ <= fenced_at_) continue;
    auto lease = lease_;
    auto fenced_at = fenced_at_;
    auto began = std::chrono::steady_clock::now();
    keep_alive_asked_ = true;  // one sent while catching up, answered by the end of it
    keep_alive_now_.notify_all();
    // Before any primary serves again, the allocations must be current and applied (what moved
    // away removed, what lost its role demoted).
    bool current = false;
    try {
      current = !hooks_.catch_up || co_await hooks_.catch_up();
    } catch (const std::exception& e) {
      util::log("agent {}: catching up: {}", options_.name, e.what());
    }
    // Still in touch: a keep-alive sent since the catching up began was answered (the host may
    // have been cut off since the one before, and catching up takes a while); on the same
    // lease, with no new fence meanwhile.
    auto deadline = std::chrono::steady_clock::now() + 2s;
    while (current && confirmed_at_ <= began && std::chrono::steady_clock::now() < deadline)
      co_await catch_up_now_.wait(deadline);
    bool in_touch =
        confirmed_at_ > began && std::chrono::steady_clock::now() - confirmed_at_ < limit;
    if (!current || !fenced_ || fenced_at_ != fenced_at || lease_ != lease || docker_down_ ||
        !in_touch)
      continue;
    util::log("agent {}: back in touch with etcd, unfenced", options_.name);
    lease_lost_ = false;
    set_fenced(false);
  }
}

void HostSession::peers_silent(std::chrono::steady_clock::time_point since) {
  if (fenced_ || lease_ == 0) return;
  auto now = std::chrono::steady_clock::now();
  if (since != silence_since_) {
    // A new silence: a keep-alive sent from now on that succeeds proves the host is not cut
    // off (one answered before may have come just before the cut).
    silence_since_ = since;
    silence_noticed_at_ = now;
    keep_alive_asked_ = true;
    keep_alive_now_.notify_all();
  }
  if (last_keep_alive_ > silence_noticed_at_) return;
  auto silent = now - since;
  if (silent < kIsolated) return;
  util::log(
      "agent {}: neither etcd nor a primary's replicas answered for {} ms: fencing the "
      "primaries that could be replaced",
      options_.name, std::chrono::duration_cast<std::chrono::milliseconds>(silent).count());
  set_fenced(true);
}

asio::awaitable<void> HostSession::fence_watchdog() {
  asio::steady_timer timer(executor_);
  // Fence well before the lease can expire in etcd, so that by the time a controller promotes
  // a replica elsewhere, our primaries have stopped taking writes.
  auto limit = fence_after();
  for (;;) {
    timer.expires_after(100ms);
    co_await timer.async_wait(asio::use_awaitable);
    if (!fenced_ && std::chrono::steady_clock::now() - last_keep_alive_ > limit) {
      util::log(
          "agent {}: no word from etcd for {} ms: fencing the primaries that could be "
          "replaced",
          options_.name, limit.count());
      set_fenced(true);
    }
  }
}

asio::awaitable<void> HostSession::quorum_watch() {
  // Patroni's failsafe mode, by other means: while etcd is silent, ask each of its members
  // whether it can commit at all. When most are down or have no leader, no controller can
  // promote a replica elsewhere, and the primaries here keep serving instead of fencing.
  asio::steady_timer timer(executor_);
  auto quiet = std::chrono::milliseconds(options_.lease_ttl_seconds * 1000 * 3 / 10);
  auto learned_at = std::chrono::steady_clock::now();
  for (;;) {
    timer.expires_after(200ms);
    co_await timer.async_wait(asio::use_awaitable);
    auto now = std::chrono::steady_clock::now();
    if (now - last_keep_alive_ < quiet && !quorum_lost_) {
      if (now - learned_at > 60s) {  // members come and go, rarely
        learned_at = now;
        try {
          co_await store_.learn_members();
        } catch (const std::exception&) {
        }
      }
      continue;
    }
    bool lost = false;
    try {
      lost = co_await store_.quorum_lost();
    } catch (const std::exception&) {
    }
    // Nothing commits while the quorum is lost, lease expiries included, and etcd's next
    // leader extends every lease by its TTL: as good as a keep-alive sent when the members were
    // asked (not when they answered). The fence watchdog counts from there.
    if (lost) last_keep_alive_ = std::max(last_keep_alive_, now);
    if (lost && !quorum_lost_)
      util::log(
          "agent {}: etcd has lost its quorum: nothing can be promoted elsewhere, so the "
          "primaries here keep serving",
          options_.name);
    if (!lost && quorum_lost_) {
      util::log("agent {}: etcd may commit again, but does not answer here yet", options_.name);
      keep_alive_now_.notify_all();  // the lease, extended by etcd's new leader, to renew now
    }
    quorum_lost_ = lost;
  }
}

asio::awaitable<void> HostSession::docker_watchdog() {
  // A host whose dockerd does not answer cannot restart, move or remove anything: it leaves
  // the cluster (its lease is revoked, so the leader fails its primaries over at once) with
  // its primaries fenced, and registers again once dockerd answers (register_host needs it).
  asio::steady_timer timer(executor_);
  auto limit = std::max(std::chrono::milliseconds(1000),
                        std::chrono::milliseconds(options_.lease_ttl_seconds * 1000 / 2));
  auto last_ok = std::chrono::steady_clock::now();
  for (;;) {
    timer.expires_after(std::min(options_.probe_interval, std::chrono::milliseconds(500)));
    co_await timer.async_wait(asio::use_awaitable);
    bool ok = false;
    try {
      ok = co_await docker_.ping(limit);
    } catch (const std::exception&) {
    }
    auto now = std::chrono::steady_clock::now();
    if (ok) {
      last_ok = now;
      docker_down_ = false;
      continue;
    }
    // Once per outage: register_host (which waits for dockerd) clears docker_down_.
    if (now - last_ok < limit || lease_ == 0 || docker_down_) continue;
    int64_t lease = lease_;
    util::log(
        "agent {}: dockerd has not answered for {} ms: fencing primaries and leaving "
        "the cluster until it does",
        options_.name, limit.count());
    docker_down_ = true;
    set_fenced(true);
    try {
      // Said first: the leader keeps a primary that answers though its host's lease is gone
      // (a dead agent), unless its agent left on purpose.
      co_await store_.put(model::keys::host_left(options_.name), "dockerd is down", 0);
      co_await store_.lease_revoke(lease);
    } catch (const std::exception& e) {
      util::log("agent {}: revoking the lease: {}", options_.name, e.what());
    }
  }
}

asio::awaitable<bool> HostSession::wait_registered(std::chrono::steady_clock::duration timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (lease_ == 0 && std::chrono::steady_clock::now() < deadline)
    co_await registered_.wait(deadline);
  co_return lease_ != 0;
}

}  // namespace berth::agent
