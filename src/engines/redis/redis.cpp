#include "engines/redis/redis.hpp"

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>

#include "util/tcp_exchange.hpp"

namespace berth::engines {

namespace {

// Length of one complete RESP value at buf[pos...] (simple, error, integer, bulk string or
// an array of those), or 0 when it has not fully arrived yet.
size_t reply_length(const std::string& buf, size_t pos) {
  auto eol = buf.find("\r\n", pos);
  if (eol == std::string::npos) return 0;
  char type = buf[pos];
  if (type == '$') {
    long len = std::stol(buf.substr(pos + 1, eol - pos - 1));
    size_t end = eol + 2 + (len < 0 ? 0 : static_cast<size_t>(len) + 2);
    return end > buf.size() ? 0 : end - pos;
  }
  if (type == '*') {
    long count = std::stol(buf.substr(pos + 1, eol - pos - 1));
    size_t at = eol + 2;
    for (long i = 0; i < count; ++i) {
      size_t n = at < buf.size() ? reply_length(buf, at) : 0;
      if (n == 0) return 0;
      at += n;
    }
    return at - pos;
  }
  return eol + 2 - pos;
}

// Counts the complete RESP replies at the start of buf.
int complete_replies(const std::string& buf) {
  int count = 0;
  size_t pos = 0;
  while (pos < buf.size()) {
    size_t n = reply_length(buf, pos);
    if (n == 0) break;
    pos += n;
    ++count;
  }
  return count;
}

}  // namespace

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
  // redis-check-rdb (the same binary, named so) verifies backups in a scratch container.
  r.tag = version().empty() ? "" : version() + "-2";
  r.binaries = {"/usr/bin/redis-server", "/usr/bin/redis-check-rdb"};
  r.directories = {"/data", "/tmp"};
  r.changes = {R"(CMD ["/usr/bin/redis-server"])", "WORKDIR /data"};
  return r;
}

int64_t RedisEngine::maxmemory_bytes(int64_t memory_mb) {
  // A fork (an AOF rewrite, a backup, a replica's full sync) copies every page the parent
  // writes while the child runs: a database overwritten hard meanwhile doubles. So the data
  // gets under half of what the process has past its own few MiB, the rest kept for that copy
  // and for fragmentation (AWS ElastiCache advises reserving half for write-heavy loads).
  int64_t limit = memory_mb * 1024 * 1024;
  return std::max<int64_t>((limit - (int64_t{8} << 20)) * 45 / 100, limit / 4);
}

docker::ContainerSpec RedisEngine::container_spec(const model::Allocation& a) const {
  docker::ContainerSpec spec;
  spec.name = container_name(a);
  spec.image = a.image.empty() ? image_recipe().reference() : a.image;
  // clang-format off
  spec.cmd = {"/usr/bin/redis-server",
              kSecretDir + "/redis.conf",  // the password: never on the command line
              "--port", std::to_string(a.port),
              "--bind", "0.0.0.0",
              "--protected-mode", "no",
              "--maxmemory", std::to_string(maxmemory_bytes(a.memory_mb)),
              "--maxmemory-policy", "noeviction",
              // An isolated primary stops taking writes once its replicas fall silent.
              "--min-replicas-max-lag", "2",
              "--appendonly", "yes",
              "--appendfsync", "everysec",
              "--save", "",
              "--dir", "/data",
              // Every start, first or after a crash, is read-only: a replica of nothing. Only
              // the agent makes an instance primary, and only under the newest epoch, so a
              // fresh or restarted container never takes a write that its role does not allow.
              "--replicaof", "127.0.0.1", "1"};
  // clang-format on
  spec.memory_bytes = a.memory_mb * 1024 * 1024;
  spec.volumes[volume_name(a)] = "/data";
  return spec;
}

