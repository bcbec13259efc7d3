// PostgreSQL 15: image from the machine's Debian binaries (server, its share and library
// folders, the time zones), initdb on first start into the data volume with the SQL user
// berth and a database named like the berth database, memory settings derived from the limit,
// health and role over the PostgreSQL protocol (libpq). One instance per database for now.
#pragma once

#include "engines/engine.hpp"
#include "engines/postgres/pq.hpp"

namespace berth::engines {

class PostgresEngine : public Engine {
 public:
  static constexpr const char* kBin = "/usr/lib/postgresql/15/bin";

  std::string name() const override { return "postgres"; }
  std::string version() const override;
  int port() const override { return 5432; }
  int64_t min_memory_mb() const override { return 128; }
  Capabilities capabilities() const override {
    return {.replication = false,
            .persistent = true,
            .users = true,
            .shrink_in_place = false,
            .backups = false};
  }
  std::string user() const override { return "berth"; }
  std::string sql_database(const std::string& database_name) const override {
    return database_name;
  }
  std::string connect_command(const std::string& address, int port, const std::string& password,
                              const std::string& dbname) const override;
  ImageRecipe image_recipe() const override;
  docker::ContainerSpec container_spec(const model::Allocation& allocation) const override;
  std::vector<RootfsFile> secret_files(const model::Allocation& allocation) const override;
  boost::asio::awaitable<ProbeResult> probe(
      boost::asio::any_io_executor executor, const std::string& ip, int port,
      const std::string& password,
      std::chrono::milliseconds timeout = std::chrono::milliseconds(1000)) const override;
  // The only role is primary; a fenced one takes no writes (default_transaction_read_only,
  // kept across its restarts, and its client sessions ended so none goes on writing).
  boost::asio::awaitable<void> apply_role(boost::asio::any_io_executor executor,
                                          const std::string& ip, int port,
                                          const std::string& password, const RoleConfig& config,
                                          const ProbeResult& current) const override;
  boost::asio::awaitable<int64_t> pause_writes(boost::asio::any_io_executor, const std::string&,
                                               int, const std::string&,
                                               std::chrono::milliseconds) const override {
    throw std::logic_error("postgres has no replicas to switch over to yet");
  }
  boost::asio::awaitable<void> resume_writes(boost::asio::any_io_executor, const std::string&, int,
                                             const std::string&) const override {
    co_return;
  }
  boost::asio::awaitable<void> follow(boost::asio::any_io_executor, const std::string&, int,
                                      const std::string&, const std::string&, int) const override {
    co_return;
  }
  // shared_buffers takes a restart: a new limit is a new container, with settings made for it.
  bool resize_restarts(const model::Allocation&) const override { return true; }
  boost::asio::awaitable<void> resize(boost::asio::any_io_executor, const std::string&, int,
                                      const std::string&, int64_t) const override {
    co_return;
  }
  boost::asio::awaitable<void> set_password(boost::asio::any_io_executor executor,
                                            const std::string& ip, int port,
                                            const std::string& current,
                                            const std::string& next) const override;

  // The server's settings for a memory limit, as `-c name=value` takes them.
  static std::vector<std::pair<std::string, std::string>> settings(int64_t memory_mb);
  // What one probe row says.
  static ProbeResult read_probe(const std::vector<pg::Row>& rows);
};

}  // namespace berth::engines
