#include "engines/tarantool/tarantool.hpp"

#include <cstdio>

#include "engines/command_output.hpp"
#include "engines/tarantool/init_lua.hpp"
#include "engines/tarantool/iproto.hpp"
#include "util/encoding.hpp"
#include "util/tcp_exchange.hpp"

namespace berth::engines {

namespace {

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
    std::string out = command_output("tarantool --version 2>/dev/null");
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
  r.tag = version().empty() ? "" : version() + "-2";  // -2: run as the engine user
  r.binaries = {"/usr/bin/tarantool"};
  r.directories = {"/tmp"};
  r.engine_directories = {"/data", kSecretDir};
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
                            ? a.primary_ip + ":" + std::to_string(a.port)
                            : "";
  // The password is read from its secret file: the script is the container's command line.
  return "local function secret(path) local f = assert(io.open(path)) local s = f:read('*a') "
         "f:close() return s end\n"
         "local cfg = {port = " +
         std::to_string(a.port) +
         ", memtx_memory = " + std::to_string(memtx_memory_bytes(a.memory_mb)) +
         ", user = " + lua_quote(engine.user()) + ", password = secret(" +
         lua_quote(kSecretDir + "/password") + "), role = " + lua_quote(model::to_string(a.role)) +
         ", primary = " + lua_quote(primary) +
         ", uuid = " + lua_quote(instance_uuid(a.database_id, a.n)) + "}\n" +
         "if cfg.primary ~= '' then cfg.primary = cfg.user .. ':' .. cfg.password .. '@' .. "
         "cfg.primary end\n" +
         kInitLua;
}

std::vector<RootfsFile> TarantoolEngine::secret_files(const model::Allocation& a) const {
  return {{kSecretDir + "/password", a.password, 0600, kEngineUid, kEngineUid}};
}

docker::ContainerSpec TarantoolEngine::container_spec(const model::Allocation& a) const {
  auto spec = base_container_spec(*this, a);
  spec.cmd = {"/usr/bin/tarantool", "-e", init_script(a)};
  spec.volumes[volume_name(a)] = "/data";
  return spec;
}

boost::asio::awaitable<void> TarantoolEngine::set_password(boost::asio::any_io_executor executor,
                                                           const std::string& ip, int port,
                                                           const std::string& current,
                                                           const std::string& next) const {
  // The user is in the _user space, which replicates: set on the primary, a replica has it
  // moments later and refuses the change itself (it is read-only).
  std::vector<iproto::Value> args{iproto::Value::of(next)};
  std::string function = "berth.passwd";
  for (int attempt = 0; attempt < 2; ++attempt) {
    try {
      co_await iproto::call(executor, ip, port, user(), current, function, args,
                            std::chrono::milliseconds(3000));
      co_return;
    } catch (const util::ExchangeError&) {
      throw;
    } catch (const std::runtime_error& e) {
      std::string what = e.what();
      if (what.find("read-only") != std::string::npos) co_return;
      // An instance started before berth.passwd was (its user is super): the plain call.
      if (attempt > 0 || what.find("is not defined") == std::string::npos) throw;
      function = "box.schema.user.passwd";
      args.insert(args.begin(), iproto::Value::of(user()));
    }
  }
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
  } catch (const util::ExchangeError& e) {
    failure = e.what();
  } catch (const std::exception& e) {
    failure = e.what();
    // Tarantool's own refusal of the login (ER_CREDS_MISMATCH and its later wording).
    result.refused_password = failure.find("password") != std::string::npos ||
                              failure.find("credentials") != std::string::npos;
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
  result.min_replicas_to_write = static_cast<int>(status[9].as_int());
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
  if (config.role == "primary" && current.role == "primary" && current.writes_paused != writable &&
      current.min_replicas_to_write == config.min_replicas_to_write)
    co_return;
  if (config.role == "replica" && current.role == "replica" &&
      current.primary_host == config.primary_ip && current.link_up)
    co_return;
  std::vector<iproto::Value> args{
      iproto::Value::of(config.role), iproto::Value::of(primary), iproto::Value::of(writable),
      iproto::Value::of(static_cast<int64_t>(config.min_replicas_to_write))};
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
