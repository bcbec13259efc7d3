// Redis: image from the machine's redis-server, AOF persistence on a volume, maxmemory a
// little below the container limit, health by AUTH + PING + INFO over RESP.
#pragma once

#include <functional>
#include <string_view>

#include "engines/engine.hpp"
#include "engines/redis/rdb_stream.hpp"
#include "engines/redis/resp.hpp"

namespace berth::engines {

class RedisEngine : public Engine {
 public:
  // min-replicas-to-write on a fenced primary: no database has this many replicas.
  static constexpr int kFencedMinReplicas = resp::kFencedMinReplicas;

  std::string name() const override { return "redis"; }
  std::string version() const override;
  int port() const override { return 6379; }
  Capabilities capabilities() const override {
    return {.replication = true, .persistent = true, .users = false, .shrink_in_place = true};
  }
  std::string connect_command(const std::string& address, int port, const std::string& password,
                              const std::string& /*dbname*/) const override {
    return "redis-cli -h " + address + " -p " + std::to_string(port) + " -a " + password;
  }
  ImageRecipe image_recipe() const override;
  docker::ContainerSpec container_spec(const model::Allocation& allocation) const override;
  std::vector<RootfsFile> secret_files(const model::Allocation& allocation) const override;
  boost::asio::awaitable<ProbeResult> probe(
      boost::asio::any_io_executor executor, const std::string& ip, int port,
      const std::string& password,
      std::chrono::milliseconds timeout = std::chrono::milliseconds(1000)) const override;

  boost::asio::awaitable<void> apply_role(boost::asio::any_io_executor executor,
                                          const std::string& ip, int port,
                                          const std::string& password, const RoleConfig& config,
                                          const ProbeResult& current) const override;
  boost::asio::awaitable<int64_t> pause_writes(boost::asio::any_io_executor executor,
                                               const std::string& ip, int port,
                                               const std::string& password,
                                               std::chrono::milliseconds hold) const override;
  boost::asio::awaitable<void> resume_writes(boost::asio::any_io_executor executor,
                                             const std::string& ip, int port,
                                             const std::string& password) const override;
  boost::asio::awaitable<void> follow(boost::asio::any_io_executor executor, const std::string& ip,
                                      int port, const std::string& password,
                                      const std::string& primary_ip,
                                      int primary_port) const override;
  boost::asio::awaitable<void> resize(boost::asio::any_io_executor executor, const std::string& ip,
                                      int port, const std::string& password,
                                      int64_t memory_mb) const override;
  boost::asio::awaitable<void> set_password(boost::asio::any_io_executor executor,
                                            const std::string& ip, int port,
                                            const std::string& current,
                                            const std::string& next) const override;

  std::string streamed_backup_file() const override { return "dump.rdb"; }
  boost::asio::awaitable<void> stream_backup(
      boost::asio::any_io_executor executor, const std::string& ip, int port,
      const std::string& password,
      const std::function<void(std::string_view)>& on_data) const override;
  boost::asio::awaitable<std::vector<std::string>> snapshot_for_backup(
      boost::asio::any_io_executor executor, const std::string& ip, int port,
      const std::string& password) const override;
  std::vector<RootfsFile> restore_files(
      const std::map<std::string, std::string>& backup_files) const override;
  std::vector<std::string> verify_command(const std::string& dir) const override {
    return {"/usr/bin/redis-check-rdb", dir + "/dump.rdb"};
  }
  Verification read_verification(int exit_code, const std::string& output) const override;
  int64_t data_memory_bytes(int64_t memory_mb) const override { return maxmemory_bytes(memory_mb); }

  // Sends commands (after AUTH) in one round trip; returns the raw replies.
  static boost::asio::awaitable<std::string> call(
      boost::asio::any_io_executor executor, const std::string& ip, int port,
      const std::string& password, const std::vector<std::vector<std::string>>& commands);

  // The memory Redis itself may use: room is left for buffers, fragmentation and forks.
  static int64_t maxmemory_bytes(int64_t memory_mb);
};

}  // namespace berth::engines
