// Tarantool: image from the machine's tarantool, a generated init script (memtx_memory from
// the memory limit, a user with the database password, data in the volume), replicas that
// follow the primary and stay read-only, and health, role and metrics over iproto.
#pragma once

#include "engines/engine.hpp"

namespace berth::engines {

class TarantoolEngine : public Engine {
 public:
  std::string name() const override { return "tarantool"; }
  std::string version() const override;
  int port() const override { return 3301; }
  int64_t min_memory_mb() const override { return 64; }
  Capabilities capabilities() const override {
    // memtx_memory can only grow while Tarantool runs.
    return {.replication = true,
            .persistent = true,
            .users = true,
            .shrink_in_place = false,
            .restore_reseeds_replicas = true};
  }
  std::string user() const override { return "berth"; }
  std::string connect_command(const std::string& address, int port, const std::string& password,
                              const std::string& /*dbname*/) const override {
    // Not `tarantoolctl connect`: its console evaluates Lua, which the user may not.
    return "tarantool -i -e \"conn = require('net.box').connect('" + user() + ":" + password + "@" +
           address + ":" + std::to_string(port) + "')\"";
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

  boost::asio::awaitable<std::vector<std::string>> snapshot_for_backup(
      boost::asio::any_io_executor executor, const std::string& ip, int port,
      const std::string& password) const override;
  std::vector<RootfsFile> restore_files(
      const std::map<std::string, std::string>& backup_files) const override;
  std::vector<std::string> verify_command(const std::string& dir) const override;
  Verification read_verification(int exit_code, const std::string& output) const override;
  int64_t data_memory_bytes(int64_t memory_mb) const override;

  static int64_t memtx_memory_bytes(int64_t memory_mb);
  // The generated init script for one instance.
  static std::string init_script(const model::Allocation& allocation);
  // The Tarantool instance UUID of instance n of a database, the same on every re-creation.
  static std::string instance_uuid(const std::string& database_id, int n);
};

}  // namespace berth::engines
