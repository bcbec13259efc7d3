#include "up/roles.hpp"

#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <cstdlib>
#include <iostream>

#include "agent/agent.hpp"
#include "api/api.hpp"
#include "api/presence.hpp"
#include "backup/object_store.hpp"
#include "controller/controller.hpp"
#include "docker/client.hpp"
#include "engines/image.hpp"
#include "metrics/berth.hpp"
#include "metrics/exporter.hpp"
#include "model/model.hpp"
#include "store/etcd.hpp"
#include "store/etcd_auth.hpp"
#include "up/joining.hpp"
#include "up/listen.hpp"
#include "up/process.hpp"
#include "up/sealing.hpp"
#include "util/duration.hpp"
#include "util/log.hpp"

namespace berth::up {

namespace asio = boost::asio;
using namespace std::chrono_literals;

std::string default_state_dir() {
  if (geteuid() == 0) return "/var/lib/berth";
  const char* home = std::getenv("HOME");
  return std::string(home ? home : ".") + "/.local/share/berth";
}

namespace {

// The address a server announces: --advertise, else its listen address with the port it got
// (the host name when it listens on every interface).
std::string api_address(const std::string& advertise, const std::string& listen, uint16_t port) {
  if (!advertise.empty()) return advertise;
  std::string host = listen.substr(0, listen.rfind(':'));
  if (host.empty() || host == "0.0.0.0" || host == "::") host = hostname();
  return host + ":" + std::to_string(port);
}

// The etcd login the flags name, or false after saying on stderr why there is none.
bool read_login(const EtcdAccessFlags& access, const char* role, store::EtcdLogin* login) {
  try {
    *login = etcd_login(access);
    return true;
  } catch (const std::exception& e) {
    std::cerr << role << ": --etcd-password-file: " << e.what() << "\n";
    return false;
  }
}

}  // namespace

int run_server(const ServerFlags& flags) {
  bool https = !flags.tls_cert.empty();
  if (auto refusal = plain_http_refusal("berth server", flags.listen, https, flags.insecure_http)) {
    std::cerr << *refusal << "\n";
    return 2;
  }
  store::EtcdLogin login;
  if (!read_login(flags.etcd_access, "berth server", &login)) return 2;
  asio::io_context io;
  store::EtcdStore store(io.get_executor(), {flags.etcd}, etcd_tls_options(flags.etcd_access),
                         login);
  store.set_observer(&metrics::etcd_timings());
  api::Options options;
  options.listen = flags.listen;
  options.tls_cert_file = flags.tls_cert;
  options.tls_key_file = flags.tls_key;
  std::string state_dir = flags.state_dir.empty() ? default_state_dir() : flags.state_dir;
  options.token_file = flags.token_file.empty() ? state_dir + "/admin.token" : flags.token_file;
  // One backup store for the whole process: its threads do the file work off the event loop.
  options.backups = backup::open_directory_store(flags.backup_dir.empty() ? state_dir + "/backups"
                                                                          : flags.backup_dir);
  options.usage_step = flags.usage_step;
  std::string key_file =
      flags.secret_key_file.empty() ? state_dir + "/secrets.key" : flags.secret_key_file;
  auto keyring = use_key_file(key_file, true);
  try {
    options.join = join_authority(flags, store, !login.user.empty(), key_file);
  } catch (const std::exception& e) {
    std::cerr << "berth server: --cluster-ca: " << e.what() << "\n";
    return 2;
  }
  // Joined agents' HTTPS is checked against the cluster CA, which also signed etcd's certificate.
  options.cluster_ca_file = flags.cluster_ca.empty() ? flags.etcd_access.ca : flags.cluster_ca;
  api::Api api(io.get_executor(), store, options);
  controller::Controller controller(io.get_executor(), store, api.view(),
                                    hostname() + ":" + std::to_string(getpid()), flags.leader_ttl);
  controller.set_backup_store(options.backups);
  controller.set_usage_step(flags.usage_step);
  controller.set_etcd_upkeep(*util::parse_duration(flags.etcd_compact_interval),
                             flags.etcd_quota_bytes);
  std::unique_ptr<api::Presence> presence;
  int exit_code = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await adopt_sealing_key(store, keyring.get(), key_file, true);
        co_await api.start();
        util::log("server: listening on {} ({} API /v1)", flags.listen, https ? "HTTPS" : "HTTP");
        asio::co_spawn(io, controller.run(), asio::detached);
        presence = std::make_unique<api::Presence>(
            io.get_executor(), store, api_address(flags.advertise, flags.listen, api.port()));
        presence->start();
      },
      stop_on_error(io, &exit_code));
  run_until_signal(io, [&]() -> asio::awaitable<void> {
    api.stop();
    if (presence) co_await presence->stop();
    co_await controller.resign();
  });
  return exit_code;
}

