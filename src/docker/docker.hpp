// The Docker Engine API (v1.41) over dockerd's unix socket: images, containers, networks,
// volumes and the events stream. Only the calls berth needs, each one coroutine.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace berth::http {
class Client;
}

namespace berth::docker {

namespace asio = boost::asio;
using nlohmann::json;

// dockerd answered with an error status; message is Docker's own "message".
struct Error : std::runtime_error {
  int status;
  Error(int status, const std::string& message) : std::runtime_error(message), status(status) {}
};

struct ContainerSpec {
  std::string name;
  std::string image;
  std::vector<std::string> cmd;  // empty: the image's CMD
  std::vector<std::string> env;
  std::map<std::string, std::string> labels;
  int64_t memory_bytes = 0;  // 0: no limit
  double cpus = 0;           // 0: no limit
  std::string network;       // a network name; empty: none
  std::string ip;            // a fixed IPv4 address on that network
  // Named volumes: volume name -> mount path in the container (created when missing).
  std::map<std::string, std::string> volumes;
  std::string restart_policy = "unless-stopped";
  std::string user;  // "uid:gid"; empty: the image's (root)
};

struct ContainerInfo {
  std::string id;
  std::string name;  // without the leading '/'
  std::string image;
  std::string state;  // created, running, exited, ...
  bool running = false;
  int restart_count = 0;
  int pid = 0;  // the container's main process on the host (inspect only)
  int exit_code = 0;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> ips;  // network name -> IPv4 address
  int64_t memory_bytes = 0;
};

struct NetworkSpec {
  std::string name;
  std::string driver = "bridge";  // bridge, macvlan, ipvlan
  std::string subnet;             // CIDR
  std::string gateway;
  std::map<std::string, std::string> options;  // e.g. parent=eth0 for macvlan
  std::map<std::string, std::string> labels;
};

class Client {
 public:
  // endpoint: "unix:///var/run/docker.sock" or a bare socket path.
  Client(asio::any_io_executor executor, std::string endpoint);
  ~Client();

  const std::string& endpoint() const { return endpoint_; }

  asio::awaitable<bool> ping(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  asio::awaitable<json> version();
  asio::awaitable<json> info();  // /info: MemTotal, NCPU, ...

  // Images.
  asio::awaitable<std::optional<json>> image_inspect(const std::string& name);  // nullopt: absent
  // Imports a tar of a root filesystem as repo:tag; changes are Dockerfile lines (CMD [...]).
  asio::awaitable<void> image_import(const std::string& tar, const std::string& repo,
                                     const std::string& tag,
                                     const std::vector<std::string>& changes);

  // Pulls repo[:tag] from its registry (a named engine image missing on this host).
  asio::awaitable<void> image_pull(const std::string& reference);

  // Containers. create returns the id; a name already taken throws Error with status 409.
  asio::awaitable<std::string> container_create(const ContainerSpec& spec);
  asio::awaitable<void> container_start(const std::string& id);
  asio::awaitable<void> container_stop(const std::string& id, int timeout_seconds = 10);
  asio::awaitable<void> container_kill(const std::string& id, const std::string& signal = "KILL");
  // Removes with force (and its anonymous volumes); absent is not an error.
  asio::awaitable<void> container_remove(const std::string& id);
  asio::awaitable<std::optional<ContainerInfo>> container_inspect(const std::string& id);
  // Every container (running or not) that carries label key=value (or just key when value is
  // empty).
  asio::awaitable<std::vector<ContainerInfo>> container_list(const std::string& label_key,
                                                             const std::string& label_value = "");
  // A tar of path in the container (GET /containers/{id}/archive); nullopt when absent.
  asio::awaitable<std::optional<std::string>> archive_get(const std::string& id,
                                                          const std::string& path);
  // Unpacks a tar into directory path of the container, running or not.
  asio::awaitable<void> archive_put(const std::string& id, const std::string& path,
                                    const std::string& tar);
  // The same, with a tar of `size` bytes produced piece by piece by next (empty at the end):
  // a restore of any size puts its data in without holding it whole.
  asio::awaitable<void> archive_put_stream(const std::string& id, const std::string& path,
                                           int64_t size,
                                           std::function<asio::awaitable<std::string>()> next);
  // Waits until the container stops; returns its exit code.
  asio::awaitable<int> container_wait(const std::string& id, std::chrono::seconds timeout);
  // Its output so far, stdout and stderr together.
  asio::awaitable<std::string> container_logs(const std::string& id);
  // Changes the memory limit of a running container in place.
  asio::awaitable<void> container_update_memory(const std::string& id, int64_t memory_bytes);

  // Networks and volumes.
  asio::awaitable<std::optional<json>> network_inspect(const std::string& name);
  asio::awaitable<void> network_create(const NetworkSpec& spec);
  asio::awaitable<void> volume_remove(const std::string& name);  // absent is not an error

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
