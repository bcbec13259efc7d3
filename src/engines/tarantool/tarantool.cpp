#include "engines/tarantool/tarantool.hpp"

#include <cstdio>

#include "engines/tarantool/iproto.hpp"
#include "util/encoding.hpp"

namespace berth::engines {

namespace {

// Runs inside every instance after `local cfg = {...}`. Every start is read-only except the
// very first of a primary (Tarantool cannot bootstrap read-only): only the agent makes an
// instance writable, under the newest epoch. The berth.* functions are what the agent calls.
constexpr const char* kInit = R"lua(
local fio = require('fio')
local fiber = require('fiber')
local fresh = #fio.glob('/data/*.snap') == 0
local bootstrap = fresh and cfg.role == 'primary'
-- Restored from a backup: the snapshot's user has the backed-up database's password.
local restored = fio.path.exists('/data/berth-restored')
local setup = bootstrap or (restored and cfg.role == 'primary')
-- One UUID per instance number for the database's whole life: a re-created instance (fresh
-- volume) rejoins under its old replica id instead of taking a new one; a replica set has only
-- 31, and every failover re-creates an instance.
local uuid = cfg.uuid
-- A fresh replica cannot start without its primary (a read-only instance cannot bootstrap, and
-- box.cfg exits after replication_connect_timeout): wait for the primary to listen, up to a
-- minute, so a primary that starts slowly does not make its new replica crash-loop.
if fresh and cfg.role == 'replica' and cfg.primary ~= '' then
  local host, port = cfg.primary:match('([^@]+):(%d+)$')  -- user:password@host:port
  local deadline = fiber.clock() + 60
  while fiber.clock() < deadline do
    local s = require('socket').tcp_connect(host, tonumber(port), 0.5)
    if s then
      -- The greeting names the primary's UUID. A primary restored from a copy of this very
      -- instance has this one: then a new UUID (and replica id), or the join is refused.
      local greeting = s:read(64, 0.5) or ''
      s:close()
      if greeting:find(uuid, 1, true) then uuid = nil end
      break
    end
    fiber.sleep(0.2)
  end
end
box.cfg{
  instance_uuid = fresh and uuid or nil,
  memtx_memory = cfg.memtx_memory,
  vinyl_memory = 8 * 1024 * 1024,
  vinyl_cache = 4 * 1024 * 1024,
  memtx_dir = '/data', wal_dir = '/data', vinyl_dir = '/data',
  read_only = not setup,
  replication = (cfg.role == 'replica' and cfg.primary ~= '') and {cfg.primary} or nil,
  replication_connect_quorum = 0,
  replication_connect_timeout = 5,
  replication_timeout = 0.3,
  log_level = 5,
}
if setup then
  box.schema.user.create(cfg.user, {password = cfg.password, if_not_exists = true})
  box.schema.user.passwd(cfg.user, cfg.password)
  box.schema.user.grant(cfg.user, 'super', nil, nil, {if_not_exists = true})
  box.cfg{read_only = true}
end
if restored then fio.unlink('/data/berth-restored') end
-- Clients only once the instance is set up (and read-only).
box.cfg{listen = cfg.port}

berth = {paused_until = 0}

local function lsn_sum()
  local lsn = 0
  for id, v in pairs(box.info.vclock) do if id ~= 0 then lsn = lsn + v end end
  return lsn
end

-- A planned switchover: read-only for a while (writes are refused, never lost), even if the
-- agent asks for writable meanwhile; returns the offset the replica must reach.
function berth.pause(seconds)
  berth.paused_until = fiber.clock() + seconds
  if not box.cfg.read_only then box.cfg{read_only = true} end
  return lsn_sum()
end

function berth.resume()
  berth.paused_until = 0
  return true
end

-- ro, lsn, link_up, upstream, memory used, connections, operations, memtx_memory
function berth.status()
  local info = box.info
  local lsn = lsn_sum()
  local link_up, upstream = false, ''
  for _, r in pairs(info.replication) do
    if r.id ~= info.id and r.upstream ~= nil then
      upstream = r.upstream.peer or ''
      link_up = r.upstream.status == 'follow'
    end
  end
  local net = box.stat.net()
  local connections = net.CONNECTIONS and net.CONNECTIONS.current or 0
  local ops = 0
  for _, v in pairs(box.stat()) do ops = ops + (v.total or 0) end
  local tuples = 0
  for id, space in pairs(box.space) do
    if type(id) == 'number' and id >= 512 then tuples = tuples + space:len() end
  end
  return {info.ro, lsn, link_up, upstream, box.slab.info().arena_used, connections, ops,
          box.cfg.memtx_memory, tuples}
end

function berth.apply(role, primary, writable)
  writable = writable and fiber.clock() >= berth.paused_until
  if role == 'primary' then
    if #(box.cfg.replication or {}) > 0 then box.cfg{replication = {}} end
    if box.cfg.read_only ~= not writable then box.cfg{read_only = not writable} end
  else
    if not box.cfg.read_only then box.cfg{read_only = true} end
    local current = box.cfg.replication or {}
    if primary ~= '' and (#current ~= 1 or current[1] ~= primary) then
      box.cfg{replication = {primary}}
    end
  end
  return true
end

-- A consistent snapshot for a backup: the path of the newest .snap file.
function berth.backup()
  box.snapshot()
  local snaps = fio.glob(box.cfg.memtx_dir .. '/*.snap')
  table.sort(snaps)
  return snaps[#snaps]
end

function berth.resize(memtx_memory)
  if memtx_memory > box.cfg.memtx_memory then box.cfg{memtx_memory = memtx_memory} end
  return box.cfg.memtx_memory
end

-- Like Redis WAIT: how many replicas have everything this instance wrote, waiting up to
-- timeout seconds for at least n of them.
function berth.wait(n, timeout)
  local deadline = fiber.clock() + (timeout or 1)
  local id, lsn = box.info.id, box.info.lsn
  while true do
    local acked = 0
    for _, r in pairs(box.info.replication) do
      local d = r.downstream
      if r.id ~= id and d ~= nil and d.vclock ~= nil and (d.vclock[id] or 0) >= lsn then
        acked = acked + 1
      end
    end
    if acked >= n or fiber.clock() >= deadline then return acked end
    fiber.sleep(0.001)
  end
end
)lua";

// A Lua string literal of s, whatever it holds.
std::string lua_quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 32 || c >= 127) {
      out += "\\" + std::to_string(c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string uri(const std::string& user, const std::string& password, const std::string& ip,
                int port) {
  return user + ":" + password + "@" + ip + ":" + std::to_string(port);
}

}  // namespace

std::string TarantoolEngine::version() const {
  // "Tarantool 2.6.0-0-g47aa4e01e": read once; the binary does not change under us.
  static const std::string cached = [] {
    std::string out;
    if (FILE* p = popen("tarantool --version 2>/dev/null", "r")) {
      char buf[256];
      if (fgets(buf, sizeof buf, p)) out = buf;
      pclose(p);
    }
    auto space = out.find(' ');
    if (space == std::string::npos) return std::string();
    auto v = out.substr(space + 1);
    return v.substr(0, v.find_first_of("- \r\n"));
  }();
  return cached;
}

ImageRecipe TarantoolEngine::image_recipe() const {
  ImageRecipe r;
  r.repo = "berth/tarantool";
  r.tag = version();
  r.binaries = {"/usr/bin/tarantool"};
  r.directories = {"/data", "/tmp"};
  r.changes = {R"(CMD ["/usr/bin/tarantool"])", "WORKDIR /data"};
  return r;
}

int64_t TarantoolEngine::memtx_memory_bytes(int64_t memory_mb) {
  // The rest of the limit: Lua, vinyl's small arenas, network buffers, WAL writer.
  return memory_mb * 1024 * 1024 * 70 / 100;
}

std::string TarantoolEngine::instance_uuid(const std::string& database_id, int n) {
  auto hex = util::sha256_hex(database_id + "/" + std::to_string(n)).substr(0, 32);
  hex[12] = '4';  // version 4, variant 10xx: a well-formed UUID
  hex[16] = '8';
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

std::string TarantoolEngine::init_script(const model::Allocation& a) {
  TarantoolEngine engine;
  std::string primary = a.role == model::Role::replica && !a.primary_ip.empty()
                            ? uri(engine.user(), a.password, a.primary_ip, a.port)
                            : "";
  return "local cfg = {port = " + std::to_string(a.port) +
         ", memtx_memory = " + std::to_string(memtx_memory_bytes(a.memory_mb)) +
         ", user = " + lua_quote(engine.user()) + ", password = " + lua_quote(a.password) +
         ", role = " + lua_quote(model::to_string(a.role)) + ", primary = " + lua_quote(primary) +
         ", uuid = " + lua_quote(instance_uuid(a.database_id, a.n)) + "}\n" + kInit;
}

docker::ContainerSpec TarantoolEngine::container_spec(const model::Allocation& a) const {
  docker::ContainerSpec spec;
  spec.name = container_name(a);
  spec.image = a.image.empty() ? image_recipe().reference() : a.image;
  spec.cmd = {"/usr/bin/tarantool", "-e", init_script(a)};
  spec.memory_bytes = a.memory_mb * 1024 * 1024;
  spec.volumes[volume_name(a)] = "/data";
  return spec;
}

boost::asio::awaitable<ProbeResult> TarantoolEngine::probe(
    boost::asio::any_io_executor executor, const std::string& ip, int port,
    const std::string& password, std::chrono::milliseconds timeout) const {
  ProbeResult result;
  iproto::Value status;
  std::string failure;
  try {
    std::vector<iproto::Value> no_args;
    status = (co_await iproto::call(executor, ip, port, user(), password, "berth.status", no_args,
                                    timeout))[0];
  } catch (const std::exception& e) {
    failure = e.what();
  }
  if (!failure.empty() || status.kind != iproto::Value::Kind::Array) {
    result.message = failure.empty() ? "berth.status answered no table" : failure;
    co_return result;
  }
  result.healthy = true;
  bool read_only = status[0].as_bool();
  result.offset = status[1].as_int();
  result.link_up = status[2].as_bool();
  std::string upstream = status[3].string;
  // The peer reads "user@ip:port": the primary a replica follows.
  auto at = upstream.rfind('@');
  auto colon = upstream.rfind(':');
  result.primary_host =
      upstream.substr(at == std::string::npos ? 0 : at + 1,
                      colon == std::string::npos ? std::string::npos : colon - (at + 1));
  result.role = read_only && !upstream.empty() ? "replica" : "primary";
  result.writes_paused = read_only && upstream.empty();
  result.memory_used_bytes = status[4].as_int();
  result.connections = std::max<int64_t>(0, status[5].as_int() - 1);  // not the probe itself
  result.operations = status[6].as_int();
  result.keys = status[8].as_int();
  co_return result;
}

boost::asio::awaitable<void> TarantoolEngine::apply_role(boost::asio::any_io_executor executor,
                                                         const std::string& ip, int port,
                                                         const std::string& password,
                                                         const RoleConfig& config,
                                                         const ProbeResult& current) const {
  bool writable = config.role == "primary" && !config.fenced;
  std::string primary = config.role == "replica" && !config.primary_ip.empty()
                            ? uri(user(), password, config.primary_ip, config.primary_port)
                            : "";
  // Nothing to do when the instance is there already.
  if (config.role == "primary" && current.role == "primary" && current.writes_paused != writable)
    co_return;
  if (config.role == "replica" && current.role == "replica" &&
      current.primary_host == config.primary_ip)
    co_return;
  std::vector<iproto::Value> args{iproto::Value::of(config.role), iproto::Value::of(primary),
                                  iproto::Value::of(writable)};
  co_await iproto::call(executor, ip, port, user(), password, "berth.apply", args,
                        std::chrono::milliseconds(3000));
}

boost::asio::awaitable<int64_t> TarantoolEngine::pause_writes(
    boost::asio::any_io_executor executor, const std::string& ip, int port,
    const std::string& password, std::chrono::milliseconds hold) const {
  std::vector<iproto::Value> args{iproto::Value::of(static_cast<int64_t>(hold.count() / 1000))};
  auto result = co_await iproto::call(executor, ip, port, user(), password, "berth.pause", args,
                                      std::chrono::milliseconds(3000));
  co_return result[0].as_int();
}

boost::asio::awaitable<void> TarantoolEngine::resume_writes(boost::asio::any_io_executor executor,
                                                            const std::string& ip, int port,
                                                            const std::string& password) const {
  // The agent makes it writable again on its next round, under the newest epoch.
  std::vector<iproto::Value> no_args;
  co_await iproto::call(executor, ip, port, user(), password, "berth.resume", no_args,
                        std::chrono::milliseconds(3000));
}

boost::asio::awaitable<void> TarantoolEngine::follow(boost::asio::any_io_executor executor,
                                                     const std::string& ip, int port,
                                                     const std::string& password,
                                                     const std::string& primary_ip,
                                                     int primary_port) const {
  std::vector<iproto::Value> args{
      iproto::Value::of(std::string("replica")),
      iproto::Value::of(uri(user(), password, primary_ip, primary_port)), iproto::Value::of(false)};
  co_await iproto::call(executor, ip, port, user(), password, "berth.apply", args,
                        std::chrono::milliseconds(3000));
  co_await resume_writes(executor, ip, port, password);
}

boost::asio::awaitable<void> TarantoolEngine::resize(boost::asio::any_io_executor executor,
                                                     const std::string& ip, int port,
                                                     const std::string& password,
                                                     int64_t memory_mb) const {
  std::vector<iproto::Value> args{iproto::Value::of(memtx_memory_bytes(memory_mb))};
  auto result = co_await iproto::call(executor, ip, port, user(), password, "berth.resize", args,
                                      std::chrono::milliseconds(3000));
  if (result[0].as_int() < memtx_memory_bytes(memory_mb))
    throw std::runtime_error("tarantool kept memtx_memory at " +
                             std::to_string(result[0].as_int()) + " bytes");
}

boost::asio::awaitable<std::vector<std::string>> TarantoolEngine::snapshot_for_backup(
    boost::asio::any_io_executor executor, const std::string& ip, int port,
    const std::string& password) const {
  std::vector<iproto::Value> no_args;
  auto result = co_await iproto::call(executor, ip, port, user(), password, "berth.backup", no_args,
                                      std::chrono::seconds(600));
  std::string path = result[0].string;
  if (path.empty()) throw std::runtime_error("box.snapshot() left no .snap file");
  co_return std::vector<std::string>{path};
}

std::vector<RootfsFile> TarantoolEngine::restore_files(
    const std::map<std::string, std::string>& backup_files) const {
  std::vector<RootfsFile> files;
  for (auto& [name, content] : backup_files)
    if (name.ends_with(".snap")) files.push_back({name, content, 0644});
  if (files.empty()) throw std::runtime_error("the backup holds no .snap file");
  files.push_back({"berth-restored", "", 0644});
  return files;
}

std::vector<std::string> TarantoolEngine::verify_command(const std::string& dir) const {
  // Tarantool's own recovery reads the snapshot, read-only and without a log of its own.
  std::string lua = "local dir = " + lua_quote(dir) + R"lua(
local fio = require('fio')
if #fio.glob(dir .. '/*.snap') == 0 then print('no .snap file in the backup') os.exit(2) end
box.cfg{memtx_dir = dir, wal_dir = dir, vinyl_dir = dir, wal_mode = 'none', read_only = true,
        memtx_memory = 4 * 1024 * 1024 * 1024, log_level = 2}
local tuples = 0
for id, space in pairs(box.space) do
  if type(id) == 'number' and id >= 512 then tuples = tuples + space:len() end
end
print('berth-verify: ' .. tuples .. ' tuples')
os.exit(0)
)lua";
  return {"/usr/bin/tarantool", "-e", lua};
}

Engine::Verification TarantoolEngine::read_verification(int exit_code,
                                                        const std::string& output) const {
  auto found = output.find("berth-verify: ");
  if (exit_code == 0 && found != std::string::npos) {
    auto end = output.find('\n', found);
    return {true, "tarantool loads it: " + output.substr(found + 14, end - found - 14)};
  }
  // The last line Tarantool printed says why.
  auto trimmed = output.substr(0, output.find_last_not_of("\r\n") + 1);
  auto last = trimmed.substr(trimmed.find_last_of('\n') + 1);
  return {false, "tarantool cannot load it (exit code " + std::to_string(exit_code) +
                     "): " + last.substr(0, 300)};
}

int64_t TarantoolEngine::data_memory_bytes(int64_t memory_mb) const {
  return memtx_memory_bytes(memory_mb);
}

}  // namespace berth::engines
