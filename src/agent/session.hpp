// The host's session with the cluster: registers the host under an etcd lease and keeps it
// alive, fences the host's primaries when etcd stops confirming the lease (or dockerd stops
// answering) unless etcd itself has lost its quorum, or at once when etcd and a primary's
// replicas both fall silent, and unfences once the agent has caught up. One owner, one stop.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>

#include "agent/options.hpp"
#include "agent/scope.hpp"
#include "docker/docker.hpp"
#include "store/store.hpp"
#include "util/signal.hpp"

namespace berth::agent {

class HostSession {
 public:
  struct Hooks {
    std::function<void()> registered;     // a new lease: statuses must be written again under it
    std::function<void()> fence_changed;  // supervisors act on it at once
    // Back in touch after a fence: true once the host's allocations are current and applied.
    std::function<boost::asio::awaitable<bool>()> catch_up;
  };

  HostSession(boost::asio::any_io_executor executor, store::Store& store, docker::Docker& docker,
              const Options& options, Hooks hooks);

  // Registers the host (retrying until etcd and dockerd answer), then keeps the lease alive
  // and watches for silence from etcd and dockerd until stop().
  boost::asio::awaitable<void> start();
  // Stops keeping the lease alive; it is not revoked, so an agent that starts again within the
  // TTL takes it back and the host never leaves.
  boost::asio::awaitable<void> stop();

  int64_t lease() const { return lease_; }
  bool fenced() const { return fenced_; }
  // The lease ran out while out of touch: until the agent has caught up, what it knows of its
  // allocations may have moved away meanwhile.
  bool lease_lost() const { return lease_lost_; }
  bool docker_up() const { return !docker_down_; }
  boost::asio::awaitable<bool> wait_registered(std::chrono::steady_clock::duration timeout);

  // A primary's replicas have not answered this host since `since`. The leader promotes one of
  // them once neither it nor they reach the primary (about a second), sooner than the lease
  // runs out: etcd is asked at once (a keep-alive), and unless one sent after the silence was
  // noticed succeeds, the host is cut off and its primaries fence once the silence reaches
  // kIsolated.
  void peers_silent(std::chrono::steady_clock::time_point since);
  static constexpr std::chrono::milliseconds kIsolated{500};

 private:
  boost::asio::awaitable<void> register_host();
  // The lease of the host key a previous run of this agent wrote, if it is still alive; else 0.
  boost::asio::awaitable<int64_t> lease_still_held();
  boost::asio::awaitable<void> keep_alive_loop();
  // Fenced and back in touch: catches up, then unfences.
  boost::asio::awaitable<void> unfence_loop();
  boost::asio::awaitable<void> fence_watchdog();
  // While etcd is silent, asks its members whether it can commit at all: if not, no replica can
  // be promoted anywhere, and the host's primaries keep serving.
  boost::asio::awaitable<void> quorum_watch();
  boost::asio::awaitable<void> docker_watchdog();
  void set_fenced(bool fenced);
  // How long without a keep-alive etcd answered before the primaries fence: well within the
  // TTL, so that they have stopped by the time a controller could promote elsewhere.
  std::chrono::milliseconds fence_after() const {
    return std::chrono::milliseconds(options_.lease_ttl_seconds * 1000 * 6 / 10);
  }

  boost::asio::any_io_executor executor_;
  store::Store& store_;
  docker::Docker& docker_;
  const Options& options_;
  Hooks hooks_;
  Scope scope_;
  int64_t lease_ = 0;
  bool fenced_ = false;
  bool lease_lost_ = false;
  bool docker_down_ = false;
  bool quorum_lost_ = false;  // etcd's last word, while silent: most members cannot commit
  std::chrono::steady_clock::time_point last_keep_alive_ = std::chrono::steady_clock::now();
  // The last keep-alive etcd answered (last_keep_alive_ also counts a lost quorum's grace),
  // and the last fence.
  std::chrono::steady_clock::time_point confirmed_at_{}, fenced_at_{};
  // The replicas' silence etcd was last asked about, and when it was noticed.
  std::chrono::steady_clock::time_point silence_since_, silence_noticed_at_;
  bool keep_alive_asked_ = false;  // a keep-alive is wanted now, not at the next interval
  util::Signal registered_;
  util::Signal keep_alive_now_;
  util::Signal catch_up_now_;
};

}  // namespace berth::agent
