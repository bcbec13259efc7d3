// The agent: one per Docker host. Registers the host under an etcd lease, makes local Docker
// match the instances assigned to the host, probes their health and publishes what it sees.
// It is the sum of four owners, each with one stop: the host session (lease, fencing), the
// reconciler (containers, one supervisor per instance) and the task runner.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>

#include "agent/options.hpp"
#include "agent/reconciler.hpp"
#include "agent/scope.hpp"
#include "agent/session.hpp"
#include "agent/tasks.hpp"
#include "docker/docker.hpp"
#include "http/http.hpp"
#include "store/store.hpp"

namespace berth::metrics {
class Registry;
}

namespace berth::agent {

class Agent : private TaskHost {
 public:
  Agent(boost::asio::any_io_executor executor, store::Store& store, docker::Docker& docker,
        Options options);
  ~Agent();

  // Starts the agent: it registers the host (retrying until etcd and dockerd answer), then
  // reconciles, probes and runs tasks until shutdown(); survives etcd and dockerd restarts.
  boost::asio::awaitable<void> run();
  // Waits until the host is registered (for `berth up`, which must not report ready before).
  boost::asio::awaitable<bool> wait_registered(std::chrono::steady_clock::duration timeout);
  // Stops everything the agent started. The containers run on and the lease is left to run
  // out: started again within its TTL, the agent takes it back and nothing fails over.
  boost::asio::awaitable<void> shutdown();
  // GET /v1/logs on the metrics listener: an instance's engine log (agent/logs.cpp).
  boost::asio::awaitable<http::Response> serve_logs(const http::ServerRequest& request);
  // Adds this host's instances and the agent's state to a scrape (agent/metrics.cpp).
  void collect_metrics(metrics::Registry& out) const;

  const HostSession& session() const { return session_; }
  Reconciler& reconciler() { return reconciler_; }

 private:
  boost::asio::awaitable<void> boot();

  // TaskHost
  int64_t lease() const override { return session_.lease(); }
  bool fenced() const override { return session_.fenced(); }
  const Supervisor* instance(const std::string& key) const override {
    return reconciler_.find(key);
  }
  void restore_next(const std::string& key, std::shared_ptr<RestoreData> data) override {
    reconciler_.restore_next(key, std::move(data));
  }
  void restore_drop(const std::string& key, const std::shared_ptr<RestoreData>& data) override {
    reconciler_.restore_drop(key, data);
  }
  bool restore_pending(const std::string& key) const override {
    return reconciler_.restore_pending(key);
  }
  void reconcile_soon() override { reconciler_.wake(); }
  boost::asio::awaitable<void> ensure_image(const model::Allocation& allocation) override {
    return reconciler_.ensure_image(allocation);
  }
  boost::asio::awaitable<std::string> live_volume(const model::Allocation& a) override {
    return reconciler_.live_volume(a);
  }
  std::string fresh_volume(const model::Allocation& a) const override {
    return reconciler_.fresh_volume(a);
  }
  void use_volume_next(const std::string& key, const std::string& volume) override {
    reconciler_.use_volume_next(key, volume);
  }
  boost::asio::awaitable<void> keep_as_orphan(const std::string& volume,
                                              const std::string& database_id, int n,
                                              const std::string& reason) override {
    return reconciler_.keep_as_orphan(volume, database_id, n, reason);
  }
  boost::asio::awaitable<void> adopt_orphan(const std::string& volume) override {
    return reconciler_.adopt_orphan(volume);
  }

  store::Store& store_;
  docker::Docker& docker_;
  Options options_;
  HostSession session_;
  Reconciler reconciler_;
  TaskRunner tasks_;
  Scope scope_;
};

}  // namespace berth::agent
