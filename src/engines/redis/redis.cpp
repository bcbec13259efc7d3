#include "engines/redis/redis.hpp"

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>

#include "engines/command_output.hpp"
#include "engines/redis/resp.hpp"
#include "util/tcp_exchange.hpp"

namespace berth::engines {

std::string RedisEngine::version() const {
  // "Redis server v=7.0.15 sha=..." — read once; the binary does not change under us.
  static const std::string cached = [] {
    std::string out = command_output("redis-server --version 2>/dev/null");
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
  // -3: run as the engine user, its folders its own.
  r.tag = version().empty() ? "" : version() + "-3";
  r.binaries = {"/usr/bin/redis-server", "/usr/bin/redis-check-rdb"};
  r.directories = {"/tmp"};
  r.engine_directories = {"/data", kSecretDir};
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
  auto spec = base_container_spec(*this, a);
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
           0600, kEngineUid, kEngineUid}};
}

boost::asio::awaitable<std::string> RedisEngine::call(
    boost::asio::any_io_executor executor, const std::string& ip, int port,
    const std::string& password, const std::vector<std::vector<std::string>>& commands) {
  std::string request = resp::command({"AUTH", password});
  for (auto& c : commands) request += resp::command(c);
  int expected = static_cast<int>(commands.size()) + 1;
  co_return co_await util::tcp_exchange(
      executor, ip, port, request,
      [expected](const std::string& b) { return resp::complete_replies(b) >= expected; },
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
  auto offset = resp::info_field(reply, "master_repl_offset");
  if (offset.empty()) throw std::runtime_error("no replication offset in: " + reply.substr(0, 80));
  co_return resp::number(offset);
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
  auto saves_before =
      resp::info_field(co_await call(executor, ip, port, password, before), "rdb_saves");
  std::vector<std::vector<std::string>> save{{"BGSAVE", "SCHEDULE"}};
  auto reply = co_await call(executor, ip, port, password, save);
  if (reply.find("-ERR") != std::string::npos)
    throw std::runtime_error("redis refused BGSAVE: " + reply.substr(0, reply.find("\r\n", 6)));
  boost::asio::steady_timer timer(executor);
  for (int i = 0; i < 6000; ++i) {  // 10 minutes at most
    auto info = co_await call(executor, ip, port, password, before);
    if (resp::info_field(info, "rdb_saves") != saves_before &&
        resp::info_field(info, "rdb_bgsave_in_progress") == "0") {
      if (resp::info_field(info, "rdb_last_bgsave_status") != "ok")
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

boost::asio::awaitable<void> RedisEngine::set_password(boost::asio::any_io_executor executor,
                                                       const std::string& ip, int port,
                                                       const std::string& current,
                                                       const std::string& next) const {
  // masterauth first: a replica's next link to its primary (rotated by its own agent) works.
  // requirepass is the default user's password: from now on only the new one logs in; the
  // connections already in keep working.
  std::vector<std::vector<std::string>> commands{{"CONFIG", "SET", "masterauth", next},
                                                 {"CONFIG", "SET", "requirepass", next}};
  auto reply = co_await call(executor, ip, port, current, commands);
  if (!reply.starts_with("+OK") || reply.find("\r\n-") != std::string::npos)
    throw std::runtime_error("redis refused the new password");
}

boost::asio::awaitable<ProbeResult> RedisEngine::probe(boost::asio::any_io_executor executor,
                                                       const std::string& ip, int port,
                                                       const std::string& password,
                                                       std::chrono::milliseconds timeout) const {
  ProbeResult result;
  std::string request = resp::probe_request(password);
  std::string reply;
  try {
    reply = co_await util::tcp_exchange(
        executor, ip, port, request,
        [](const std::string& b) { return resp::complete_replies(b) >= resp::kProbeReplies; },
        timeout);
  } catch (const util::ExchangeError& e) {
    result.message = e.what();
    co_return result;
  }
  co_return resp::read_probe(reply);
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
  std::string request = resp::command({"AUTH", password}) +
                        resp::command({"CONFIG", "SET", "repl-diskless-sync-delay", "0"}) +
                        resp::command({"CONFIG", "SET", "rdbcompression", "no"}) +
                        resp::command({"REPLCONF", "capa", "eof"}) +
                        resp::command({"REPLCONF", "rdb-only", "1"});
  RdbStream rdb(5, on_data);
  bool sync_sent = false;
  std::function<bool(std::string_view, std::string&)> feed = [&](std::string_view piece,
                                                                 std::string& send) {
    bool more = rdb.feed(piece);
    if (!sync_sent && rdb.replies_done()) {
      send = resp::command({"SYNC"});
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
