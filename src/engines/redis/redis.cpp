#include "engines/redis/redis.hpp"

#include <cstdio>

#include "util/tcp_exchange.hpp"

namespace berth::engines {

std::string RedisEngine::version() const {
  // "Redis server v=7.0.15 sha=..." — read once; the binary does not change under us.
  static const std::string cached = [] {
    std::string out;
    if (FILE* p = popen("redis-server --version 2>/dev/null", "r")) {
      char buf[256];
      while (fgets(buf, sizeof buf, p)) out += buf;
      pclose(p);
    }
    auto v = out.find("v=");
    if (v == std::string::npos) return std::string();
    return out.substr(v + 2, out.find(' ', v) - v - 2);
  }();
  return cached;
}

ImageRecipe RedisEngine::image_recipe() const {
  ImageRecipe r;
  r.repo = "berth/redis";
  r.tag = version();
  r.binaries = {"/usr/bin/redis-server"};
  r.directories = {"/data", "/tmp"};
  r.changes = {R"(CMD ["/usr/bin/redis-server"])", "WORKDIR /data"};
  return r;
}

int64_t RedisEngine::maxmemory_bytes(int64_t memory_mb) {
  // 85% of the limit, leaving the rest for client buffers, fragmentation and AOF rewrites.
  return memory_mb * 1024 * 1024 * 85 / 100;
}

docker::ContainerSpec RedisEngine::container_spec(const model::Allocation& a) const {
  docker::ContainerSpec spec;
  spec.name = container_name(a);
  spec.image = a.image.empty() ? image_recipe().reference() : a.image;
  spec.cmd = {"/usr/bin/redis-server",
              "--port",
              std::to_string(a.port),
              "--bind",
              "0.0.0.0",
              "--protected-mode",
              "no",
              "--requirepass",
              a.password,
              "--masterauth",
              a.password,
              "--maxmemory",
              std::to_string(maxmemory_bytes(a.memory_mb)),
              "--maxmemory-policy",
              "noeviction",
              "--appendonly",
              "yes",
              "--appendfsync",
              "everysec",
              "--save",
              "",
              "--dir",
              "/data"};
  spec.memory_bytes = a.memory_mb * 1024 * 1024;
  spec.volumes[volume_name(a)] = "/data";
  return spec;
}

std::string RedisEngine::command(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (auto& a : args) out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return out;
}

std::string RedisEngine::info_field(const std::string& info, const std::string& field) {
  auto pos = info.find("\n" + field + ":");
  size_t start;
  if (info.rfind(field + ":", 0) == 0)
    start = field.size() + 1;
  else if (pos != std::string::npos)
    start = pos + field.size() + 2;
  else
    return {};
  auto end = info.find_first_of("\r\n", start);
  return info.substr(start, end - start);
}

namespace {

// Counts complete RESP replies (simple, error, integer and bulk strings) in buf.
int complete_replies(const std::string& buf) {
  int count = 0;
  size_t pos = 0;
  while (pos < buf.size()) {
    auto eol = buf.find("\r\n", pos);
    if (eol == std::string::npos) break;
    char type = buf[pos];
    if (type == '$') {
      long len = std::stol(buf.substr(pos + 1, eol - pos - 1));
      size_t end = eol + 2 + (len < 0 ? 0 : static_cast<size_t>(len) + 2);
      if (end > buf.size()) break;
      pos = end;
    } else {
      pos = eol + 2;
    }
    ++count;
  }
  return count;
}

}  // namespace

boost::asio::awaitable<ProbeResult> RedisEngine::probe(boost::asio::any_io_executor executor,
                                                       const std::string& ip, int port,
                                                       const std::string& password) const {
  ProbeResult result;
  std::string request = command({"AUTH", password}) + command({"PING"}) +
                        command({"INFO", "memory"}) + command({"INFO", "replication"});
  std::string reply;
  try {
    reply = co_await util::tcp_exchange(
        executor, ip, port, request, [](const std::string& b) { return complete_replies(b) >= 4; },
        std::chrono::milliseconds(1000));
  } catch (const util::ExchangeError& e) {
    result.message = e.what();
    co_return result;
  }
  if (reply.rfind("+OK\r\n", 0) != 0) {
    result.message = "AUTH refused: " + reply.substr(0, reply.find("\r\n"));
    co_return result;
  }
  if (reply.find("+PONG\r\n") == std::string::npos) {
    result.message = "PING not answered: " + reply.substr(5, reply.find("\r\n", 5) - 5);
    co_return result;
  }
  result.healthy = true;
  auto used = info_field(reply, "used_memory");
  if (!used.empty()) result.memory_used_bytes = std::stoll(used);
  auto role = info_field(reply, "role");
  result.role = role == "slave" ? "replica" : (role == "master" ? "primary" : role);
  co_return result;
}

}  // namespace berth::engines
