// Redis: image from the machine's redis-server, AOF persistence on a volume, maxmemory a
// little below the container limit, health by AUTH + PING + INFO over RESP.
#pragma once

#include <functional>
#include <string_view>

#include "engines/engine.hpp"

namespace berth::engines {

class RedisEngine : public Engine {
 public:
  std::string name() const override { return "redis"; }
  std::string version() const override;
  int port() const override { return 6379; }
  Capabilities capabilities() const override {
    return {.replication = true, .persistent = true, .users = false, .shrink_in_place = true};
  }
  std::string connect_command(const std::string& address, int port,
                              const std::string& password) const override {
    return "redis-cli -h " + address + " -p " + std::to_string(port) + " -a " + password;
  }
  ImageRecipe image_recipe() const override;
  docker::ContainerSpec container_spec(const model::Allocation& allocation) const override;
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
  // Parses "field:value" lines of INFO output.
  static std::string info_field(const std::string& info, const std::string& field);
  // RESP encoding of one command.
  static std::string command(const std::vector<std::string>& args);
};

// What a replica receives from SYNC, taken apart: the replies to the commands sent before it,
// newlines the master sends while it forks, then the RDB as "$<length>\r\n<bytes>" or, streamed
// from the fork without touching the master's disk, "$EOF:<40-byte mark>\r\n<bytes><mark>".
// Hands the RDB's bytes to the sink as they come. Pure: the unit tests feed it by hand.
class RdbStream {
 public:
  RdbStream(int replies_before, std::function<void(std::string_view)> sink)
      : replies_left_(replies_before), sink_(std::move(sink)) {}
  // Takes the next bytes; false once the RDB is complete. Throws when the first reply (AUTH)
  // is an error or the master answers SYNC with one.
  bool feed(std::string_view data);
  bool done() const { return state_ == State::Done; }
  // The replies before SYNC are all in: time to send it.
  bool replies_done() const { return state_ != State::Replies; }
  int64_t payload_bytes() const { return payload_bytes_; }

 private:
  enum class State { Replies, Header, Counted, Marked, Done };
  void emit(std::string_view piece);
  State state_ = State::Replies;
  int replies_left_;
  int replies_seen_ = 0;
  std::string line_;
  int64_t remaining_ = 0;
  std::string mark_, tail_;  // Marked: the mark, and the last bytes held back until more come
  int64_t payload_bytes_ = 0;
  std::function<void(std::string_view)> sink_;
};

}  // namespace berth::engines
