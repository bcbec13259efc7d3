// The Docker Engine API as berth uses it: the types of its requests and answers, and the
// Docker interface of the calls berth makes (docker/client.hpp implements it over dockerd).
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
  // Volumes of this container alone (mount paths): made empty with it, removed with it.
  std::vector<std::string> scratch_volumes;
  std::string restart_policy = "unless-stopped";
  std::string user;  // "uid:gid"; empty: the image's (root)
  // Hardening, on unless a container needs otherwise: every capability dropped but cap_add, no
  // privilege gained through setuid files, and a bound on its processes and threads.
  std::vector<std::string> cap_add;
  bool drop_capabilities = true;
  bool no_new_privileges = true;
  bool read_only_rootfs = false;  // writable: its volumes only
  int64_t pids_limit = 512;
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

// The Engine API calls berth makes, as an interface: Client speaks to a real dockerd; tests
// and `berth sim` put a fake in its place (tests/support/fake_docker.hpp).
class Docker {
 public:
  virtual ~Docker() = default;

  // Where a child process reaches the same daemon (`berth image build --docker-socket`).
  virtual const std::string& endpoint() const = 0;

  virtual asio::awaitable<bool> ping(
      std::chrono::milliseconds timeout = std::chrono::seconds(5)) = 0;
  virtual asio::awaitable<json> info() = 0;  // /info: MemTotal, NCPU, ...

  // Images.
  // nullopt: absent.
  virtual asio::awaitable<std::optional<json>> image_inspect(const std::string& name) = 0;
  // Imports a tar of a root filesystem as repo:tag; changes are Dockerfile lines (CMD [...]).
  virtual asio::awaitable<void> image_import(const std::string& tar, const std::string& repo,
                                             const std::string& tag,
                                             const std::vector<std::string>& changes) = 0;
  // Pulls repo[:tag] from its registry (a named engine image missing on this host).
  virtual asio::awaitable<void> image_pull(const std::string& reference) = 0;

  // Containers. create returns the id; a name already taken throws Error with status 409.
  virtual asio::awaitable<std::string> container_create(const ContainerSpec& spec) = 0;
  virtual asio::awaitable<void> container_start(const std::string& id) = 0;
  virtual asio::awaitable<void> container_stop(const std::string& id, int timeout_seconds = 10) = 0;
  virtual asio::awaitable<void> container_kill(const std::string& id,
                                               const std::string& signal = "KILL") = 0;
  // Removes with force (and its anonymous volumes); absent is not an error.
  virtual asio::awaitable<void> container_remove(const std::string& id) = 0;
  virtual asio::awaitable<std::optional<ContainerInfo>> container_inspect(
      const std::string& id) = 0;
  // Every container (running or not) that carries label key=value (or just key when value is
  // empty).
  virtual asio::awaitable<std::vector<ContainerInfo>> container_list(
      const std::string& label_key, const std::string& label_value = "") = 0;
  // A tar of path in the container (GET /containers/{id}/archive); nullopt when absent.
  virtual asio::awaitable<std::optional<std::string>> archive_get(const std::string& id,
                                                                  const std::string& path) = 0;
  // Unpacks a tar into directory path of the container, running or not.
  virtual asio::awaitable<void> archive_put(const std::string& id, const std::string& path,
                                            const std::string& tar) = 0;
  // The same, with a tar of `size` bytes produced piece by piece by next (empty at the end):
  // a restore of any size puts its data in without holding it whole.
  virtual asio::awaitable<void> archive_put_stream(
      const std::string& id, const std::string& path, int64_t size,
      std::function<asio::awaitable<std::string>()> next) = 0;
  // Waits until the container stops; returns its exit code.
  virtual asio::awaitable<int> container_wait(const std::string& id,
                                              std::chrono::seconds timeout) = 0;
  // Its output so far, stdout and stderr together.
  virtual asio::awaitable<std::string> container_logs(const std::string& id) = 0;
  // The last `tail` lines (stdout and stderr) written after Unix time since_seconds (0: any),
  // each line prefixed with Docker's RFC 3339 timestamp and a space.
  virtual asio::awaitable<std::string> container_log_lines(const std::string& id, int tail,
                                                           int64_t since_seconds) = 0;
  // Changes the memory limit of a running container in place.
  virtual asio::awaitable<void> container_update_memory(const std::string& id,
                                                        int64_t memory_bytes) = 0;

  // Networks and volumes.
  virtual asio::awaitable<std::optional<json>> network_inspect(const std::string& name) = 0;
  virtual asio::awaitable<void> network_create(const NetworkSpec& spec) = 0;
  // Absent is not an error.
  virtual asio::awaitable<void> volume_remove(const std::string& name) = 0;
  // Makes the volume (an existing one is kept as it is).
  virtual asio::awaitable<void> volume_create(const std::string& name) = 0;
  // Where the volume's files are on the Docker host ("" when the volume is unknown).
  virtual asio::awaitable<std::string> volume_mountpoint(const std::string& name) = 0;
  // The names of the volumes whose name contains `part`, oldest first.
  virtual asio::awaitable<std::vector<std::string>> volume_list(const std::string& part) = 0;
  // What each volume takes on disk, by name (-1 where Docker does not know).
  virtual asio::awaitable<std::map<std::string, int64_t>> volume_sizes() = 0;
};

}  // namespace berth::docker
