#include "engines/engine.hpp"

#include "engines/memcached/memcached.hpp"
#include "engines/redis/redis.hpp"
#include "engines/tarantool/tarantool.hpp"

namespace berth::engines {

std::vector<const Engine*> all_engines() {
  static const RedisEngine redis;
  static const TarantoolEngine tarantool;
  static const MemcachedEngine memcached;
  return {&redis, &tarantool, &memcached};
}

const Engine* find_engine(const std::string& name) {
  for (auto* e : all_engines())
    if (e->name() == name) return e;
  return nullptr;
}

std::string engine_names() {
  std::string out;
  for (auto* e : all_engines()) out += (out.empty() ? "" : ", ") + e->name();
  return out;
}

boost::asio::awaitable<std::vector<RootfsFile>> Engine::password_files(
    boost::asio::any_io_executor executor, const model::Allocation& allocation,
    const std::string& hostname) const {
  (void)executor;
  (void)hostname;
  co_return secret_files(allocation);
}

std::string container_name(const model::Allocation& a) {
  return "berth-" + a.database_name + "-" + a.database_id.substr(0, 6) + "-" + std::to_string(a.n);
}

std::string volume_name(const model::Allocation& a) {
  return volume_name(a.database_id, a.n);
}

std::string volume_name(const std::string& database_id, int n) {
  return "berth-" + database_id + "-" + std::to_string(n);
}

}  // namespace berth::engines