std::vector<RootfsFile> RedisEngine::secret_files(const model::Allocation& a) const {
  // A configuration file's value in double quotes, as Redis reads it (sdssplitargs).
  std::string quoted = "\"";
  for (char c : a.password) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  quoted += "\"";
  return {{kSecretDir + "/redis.conf", "requirepass " + quoted + "\nmasterauth " + quoted + "\n",
           0600}};
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

boost::asio::awaitable<std::string> RedisEngine::call(
    boost::asio::any_io_executor executor, const std::string& ip, int port,
    const std::string& password, const std::vector<std::vector<std::string>>& commands) {
  std::string request = command({"AUTH", password});
  for (auto& c : commands) request += command(c);
  int expected = static_cast<int>(commands.size()) + 1;
  co_return co_await util::tcp_exchange(
      executor, ip, port, request,
      [expected](const std::string& b) { return complete_replies(b) >= expected; },
      std::chrono::milliseconds(2000));
}

boost::asio::awaitable<void> RedisEngine::apply_role(boost::asio::any_io_executor executor,
                                                     const std::string& ip, int port,
                                                     const std::string& password,
                                                     const RoleConfig& config,
                                                     const ProbeResult& current) const {
  std::vector<std::vector<std::string>> commands;
  if (config.role == "primary" && current.role != "primary") {
    commands.push_back({"REPLICAOF", "NO", "ONE"});
  } else if (config.role == "replica" && !config.primary_ip.empty() &&
             (current.role != "replica" || current.primary_host != config.primary_ip)) {
    commands.push_back({"REPLICAOF", config.primary_ip, std::to_string(config.primary_port)});
  }
  // A fenced primary refuses writes until its agent is back in touch with etcd: an
  // impossible number of replicas refuses them at once (NOREPLICAS), and says so to any
  // probe, the leader's too (Redis shows no sign of CLIENT PAUSE), while the pause holds what
  // still replicates (PUBLISH, scripts).
  int min_replicas = config.role != "primary" ? 0
                     : config.fenced          ? kFencedMinReplicas
                                              : config.min_replicas_to_write;
  if (current.min_replicas_to_write != min_replicas)
    commands.push_back({"CONFIG", "SET", "min-replicas-to-write", std::to_string(min_replicas)});
  if (config.fenced && !current.writes_paused)
    commands.push_back({"CLIENT", "PAUSE", "86400000", "WRITE"});
  if (!config.fenced && current.writes_paused) commands.push_back({"CLIENT", "UNPAUSE"});
  if (commands.empty()) co_return;
  co_await call(executor, ip, port, password, commands);
}

boost::asio::awaitable<int64_t> RedisEngine::pause_writes(boost::asio::any_io_executor executor,
                                                          const std::string& ip, int port,
                                                          const std::string& password,
                                                          std::chrono::milliseconds hold) const {
  // Held writes wait, they are not refused.
  std::vector<std::vector<std::string>> pause{
      {"CLIENT", "PAUSE", std::to_string(hold.count()), "WRITE"}, {"INFO", "replication"}};
  auto reply = co_await call(executor, ip, port, password, pause);
  auto offset = info_field(reply, "master_repl_offset");
  if (offset.empty()) throw std::runtime_error("no replication offset in: " + reply.substr(0, 80));
  co_return std::stoll(offset);
}

boost::asio::awaitable<void> RedisEngine::resume_writes(boost::asio::any_io_executor executor,
                                                        const std::string& ip, int port,
                                                        const std::string& password) const {
  std::vector<std::vector<std::string>> unpause{{"CLIENT", "UNPAUSE"}};
  co_await call(executor, ip, port, password, unpause);
}

boost::asio::awaitable<void> RedisEngine::follow(boost::asio::any_io_executor executor,
                                                 const std::string& ip, int port,
                                                 const std::string& password,
                                                 const std::string& primary_ip,
                                                 int primary_port) const {
  // Replicating first, then unpaused: the held writes fail as READONLY.
  std::vector<std::vector<std::string>> demote{
      {"REPLICAOF", primary_ip, std::to_string(primary_port)}, {"CLIENT", "UNPAUSE"}};
  co_await call(executor, ip, port, password, demote);
}

boost::asio::awaitable<std::vector<std::string>> RedisEngine::snapshot_for_backup(
    boost::asio::any_io_executor executor, const std::string& ip, int port,
    const std::string& password) const {
  // BGSAVE SCHEDULE waits for an AOF rewrite in progress instead of failing; the snapshot is
  // done when the count of saves has moved on and none is running.
  std::vector<std::vector<std::string>> before{{"INFO", "persistence"}};
  auto saves_before = info_field(co_await call(executor, ip, port, password, before), "rdb_saves");
  std::vector<std::vector<std::string>> save{{"BGSAVE", "SCHEDULE"}};
  auto reply = co_await call(executor, ip, port, password, save);
  if (reply.find("-ERR") != std::string::npos)
    throw std::runtime_error("redis refused BGSAVE: " + reply.substr(0, reply.find("\r\n", 6)));
  boost::asio::steady_timer timer(executor);
  for (int i = 0; i < 6000; ++i) {  // 10 minutes at most
    auto info = co_await call(executor, ip, port, password, before);
    if (info_field(info, "rdb_saves") != saves_before &&
        info_field(info, "rdb_bgsave_in_progress") == "0") {
      if (info_field(info, "rdb_last_bgsave_status") != "ok")
        throw std::runtime_error("redis could not write its snapshot");
      co_return std::vector<std::string>{"/data/dump.rdb"};
    }
    timer.expires_after(std::chrono::milliseconds(100));
    co_await timer.async_wait(boost::asio::use_awaitable);
  }
  throw std::runtime_error("redis did not finish its snapshot in 10 minutes");
}

Engine::Verification RedisEngine::read_verification(int exit_code,
                                                    const std::string& output) const {
  // redis-check-rdb: "[info] 100000 keys read" then "\o/ RDB looks OK! \o/".
  auto keys = output.find(" keys read");
  std::string count;
  if (keys != std::string::npos) {
    auto start = output.rfind(' ', keys - 1);
    count = output.substr(start + 1, keys - start - 1);
  }
  if (exit_code == 0 && output.find("RDB looks OK") != std::string::npos)
    return {true, "redis loads it: " + (count.empty() ? std::string("?") : count) + " keys"};
  auto last = output.find_last_not_of("\r\n ");
  auto line_start = output.rfind('\n', last == std::string::npos ? 0 : last);
  return {false, "redis-check-rdb failed (exit " + std::to_string(exit_code) +
                     "): " + output.substr(line_start == std::string::npos ? 0 : line_start + 1)};
}

std::vector<RootfsFile> RedisEngine::restore_files(
    const std::map<std::string, std::string>& backup_files) const {
  auto rdb = backup_files.find("dump.rdb");
  if (rdb == backup_files.end()) throw std::runtime_error("the backup holds no dump.rdb");
  // With AOF on, Redis loads what the AOF manifest names: the snapshot becomes its base.
  return {{"appendonlydir/appendonly.aof.1.base.rdb", rdb->second, 0644},
          {"appendonlydir/appendonly.aof.manifest", "file appendonly.aof.1.base.rdb seq 1 type b\n",
           0644}};
}

boost::asio::awaitable<void> RedisEngine::resize(boost::asio::any_io_executor executor,
                                                 const std::string& ip, int port,
                                                 const std::string& password,
                                                 int64_t memory_mb) const {
  std::vector<std::vector<std::string>> commands{
      {"CONFIG", "SET", "maxmemory", std::to_string(maxmemory_bytes(memory_mb))}};
  auto reply = co_await call(executor, ip, port, password, commands);
  if (reply.find("-ERR") != std::string::npos)
    throw std::runtime_error("redis refused the new maxmemory: " + reply);
}

boost::asio::awaitable<ProbeResult> RedisEngine::probe(boost::asio::any_io_executor executor,
                                                       const std::string& ip, int port,
                                                       const std::string& password,
                                                       std::chrono::milliseconds timeout) const {
  ProbeResult result;
  std::string request =
      command({"AUTH", password}) + command({"PING"}) + command({"INFO", "memory"}) +
      command({"INFO", "replication"}) + command({"CONFIG", "GET", "min-replicas-to-write"}) +
      command({"INFO", "clients"}) + command({"INFO", "stats"}) + command({"INFO", "keyspace"});
  std::string reply;
  try {
    reply = co_await util::tcp_exchange(
        executor, ip, port, request, [](const std::string& b) { return complete_replies(b) >= 8; },
        timeout);
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
  auto offset =
      info_field(reply, result.role == "replica" ? "slave_repl_offset" : "master_repl_offset");
  if (!offset.empty()) result.offset = std::stoll(offset);
  result.primary_host = info_field(reply, "master_host");
  result.link_up = info_field(reply, "master_link_status") == "up";
  result.awaiting_role = result.role == "replica" && result.primary_host == "127.0.0.1";
  if (auto clients = info_field(reply, "connected_clients"); !clients.empty())
    result.connections = std::stoll(clients);
  if (auto ops = info_field(reply, "total_commands_processed"); !ops.empty())
    result.operations = std::stoll(ops);
  // Keyspace lines read "db0:keys=N,expires=...": one per logical database.
  for (auto pos = reply.find("\r\ndb"); pos != std::string::npos;
       pos = reply.find("\r\ndb", pos + 4)) {
    auto keys = reply.find(":keys=", pos);
    auto line_end = reply.find("\r\n", pos + 2);
    if (keys == std::string::npos || keys > line_end) continue;
    result.keys += std::strtoll(reply.c_str() + keys + 6, nullptr, 10);
  }
  // CONFIG GET min-replicas-to-write answers as the fifth reply: *2 $N name $M value.
  auto pos = reply.find("min-replicas-to-write\r\n");
  if (pos != std::string::npos) {
    auto value_start = reply.find("\r\n", pos + 23);
    auto value_end = reply.find("\r\n", value_start + 2);
    if (value_start != std::string::npos && value_end != std::string::npos)
      result.min_replicas_to_write =
          std::stoi(reply.substr(value_start + 2, value_end - value_start - 2));
  }
  result.writes_paused = result.min_replicas_to_write >= kFencedMinReplicas;
  co_return result;
}

boost::asio::awaitable<void> RedisEngine::stream_backup(
    boost::asio::any_io_executor executor, const std::string& ip, int port,
    const std::string& password, const std::function<void(std::string_view)>& on_data) const {
  // What redis-cli --rdb does: a replica that wants the RDB only, over the socket ("capa eof":
  // made in a fork and streamed, never written to the instance's disk), without the usual
  // five-second wait for more replicas.
  // Uncompressed: LZF takes twice as long as writing the RDB out (459 MB: 2.9 s against 1.3 s
  // here), and most values barely shrink. The fork reads the setting once, at its start; it
  // goes back on when the stream ends. SYNC goes alone once the other replies are in: Redis
  // refuses it with output pending.
  std::string request =
      command({"AUTH", password}) + command({"CONFIG", "SET", "repl-diskless-sync-delay", "0"}) +
      command({"CONFIG", "SET", "rdbcompression", "no"}) + command({"REPLCONF", "capa", "eof"}) +
      command({"REPLCONF", "rdb-only", "1"});
  RdbStream rdb(5, on_data);
  bool sync_sent = false;
  std::function<bool(std::string_view, std::string&)> feed = [&](std::string_view piece,
                                                                 std::string& send) {
    bool more = rdb.feed(piece);
    if (!sync_sent && rdb.replies_done()) {
      send = command({"SYNC"});
      sync_sent = true;
    }
    return more;
  };
  std::string failure;
  try {
    co_await util::tcp_stream(executor, ip, port, request, feed, std::chrono::minutes(10));
    if (!rdb.done()) failure = "redis closed the connection before the RDB ended";
  } catch (const std::exception& e) {
    failure = e.what();
  }
  std::vector<std::vector<std::string>> compress{{"CONFIG", "SET", "rdbcompression", "yes"}};
  co_await call(executor, ip, port, password, compress);
  if (!failure.empty()) throw std::runtime_error(failure);
}

}  // namespace berth::engines
