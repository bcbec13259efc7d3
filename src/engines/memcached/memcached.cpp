#include "engines/memcached/memcached.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engines/command_output.hpp"
#include "engines/memcached/replies.hpp"
#include "util/subprocess.hpp"
#include "util/tcp_exchange.hpp"

namespace berth::engines {

std::string MemcachedEngine::version() const {
  // "memcached 1.6.18": read once; the binary does not change under us.
  static const std::string cached = [] {
    std::string out = command_output("memcached --version 2>/dev/null");
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

namespace {
const char* const kSaslDir = "/etc/berth-sasl";
const std::string kSaslDb = kSecretDir + "/sasldb";
const char* const kPlugins = "/usr/lib/x86_64-linux-gnu/sasl2";
}  // namespace

std::string MemcachedEngine::connect_command(const std::string& address, int port,
                                             const std::string& password,
                                             const std::string&) const {
  if (password.empty()) return "telnet " + address + " " + std::to_string(port);
  return "memcached client with the binary protocol and SASL PLAIN, user " + user() + ", at " +
         address + ":" + std::to_string(port);
}

ImageRecipe MemcachedEngine::image_recipe() const {
  ImageRecipe r;
  r.repo = "berth/memcached";
  r.tag = version().empty() ? "" : version() + "-sasl2";  // sasl2: its database in kSecretDir
  // A shell and saslpasswd2 make the password database at start; Cyrus SASL's PLAIN mechanism
  // and sasldb plugins check it.
  r.binaries = {"/usr/bin/memcached", "/bin/sh", "/usr/sbin/saslpasswd2",
                std::string(kPlugins) + "/libplain.so", std::string(kPlugins) + "/libsasldb.so"};
  r.engine_directories = {kSecretDir};
  r.files = {{std::string(kSaslDir) + "/memcached.conf",
              "mech_list: plain\nsasldb_path: " + kSaslDb + "\n", 0644}};
  r.changes = {R"(CMD ["/usr/bin/memcached"])"};
  return r;
}

int64_t MemcachedEngine::item_memory_mb(int64_t memory_mb) {
  return std::max<int64_t>(8, memory_mb * 80 / 100);
}

docker::ContainerSpec MemcachedEngine::container_spec(const model::Allocation& a) const {
  auto spec = base_container_spec(*this, a);
  std::string memcached =
      "/usr/bin/memcached --port=" + std::to_string(a.port) +
      " --udp-port=0 --memory-limit=" + std::to_string(item_memory_mb(a.memory_mb)) +
      " --conn-limit=4096 --threads=2";
  if (a.password.empty()) {
    spec.cmd = {"/bin/sh", "-c", "exec " + memcached};
  } else {
    // The password reaches saslpasswd2 from its secret file, never the command line or the
    // environment (docker inspect shows both).
    spec.env = {"SASL_CONF_PATH=" + std::string(kSaslDir)};
    spec.cmd = {"/bin/sh", "-c",
                "/usr/sbin/saslpasswd2 -p -c -f " + kSaslDb + " -a memcached " + user() + " < " +
                    kSecretDir + "/password && exec " + memcached + " --enable-sasl"};
  }
  return spec;
}

std::vector<RootfsFile> MemcachedEngine::secret_files(const model::Allocation& a) const {
  if (a.password.empty()) return {};
  return {{kSecretDir + "/password", a.password, 0600, kEngineUid, kEngineUid}};
}

boost::asio::awaitable<std::vector<RootfsFile>> MemcachedEngine::password_files(
    boost::asio::any_io_executor executor, const model::Allocation& a,
    const std::string& hostname) const {
  auto files = secret_files(a);
  if (a.password.empty()) co_return files;
  if (hostname.empty() ||
      hostname.find_first_not_of("abcdefghijklmnopqrstuvwxyz"
                                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != std::string::npos)
    throw std::runtime_error("the container's host name is not one SASL can take: " + hostname);
  // The same saslpasswd2 the image holds, in a private folder; the password reaches it on
  // stdin from a 0600 file, never its command line.
  std::string dir = "/tmp/berth-sasl-XXXXXX";  // a string: g++ 12 takes no array in a coroutine
  if (!mkdtemp(dir.data())) throw std::runtime_error("cannot make a folder for the SASL database");
  { std::ofstream(dir + "/password") << a.password.plain(); }
  std::filesystem::permissions(dir + "/password", std::filesystem::perms::owner_read);
  std::vector<std::string> argv{"/bin/sh", "-c",
                                "/usr/sbin/saslpasswd2 -p -c -f " + dir +
                                    "/sasldb -a memcached -u '" + hostname + "' " + user() + " < " +
                                    dir + "/password"};
  auto made = co_await util::run_process(executor, argv);
  std::ifstream in(dir + "/sasldb", std::ios::binary);
  std::string sasldb((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  if (made.exit_code != 0 || sasldb.empty())
    throw std::runtime_error("saslpasswd2 failed: " + made.output);
  files.push_back({kSaslDb, sasldb, 0600, kEngineUid, kEngineUid});
  co_return files;
}

boost::asio::awaitable<ProbeResult> MemcachedEngine::probe(
    boost::asio::any_io_executor executor, const std::string& ip, int port,
    const std::string& password, std::chrono::milliseconds timeout) const {
  ProbeResult result;
  std::map<std::string, std::string> stats;
  try {
    if (password.empty()) {
      auto reply = co_await util::tcp_exchange(
          executor, ip, port, "stats\r\n",
          [](const std::string& b) {
            return b.ends_with("END\r\n") || b.ends_with("ERROR\r\n") || b.find("ERROR") == 0;
          },
          timeout);
      stats = memcached::parse_stats(reply);
    } else {
      // SASL PLAIN (opcode 0x21), then STAT (0x10), in one round trip.
      std::string request =
          memcached::binary_request(
              0x21, "PLAIN", std::string(1, '\0') + user() + std::string(1, '\0') + password) +
          memcached::binary_request(0x10, "", "");
      auto reply = co_await util::tcp_exchange(
          executor, ip, port, request,
          [](const std::string& b) {
            bool done = false;
            memcached::binary_responses(b, &done);
            return done;
          },
          timeout);
      bool done = false;
      auto responses = memcached::binary_responses(reply, &done);
      if (responses.empty() || responses[0].status != 0) {
        constexpr uint16_t kAuthError = 0x20;
        result.refused_password = !responses.empty() && responses[0].status == kAuthError;
        result.message = "SASL authentication refused";
        co_return result;
      }
      for (size_t i = 1; i < responses.size(); ++i)
        if (!responses[i].key.empty()) stats[responses[i].key] = responses[i].value;
    }
  } catch (const util::ExchangeError& e) {
    result.message = e.what();
    co_return result;
  }
  co_return memcached::read_probe(stats);
}

boost::asio::awaitable<void> MemcachedEngine::resize(boost::asio::any_io_executor executor,
                                                     const std::string& ip, int port,
                                                     const std::string& password,
                                                     int64_t memory_mb) const {
  // With SASL there is no text protocol: the agent starts a new container instead.
  if (!password.empty()) co_return;
  auto reply = co_await util::tcp_exchange(
      executor, ip, port, "cache_memlimit " + std::to_string(item_memory_mb(memory_mb)) + "\r\n",
      [](const std::string& b) { return b.find("\r\n") != std::string::npos; },
      std::chrono::milliseconds(2000));
  if (!reply.starts_with("OK"))
    throw std::runtime_error("memcached refused the new memory limit: " + reply);
}

}  // namespace berth::engines
