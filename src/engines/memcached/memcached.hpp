// memcached: a cache, not a store. Image from the machine's memcached, -m from the memory
// limit, no replication and no persistence (re-created empty when its host is lost), health and
// metrics from `stats` over the text protocol.
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
            .users = false,
            .shrink_in_place = true,
            .password_optional = true,
            // SASL needs a sasldb per database inside the container: not there yet.
            .password_auth = false};
  }
  std::string connect_command(const std::string& address, int port,
                              const std::string&) const override {
    return "telnet " + address + " " + std::to_string(port);
  }
  std::vector<std::string> notes(bool has_password) const override;
  ImageRecipe image_recipe() const override;
  docker::ContainerSpec container_spec(const model::Allocation& allocation) const override;
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
  boost::asio::awaitable<void> resize(boost::asio::any_io_executor executor, const std::string& ip,
                                      int port, const std::string& password,
                                      int64_t memory_mb) const override;

  // The item memory memcached may use (-m, cache_memlimit): the rest of the container's limit
  // is left for connections, hash table and slab overhead.
  static int64_t item_memory_mb(int64_t memory_mb);
  // "STAT name value" lines of a stats reply, by name.
  static std::map<std::string, std::string> parse_stats(const std::string& reply);
};

}  // namespace berth::engines
