// memcached: a cache, not a store. Image from the machine's memcached, -m from the memory
// limit, no replication and no persistence (re-created empty when its host is lost), health and
// metrics from `stats`: over the open text protocol, or with a password over the binary
// protocol after SASL PLAIN (a sasldb made in the container at start).
#pragma once

#include <map>

#include "engines/engine.hpp"

namespace berth::engines {

class MemcachedEngine : public Engine {
 public:
  std::string name() const override { return "memcached"; }
  std::string version() const override;
  int port() const override { return 11211; }
  Capabilities capabilities() const override {
    return {.replication = false,
            .persistent = false,
            .users = true,  // with a password: SASL's user
            .shrink_in_place = true,
            .password_optional = true};
  }
  std::string user() const override { return "berth"; }
  std::string connect_command(const std::string& address, int port, const std::string& password,
                              const std::string& dbname) const override;
  std::vector<std::string> notes(bool has_password) const override;
  ImageRecipe image_recipe() const override;
  docker::ContainerSpec container_spec(const model::Allocation& allocation) const override;
  std::vector<RootfsFile> secret_files(const model::Allocation& allocation) const override;
  boost::asio::awaitable<ProbeResult> probe(
      boost::asio::any_io_executor executor, const std::string& ip, int port,
      const std::string& password,
      std::chrono::milliseconds timeout = std::chrono::milliseconds(1000)) const override;
  // Every instance is a primary of its own: nothing to apply.
  boost::asio::awaitable<void> apply_role(boost::asio::any_io_executor, const std::string&, int,
                                          const std::string&, const RoleConfig&,
                                          const ProbeResult&) const override {
    co_return;
  }
  // No replication, so no switchover: the API never asks.
  boost::asio::awaitable<int64_t> pause_writes(boost::asio::any_io_executor, const std::string&,
                                               int, const std::string&,
                                               std::chrono::milliseconds) const override {
    throw std::logic_error("memcached has no replicas to switch over to");
  }
  boost::asio::awaitable<void> resume_writes(boost::asio::any_io_executor, const std::string&, int,
                                             const std::string&) const override {
    co_return;
  }
  boost::asio::awaitable<void> follow(boost::asio::any_io_executor, const std::string&, int,
                                      const std::string&, const std::string&, int) const override {
    co_return;
  }
  boost::asio::awaitable<void> resize(boost::asio::any_io_executor executor, const std::string& ip,
                                      int port, const std::string& password,
                                      int64_t memory_mb) const override;
  // SASL reads its password database at every login: a new one in the container is a new
  // password, set live (made with saslpasswd2 for the container's host name, SASL's realm).
  boost::asio::awaitable<std::vector<RootfsFile>> password_files(
      boost::asio::any_io_executor executor, const model::Allocation& allocation,
      const std::string& hostname) const override;
  boost::asio::awaitable<void> set_password(boost::asio::any_io_executor, const std::string&, int,
                                            const std::string&, const std::string&) const override {
    co_return;  // the files did it
  }

  // With SASL the text protocol (and its cache_memlimit) is off: a new limit needs a restart.
  bool resize_restarts(const model::Allocation& allocation) const override {
    return !allocation.password.empty();
  }

  // The item memory memcached may use (-m, cache_memlimit): the rest of the container's limit
  // is left for connections, hash table and slab overhead.
  static int64_t item_memory_mb(int64_t memory_mb);
};

}  // namespace berth::engines
