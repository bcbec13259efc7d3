// Test support: an engine whose instances live in a FakeDocker. An instance answers its probe
// while a running container holds its address; apply_role is recorded and remembered, so a
// test sees every role the agent asked for (promote, follow, fence) and in what order.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "engines/engine.hpp"
#include "support/fake_docker.hpp"

namespace berth::test {

class FakeEngine : public engines::Engine {
 public:
  struct Applied {
    std::string ip;
    engines::RoleConfig config;
  };
  struct State {
    std::string role = "primary";
    std::string primary_ip;
    bool writes_paused = false;
    std::string password;  // "" takes any
  };

  explicit FakeEngine(FakeDocker& docker) : docker_(docker) {}

  const std::vector<Applied>& applied() const { return applied_; }
  std::map<std::string, State>& instances() { return instances_; }  // by ip

  // Like memcached with a password: a new memory limit takes a new container.
  void set_resize_restarts(bool restarts) { resize_restarts_ = restarts; }
  bool resize_restarts(const model::Allocation&) const override { return resize_restarts_; }

  std::string name() const override { return "fake"; }
  std::string version() const override { return "1"; }
  int port() const override { return 1; }
  engines::Capabilities capabilities() const override {
    engines::Capabilities c;
    c.replication = c.persistent = true;
    return c;
  }
  std::string connect_command(const std::string&, int, const std::string&,
                              const std::string&) const override {
    return "";
  }
  engines::ImageRecipe image_recipe() const override {
    engines::ImageRecipe r;
    r.repo = "berth/fake";
    r.tag = "1";
    return r;
  }
  docker::ContainerSpec container_spec(const model::Allocation& a) const override {
    docker::ContainerSpec spec;
    spec.name = engines::container_name(a);
    spec.image = image_recipe().reference();
    spec.memory_bytes = a.memory_mb * 1024 * 1024;
    spec.volumes[engines::volume_name(a)] = data_dir();
    return spec;
  }
  boost::asio::awaitable<engines::ProbeResult> probe(boost::asio::any_io_executor,
                                                     const std::string& ip, int,
                                                     const std::string& password,
                                                     std::chrono::milliseconds) const override {
    engines::ProbeResult r;
    bool running = false;
    for (auto& [id, c] : docker_.containers())
      for (auto& [net, address] : c.info.ips) running |= address == ip && c.info.running;
    if (!running) {
      r.message = "connection refused";
      co_return r;
    }
    auto& s = const_cast<FakeEngine*>(this)->instances_[ip];
    if (!s.password.empty() && password != s.password) {
      r.message = "AUTH refused";
      r.refused_password = true;
      co_return r;
    }
    r.healthy = true;
    r.role = s.role;
    r.primary_host = s.primary_ip;
    r.writes_paused = s.writes_paused;
    r.link_up = s.role == "replica";
    co_return r;
  }
  boost::asio::awaitable<void> apply_role(boost::asio::any_io_executor, const std::string& ip, int,
                                          const std::string&, const engines::RoleConfig& config,
                                          const engines::ProbeResult&) const override {
    auto* self = const_cast<FakeEngine*>(this);
    self->applied_.push_back({ip, config});
    auto& s = self->instances_[ip];
    s.role = config.role;
    s.primary_ip = config.primary_ip;
    s.writes_paused = config.fenced;
    co_return;
  }
  boost::asio::awaitable<int64_t> pause_writes(boost::asio::any_io_executor, const std::string&,
                                               int, const std::string&,
                                               std::chrono::milliseconds) const override {
    co_return 0;
  }
  boost::asio::awaitable<void> resume_writes(boost::asio::any_io_executor, const std::string&, int,
                                             const std::string&) const override {
    co_return;
  }
  boost::asio::awaitable<void> follow(boost::asio::any_io_executor, const std::string&, int,
                                      const std::string&, const std::string&, int) const override {
    co_return;
  }
  boost::asio::awaitable<void> set_password(boost::asio::any_io_executor, const std::string& ip,
                                            int, const std::string& current,
                                            const std::string& next) const override {
    auto& s = const_cast<FakeEngine*>(this)->instances_[ip];
    if (!s.password.empty() && current != s.password) throw std::runtime_error("AUTH refused");
    s.password = next;
    co_return;
  }
  boost::asio::awaitable<void> resize(boost::asio::any_io_executor, const std::string&, int,
                                      const std::string&, int64_t) const override {
    co_return;
  }

 private:
  FakeDocker& docker_;
  std::vector<Applied> applied_;
  std::map<std::string, State> instances_;
  bool resize_restarts_ = false;
};

}  // namespace berth::test
