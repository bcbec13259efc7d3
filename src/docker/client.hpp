// The Docker Engine API (v1.41) over dockerd's unix socket: images, containers, networks,
// volumes and the events stream. Only the calls berth needs, each one coroutine.
#pragma once

#include <memory>

#include "docker/docker.hpp"

namespace berth::http {
class Client;
}

namespace berth::docker {

class Client final : public Docker {
 public:
  // endpoint: "unix:///var/run/docker.sock" or a bare socket path.
  Client(asio::any_io_executor executor, std::string endpoint);
  ~Client() override;

  const std::string& endpoint() const override { return endpoint_; }

  asio::awaitable<bool> ping(std::chrono::milliseconds timeout = std::chrono::seconds(5)) override;
  asio::awaitable<json> version();
  asio::awaitable<json> info() override;

  asio::awaitable<std::optional<json>> image_inspect(const std::string& name) override;
  asio::awaitable<void> image_import(const std::string& tar, const std::string& repo,
                                     const std::string& tag,
                                     const std::vector<std::string>& changes) override;
  asio::awaitable<void> image_pull(const std::string& reference) override;

  asio::awaitable<std::string> container_create(const ContainerSpec& spec) override;
  asio::awaitable<void> container_start(const std::string& id) override;
  asio::awaitable<void> container_stop(const std::string& id, int timeout_seconds = 10) override;
  asio::awaitable<void> container_kill(const std::string& id,
                                       const std::string& signal = "KILL") override;
  asio::awaitable<void> container_remove(const std::string& id) override;
  asio::awaitable<std::optional<ContainerInfo>> container_inspect(const std::string& id) override;
  asio::awaitable<std::vector<ContainerInfo>> container_list(
      const std::string& label_key, const std::string& label_value = "") override;
  asio::awaitable<std::optional<std::string>> archive_get(const std::string& id,
                                                          const std::string& path) override;
  asio::awaitable<void> archive_put(const std::string& id, const std::string& path,
                                    const std::string& tar) override;
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
  asio::awaitable<void> network_create(const NetworkSpec& spec) override;
  asio::awaitable<void> volume_remove(const std::string& name) override;
  asio::awaitable<void> volume_create(const std::string& name) override;
  asio::awaitable<std::string> volume_mountpoint(const std::string& name) override;
  asio::awaitable<std::vector<std::string>> volume_list(const std::string& part) override;
  asio::awaitable<std::map<std::string, int64_t>> volume_sizes() override;

  // Follows /events (container events only when filters are empty) until on_event returns
  // false or the daemon closes the stream. on_connected runs once the daemon has accepted the
  // subscription: events after that moment are delivered.
  asio::awaitable<void> events(std::function<bool(const json&)> on_event,
                               const json& filters = json::object(),
                               std::function<void()> on_connected = nullptr);

 private:
  asio::awaitable<json> call(const std::string& method, const std::string& target,
                             const std::string& body = "", int ok_status = 0);

  std::string endpoint_;
  std::unique_ptr<http::Client> http_;
};

}  // namespace berth::docker
