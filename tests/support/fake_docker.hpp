// Test support: Docker in memory. Containers, images, networks and volumes as dockerd keeps
// them, listed and inspected by label; start, stop, kill and crash (a restart count); calls can
// be made to fail, one name at a time, and dockerd can go "down" (every call fails).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "docker/docker.hpp"

namespace berth::test {

namespace asio = boost::asio;
using nlohmann::json;

class FakeDocker : public docker::Docker {
 public:
  struct Container {
    docker::ContainerSpec spec;
    docker::ContainerInfo info;
  };

  FakeDocker() = default;

  // Test controls.
  // Every call named `call` (e.g. "network_create") throws docker::Error(status, message)
  // until cleared with an empty message.
  void fail(const std::string& call, int status, const std::string& message);
  // dockerd stops answering: every call throws, ping says false.
  void set_down(bool down) { down_ = down; }
  // The container's process died and Docker's restart policy brought it back.
  void crash(const std::string& name_or_id);
  // A container's start takes this long (a slow disk, a loaded dockerd).
  void set_start_delay(std::chrono::milliseconds delay) { start_delay_ = delay; }
  // Adds an image as if built or pulled.
  void add_image(const std::string& reference) { images_.insert(reference); }

  // What the fake holds, for assertions.
  const std::map<std::string, Container>& containers() const { return containers_; }  // by id
  const Container* find(const std::string& name_or_id) const;
  const std::set<std::string>& volumes() const { return volumes_; }
  const std::map<std::string, docker::NetworkSpec>& networks() const { return networks_; }
  // Every call made, in order: "container_create berth-x", "container_remove <id>", ...
  const std::vector<std::string>& calls() const { return calls_; }
  int count(const std::string& call) const;
  void clear_calls() { calls_.clear(); }

  // docker::Docker
  const std::string& endpoint() const override { return endpoint_; }
  asio::awaitable<bool> ping(std::chrono::milliseconds timeout) override;
  asio::awaitable<json> info() override;
  asio::awaitable<std::optional<json>> image_inspect(const std::string& name) override;
  asio::awaitable<void> image_import(const std::string& tar, const std::string& repo,
                                     const std::string& tag,
                                     const std::vector<std::string>& changes) override;
  asio::awaitable<void> image_pull(const std::string& reference) override;
  asio::awaitable<std::string> container_create(const docker::ContainerSpec& spec) override;
  asio::awaitable<void> container_start(const std::string& id) override;
  asio::awaitable<void> container_stop(const std::string& id, int timeout_seconds) override;
  asio::awaitable<void> container_kill(const std::string& id, const std::string& signal) override;
  asio::awaitable<void> container_remove(const std::string& id) override;
  asio::awaitable<std::optional<docker::ContainerInfo>> container_inspect(
      const std::string& id) override;
  asio::awaitable<std::vector<docker::ContainerInfo>> container_list(
      const std::string& label_key, const std::string& label_value) override;
  asio::awaitable<std::optional<std::string>> archive_get(const std::string& id,
                                                          const std::string& path) override;
  asio::awaitable<void> archive_put(const std::string& id, const std::string& path,
                                    const std::string& tar) override;
  // Drains next and keeps the whole tar, as archive_put does.
  asio::awaitable<void> archive_put_stream(
      const std::string& id, const std::string& path, int64_t size,
      std::function<asio::awaitable<std::string>()> next) override;
  asio::awaitable<int> container_wait(const std::string& id, std::chrono::seconds timeout) override;
  asio::awaitable<std::string> container_logs(const std::string& id) override;
  asio::awaitable<std::string> container_log_lines(const std::string& id, int tail,
                                                   int64_t since_seconds) override;
  asio::awaitable<void> container_update_memory(const std::string& id,
                                                int64_t memory_bytes) override;
  asio::awaitable<std::optional<json>> network_inspect(const std::string& name) override;
  asio::awaitable<void> network_create(const docker::NetworkSpec& spec) override;
  asio::awaitable<void> volume_remove(const std::string& name) override;
  asio::awaitable<void> volume_create(const std::string& name) override;
  // "": the agent's restores go through archive_put, as with a Docker on another machine.
  asio::awaitable<std::string> volume_mountpoint(const std::string& name) override;
  asio::awaitable<std::vector<std::string>> volume_list(const std::string& part) override;
  asio::awaitable<std::map<std::string, int64_t>> volume_sizes() override;

 private:
  // Records the call, and throws when dockerd is down or the call is set to fail.
  void enter(const std::string& call, const std::string& argument);
  Container* lookup(const std::string& name_or_id);

  std::string endpoint_ = "fake://docker";
  bool down_ = false;
  std::chrono::milliseconds start_delay_{0};
  std::map<std::string, std::pair<int, std::string>> failing_;
  std::map<std::string, Container> containers_;
  std::set<std::string> images_;
  std::map<std::string, docker::NetworkSpec> networks_;
  std::set<std::string> volumes_;
  std::vector<std::string> volume_order_;  // as created, oldest first
  // archives put into containers: id -> path -> tar
  std::map<std::string, std::map<std::string, std::string>> archives_;
  std::vector<std::string> calls_;
  int next_id_ = 1;
};

}  // namespace berth::test
