#include "engines/engine.hpp"

#include "engines/memcached/memcached.hpp"
#include "engines/postgres/postgres.hpp"
#include "engines/redis/redis.hpp"
#include "engines/tarantool/tarantool.hpp"

namespace berth::engines {

std::vector<const Engine*> all_engines() {
  static const RedisEngine redis;
  static const TarantoolEngine tarantool;
  static const MemcachedEngine memcached;
  static const PostgresEngine postgres;
  return {&redis, &tarantool, &memcached, &postgres};
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

docker::ContainerSpec base_container_spec(const Engine& engine, const model::Allocation& a) {
  docker::ContainerSpec spec;
  spec.name = container_name(a);
  spec.image = a.image.empty() ? engine.image_recipe().reference() : a.image;
  spec.memory_bytes = a.memory_mb * 1024 * 1024;
  spec.user = kEngineUser;
  spec.read_only_rootfs = true;
  spec.scratch_volumes = {kSecretDir};
  return spec;
}

std::string secrets_tar(const std::vector<RootfsFile>& files) {
  std::vector<RootfsFile> relative;
  for (auto f : files) {
    if (!f.path.starts_with(kSecretDir + "/"))
      throw std::logic_error("a secret file outside " + kSecretDir + ": " + f.path);
    f.path = f.path.substr(kSecretDir.size() + 1);
    relative.push_back(std::move(f));
  }
  return make_tar(relative);
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
