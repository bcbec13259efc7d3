#include "engines/memcached/memcached.hpp"

#include <cstdio>
#include <sstream>

#include "util/tcp_exchange.hpp"

namespace berth::engines {

std::string MemcachedEngine::version() const {
  // "memcached 1.6.18": read once; the binary does not change under us.
  static const std::string cached = [] {
    std::string out;
    if (FILE* p = popen("memcached --version 2>/dev/null", "r")) {
      char buf[256];
      while (fgets(buf, sizeof buf, p)) out += buf;
      pclose(p);
    }
    auto space = out.find(' ');
    if (space == std::string::npos) return std::string();
    auto v = out.substr(space + 1);
    return v.substr(0, v.find_first_of(" \r\n"));
  }();
  return cached;
}

namespace {
const char* const kNotDurable =
    "not durable: a cache keeps nothing across restarts, and comes back empty if its host is "
    "lost";
const char* const kOpen =
    "no password: the text protocol is open to anyone who can reach the address; keep it on a "
    "private network";
}  // namespace

std::vector<std::string> MemcachedEngine::notes(bool has_password) const {
  std::vector<const char*> out{kNotDurable};
  if (!has_password) out.push_back(kOpen);
  return std::vector<std::string>(out.begin(), out.end());
}

ImageRecipe MemcachedEngine::image_recipe() const {
  ImageRecipe r;
  r.repo = "berth/memcached";
  r.tag = version();
  r.binaries = {"/usr/bin/memcached"};
  r.directories = {"/tmp"};
  r.changes = {R"(CMD ["/usr/bin/memcached"])"};
  return r;
}

int64_t MemcachedEngine::item_memory_mb(int64_t memory_mb) {
  return std::max<int64_t>(8, memory_mb * 80 / 100);
}

docker::ContainerSpec MemcachedEngine::container_spec(const model::Allocation& a) const {
  docker::ContainerSpec spec;
  spec.name = container_name(a);
  spec.image = a.image.empty() ? image_recipe().reference() : a.image;
  // clang-format off
  spec.cmd = {"/usr/bin/memcached",
              "--port=" + std::to_string(a.port),
              "--udp-port=0",
              "--memory-limit=" + std::to_string(item_memory_mb(a.memory_mb)),
              "--conn-limit=4096",
              "--threads=2"};
  // clang-format on
  spec.memory_bytes = a.memory_mb * 1024 * 1024;
  spec.user = "65534:65534";  // memcached will not run as root
  return spec;
}

std::map<std::string, std::string> MemcachedEngine::parse_stats(const std::string& reply) {
  std::map<std::string, std::string> stats;
  std::istringstream lines(reply);
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.starts_with("STAT ")) continue;
    auto space = line.find(' ', 5);
    if (space == std::string::npos) continue;
    stats[line.substr(5, space - 5)] = line.substr(space + 1);
  }
  return stats;
}

boost::asio::awaitable<ProbeResult> MemcachedEngine::probe(
    boost::asio::any_io_executor executor, const std::string& ip, int port, const std::string&,
    std::chrono::milliseconds timeout) const {
  ProbeResult result;
  std::string reply;
  try {
    reply = co_await util::tcp_exchange(
        executor, ip, port, "stats\r\n",
        [](const std::string& b) {
          return b.ends_with("END\r\n") || b.ends_with("ERROR\r\n") || b.find("ERROR") == 0;
        },
        timeout);
  } catch (const util::ExchangeError& e) {
    result.message = e.what();
    co_return result;
  }
  auto stats = parse_stats(reply);
  if (!stats.count("version")) {
    result.message = "stats not answered: " + reply.substr(0, reply.find("\r\n"));
    co_return result;
  }
  auto number = [&](const char* name) -> int64_t {
    auto it = stats.find(name);
    return it == stats.end() ? 0 : std::stoll(it->second);
  };
  result.healthy = true;
  result.role = "primary";
  result.memory_used_bytes = number("bytes");
  // The probe's own connection is not a client.
  result.connections = std::max<int64_t>(0, number("curr_connections") - 1);
  result.operations = number("cmd_get") + number("cmd_set") + number("cmd_touch") +
                      number("delete_hits") + number("delete_misses") + number("incr_hits") +
                      number("incr_misses") + number("decr_hits") + number("decr_misses");
  co_return result;
}

boost::asio::awaitable<void> MemcachedEngine::resize(boost::asio::any_io_executor executor,
                                                     const std::string& ip, int port,
                                                     const std::string&, int64_t memory_mb) const {
  auto reply = co_await util::tcp_exchange(
      executor, ip, port, "cache_memlimit " + std::to_string(item_memory_mb(memory_mb)) + "\r\n",
      [](const std::string& b) { return b.find("\r\n") != std::string::npos; },
      std::chrono::milliseconds(2000));
  if (!reply.starts_with("OK"))
    throw std::runtime_error("memcached refused the new memory limit: " + reply);
}

}  // namespace berth::engines
