// Redis: image from the machine's redis-server, AOF persistence on a volume, maxmemory a
// little below the container limit, health by AUTH + PING + INFO over RESP.
#pragma once

#include "engines/engine.hpp"

namespace berth::engines {

class RedisEngine : public Engine {
 public:
  std::string name() const override { return "redis"; }
  std::string version() const override;
  int port() const override { return 6379; }
  ImageRecipe image_recipe() const override;
  docker::ContainerSpec container_spec(const model::Allocation& allocation) const override;
  boost::asio::awaitable<ProbeResult> probe(boost::asio::any_io_executor executor,
                                            const std::string& ip, int port,
                                            const std::string& password) const override;

  // The memory Redis itself may use: room is left for buffers, fragmentation and forks.
  static int64_t maxmemory_bytes(int64_t memory_mb);
  // Parses "field:value" lines of INFO output.
  static std::string info_field(const std::string& info, const std::string& field);
  // RESP encoding of one command.
  static std::string command(const std::vector<std::string>& args);
};

}  // namespace berth::engines