int run_agent(const AgentFlags& given) {
  AgentFlags flags = given;
  if (!apply_identity(&flags, flags.advertise.empty() ? "127.0.0.1" : flags.advertise)) return 2;
  store::EtcdLogin login;
  if (!read_login(flags.etcd_access, "berth agent", &login)) return 2;
  asio::io_context io;
  store::EtcdStore store(io.get_executor(), {flags.etcd}, etcd_tls_options(flags.etcd_access),
                         login);
  store.set_observer(&metrics::etcd_timings());
  docker::Client docker(io.get_executor(), flags.docker_socket);
  agent::Options options;
  options.name = flags.name.empty() ? hostname() : flags.name;
  options.advertise = flags.advertise.empty() ? "127.0.0.1" : flags.advertise;
  options.lease_ttl_seconds = flags.lease_ttl;
  options.probe_interval = std::chrono::milliseconds(flags.probe_interval_ms);
  options.orphan_retention = *util::parse_duration(flags.orphan_retention);
  for (auto& label : flags.labels) {
    auto eq = label.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "berth agent: --label: '" << label << "' is not key=value\n";
      return 2;
    }
    options.labels[label.substr(0, eq)] = label.substr(eq + 1);
  }
  options.network = flags.network;
  options.backups = backup::open_directory_store(flags.backup_dir);
  auto keyring = use_key_file(flags.secret_key_file, false);
  agent::Agent* running = nullptr;  // set below: the exporter's address goes into its options
  metrics::Exporter exporter(io.get_executor(), [&](metrics::Registry& r) {
    if (running) running->collect_metrics(r);
  });
  options.metrics_address = exporter.start(
      flags.metrics_listen.empty() ? options.advertise + ":7071" : flags.metrics_listen,
      options.advertise, flags.metrics_tls_cert, flags.metrics_tls_key);
  options.metrics_tls = !flags.metrics_tls_cert.empty();
  agent::Agent agent(io.get_executor(), store, docker, options);
  running = &agent;
  exporter.serve("/v1/logs", [&](const http::ServerRequest& r) { return agent.serve_logs(r); });
  int exit_code = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await adopt_sealing_key(store, keyring.get(), flags.secret_key_file, false);
        co_await agent.run();
      },
      stop_on_error(io, &exit_code));
  run_until_signal(io, [&]() -> asio::awaitable<void> {
    exporter.stop();
    co_await agent.shutdown();
  });
  return exit_code;
}

int build_image(const std::string& engine_name, const std::string& docker_socket) {
  auto* engine = engines::find_engine(engine_name);
  if (!engine) {
    std::cerr << "berth: engine: unknown engine '" << engine_name
              << "' (known: " << engines::engine_names() << ")\n";
    return 2;
  }
  asio::io_context io;
  docker::Client docker(io.get_executor(), docker_socket);
  auto recipe = engine->image_recipe();
  auto f = asio::co_spawn(io, engines::ensure_image(docker, recipe), asio::use_future);
  io.run();
  try {
    bool built = f.get();
    std::cout << recipe.reference() << (built ? " built" : " already present") << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "berth: image build: " << e.what() << "\n";
    return 1;
  }
}

int etcd_auth(const std::string& action, const EtcdAuthFlags& flags) {
  store::EtcdLogin login;
  std::string password;
  try {
    password = password_from_file(flags.password_file, true);
  } catch (const std::exception& e) {
    std::cerr << "berth etcd-auth " << action << ": " << e.what() << "\n";
    return 2;
  }
  if (!read_login(flags.etcd_access, "berth etcd-auth", &login)) return 2;
  asio::io_context io;
  store::EtcdStore store(io.get_executor(), {flags.etcd}, etcd_tls_options(flags.etcd_access),
                         login);
  auto done = asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        if (action == "enable")
          co_await store::enable_auth(store, password);
        else if (action == "add-server")
          co_await store::add_server_user(store, flags.name, password);
        else
          co_await store::add_agent_user(store, flags.name, password);
      },
      asio::use_future);
  io.run();
  try {
    done.get();
  } catch (const std::exception& e) {
    std::cerr << "berth etcd-auth " << action << ": " << e.what() << "\n";
    return 1;
  }
  if (action == "enable")
    std::cout << "etcd authentication is on; root's password is in " << flags.password_file << "\n";
  else
    std::cout << "etcd user "
              << (action == "add-agent" ? store::agent_user(flags.name) : flags.name)
              << " is ready; its password is in " << flags.password_file << "\n";
  return 0;
}

}  // namespace berth::up
