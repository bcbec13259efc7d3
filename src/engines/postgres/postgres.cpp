#include "engines/postgres/postgres.hpp"

#include <algorithm>

#include "engines/command_output.hpp"

namespace berth::engines {

namespace asio = boost::asio;

namespace {
const std::string kData = "/data/pgdata";
const std::string kHba = "/etc/berth-postgres/pg_hba.conf";
const std::string kShare = "/usr/share/postgresql/15";
const std::string kLib = "/usr/lib/postgresql/15/lib";

std::string bin(const std::string& program) {
  return std::string(PostgresEngine::kBin) + "/" + program;
}

pg::Login login_for(const std::string& ip, int port, const std::string& password) {
  return {ip, port, "berth", password, "postgres"};
}
}  // namespace

std::string PostgresEngine::version() const {
  // "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)": read once.
  static const std::string cached = [] {
    std::string out = command_output(bin("postgres") + " --version 2>/dev/null");
    auto at = out.find(") ");
    if (at == std::string::npos) return std::string();
    auto v = out.substr(at + 2);
    return v.substr(0, v.find_first_of(" \r\n"));
  }();
  return cached;
}

std::string PostgresEngine::connect_command(const std::string& address, int port,
                                            const std::string& password,
                                            const std::string& dbname) const {
  return "psql postgresql://" + user() + ":" + password + "@" + address + ":" +
         std::to_string(port) + "/" + dbname;
}

ImageRecipe PostgresEngine::image_recipe() const {
  ImageRecipe r;
  r.repo = "berth/postgres";
  r.tag = version().empty() ? "" : version() + "-1";
  // A shell runs initdb on the first start; rm and mv make that start atomic.
  r.binaries = {"/bin/sh",
                "/bin/rm",
                "/bin/mv",
                bin("postgres"),
                bin("initdb"),
                bin("pg_controldata"),
                bin("pg_basebackup"),
                bin("pg_rewind"),
                bin("psql")};
  // The server's SQL and catalog files, its loadable modules (not the JIT: it needs LLVM, and
  // is off) and the time zones (timezone = 'Europe/Paris' must work).
  r.trees = {
      {kShare, {"/man/"}}, {kLib, {"/bitcode/", "llvmjit"}}, {"/usr/share/zoneinfo", {"/right/"}}};
  r.engine_directories = {"/data", kSecretDir};
  // initdb and the server look their user up by number.
  r.files = {{"/etc/passwd",
              "root:x:0:0:root:/root:/usr/sbin/nologin\n"
              "berth:x:10001:10001:berth:/data:/usr/sbin/nologin\n",
              0644},
             {"/etc/group", "root:x:0:\nberth:x:10001:\n", 0644},
             {kHba,
              "# Every connection over TCP, with a SCRAM-SHA-256 password; no local socket.\n"
              "host all all 0.0.0.0/0 scram-sha-256\n"
              "host all all ::/0 scram-sha-256\n"
              "host replication all 0.0.0.0/0 scram-sha-256\n"
              "host replication all ::/0 scram-sha-256\n",
              0644}};
  return r;
}

std::vector<std::pair<std::string, std::string>> PostgresEngine::settings(int64_t memory_mb) {
  int64_t shared = std::max<int64_t>(16, memory_mb / 4);
  int64_t connections = std::clamp<int64_t>(memory_mb / 4, 25, 100);
  // What is left after shared buffers, for two sorts or hashes per connection at once.
  int64_t work_kb = std::max<int64_t>(1024, (memory_mb - shared) * 1024 / (2 * connections));
  auto mb = [](int64_t n) { return std::to_string(n) + "MB"; };
  return {{"listen_addresses", "*"},
          {"unix_socket_directories", ""},
          {"hba_file", kHba},
          {"max_connections", std::to_string(connections)},
          {"shared_buffers", mb(shared)},
          {"effective_cache_size", mb(memory_mb * 3 / 4)},
          {"work_mem", std::to_string(work_kb) + "kB"},
          {"maintenance_work_mem", mb(std::max<int64_t>(16, memory_mb / 16))},
          {"huge_pages", "off"},
          {"jit", "off"},
          {"timezone", "UTC"},
          {"log_timezone", "UTC"},
          {"wal_level", "replica"},
          {"max_wal_senders", "10"},
          {"max_replication_slots", "10"},
          {"password_encryption", "scram-sha-256"}};
}

docker::ContainerSpec PostgresEngine::container_spec(const model::Allocation& a) const {
  auto spec = base_container_spec(*this, a);
  std::string server = bin("postgres") + " -D " + kData + " -c port=" + std::to_string(a.port);
  for (auto& [name, value] : settings(a.memory_mb)) server += " -c " + name + "='" + value + "'";
  // The first start makes the cluster in a folder beside the data's and renames it into place
  // once whole: a start cut short leaves nothing that looks like data. The password reaches
  // initdb from its secret file, never the command line.
  std::string create_database = "CREATE DATABASE " + pg::identifier(sql_database(a.database_name));
  spec.cmd = {"/bin/sh", "-c",
              "set -e\n"
              "if [ ! -s " +
                  kData +
                  "/PG_VERSION ]; then\n"
                  "  /bin/rm -rf " +
                  kData +
                  ".new\n"
                  "  " +
                  bin("initdb") + " -D " + kData + ".new -U " + user() + " --pwfile=" + kSecretDir +
                  "/password --auth=scram-sha-256 --encoding=UTF8 --locale=C\n"
                  "  echo '" +
                  create_database + "' | " + bin("postgres") + " --single -D " + kData +
                  ".new -c jit=off postgres >/dev/null\n"
                  "  /bin/mv " +
                  kData + ".new " + kData +
                  "\n"
                  "fi\n"
                  "exec " +
                  server + "\n"};
  spec.env = {"TZ=UTC"};
  spec.volumes[volume_name(a)] = "/data";
  return spec;
}

std::vector<RootfsFile> PostgresEngine::secret_files(const model::Allocation& a) const {
  return {{kSecretDir + "/password", a.password.plain() + "\n", 0600, kEngineUid, kEngineUid}};
}

ProbeResult PostgresEngine::read_probe(const std::vector<pg::Row>& rows) {
  ProbeResult r;
  if (rows.size() != 1 || rows[0].size() != 5) {
    r.message = "postgres: an answer of an unexpected shape";
    return r;
  }
  auto& row = rows[0];
  auto number = [&](size_t i) {
    try {
      return row[i] ? std::stoll(*row[i]) : 0;
    } catch (const std::exception&) {
      return 0LL;
    }
  };
  bool recovering = row[0] && *row[0] == "t";
  r.healthy = true;
  r.role = recovering ? "replica" : "primary";
  r.writes_paused = row[1] && *row[1] == "on";
  r.connections = number(2);
  r.operations = number(3);
  r.offset = number(4);
  return r;
}

asio::awaitable<ProbeResult> PostgresEngine::probe(asio::any_io_executor executor,
                                                   const std::string& ip, int port,
                                                   const std::string& password,
                                                   std::chrono::milliseconds timeout) const {
  static const std::string sql =
      "SELECT pg_is_in_recovery(), current_setting('default_transaction_read_only'), "
      "(SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'), "
      "(SELECT coalesce(sum(xact_commit + xact_rollback), 0) FROM pg_stat_database), "
      "((CASE WHEN pg_is_in_recovery() THEN coalesce(pg_last_wal_replay_lsn(), '0/0') "
      "ELSE pg_current_wal_lsn() END) - '0/0'::pg_lsn)::bigint";
  try {
    auto rows = co_await pg::query(executor, login_for(ip, port, password), sql, timeout);
    co_return read_probe(rows);
  } catch (const pg::Error& e) {
    ProbeResult r;
    r.message = e.what();
    r.refused_password = e.refused_password;
    co_return r;
  }
}

asio::awaitable<void> PostgresEngine::apply_role(asio::any_io_executor executor,
                                                 const std::string& ip, int port,
                                                 const std::string& password,
                                                 const RoleConfig& config,
                                                 const ProbeResult& current) const {
  if (config.fenced == current.writes_paused) co_return;
  std::string sql = std::string("ALTER SYSTEM SET default_transaction_read_only = ") +
                    (config.fenced ? "on" : "off") + "; SELECT pg_reload_conf()";
  if (config.fenced)
    sql +=
        "; SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'client "
        "backend' AND pid <> pg_backend_pid()";
  co_await pg::query(executor, login_for(ip, port, password), sql, std::chrono::seconds(2));
}

asio::awaitable<void> PostgresEngine::set_password(asio::any_io_executor executor,
                                                   const std::string& ip, int port,
                                                   const std::string& current,
                                                   const std::string& next) const {
  co_await pg::set_password(executor, login_for(ip, port, current), user(), next,
                            std::chrono::seconds(5));
}

}  // namespace berth::engines
