// `berth up`: a single-machine berth in one process (Docker checked or started, a local etcd,
// the server and the agent), its CLI config written and a banner saying how to use it.
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "agent/agent.hpp"
#include "api/api.hpp"
#include "api/presence.hpp"
#include "backup/object_store.hpp"
#include "cli/cli.hpp"
#include "controller/controller.hpp"
#include "docker/client.hpp"
#include "engines/image.hpp"
#include "metrics/berth.hpp"
#include "metrics/exporter.hpp"
#include "model/model.hpp"
#include "netpool/netpool.hpp"
#include "store/etcd.hpp"
#include "store/etcd_auth.hpp"
#include "tls/certs.hpp"
#include "up/listen.hpp"
#include "up/process.hpp"
#include "up/roles.hpp"
#include "up/sealing.hpp"
#include "util/duration.hpp"
#include "util/log.hpp"

namespace berth::up {

namespace asio = boost::asio;
using namespace std::chrono_literals;

int run_up(UpFlags flags) {
  if (flags.state_dir.empty()) flags.state_dir = default_state_dir();
  std::filesystem::create_directories(flags.state_dir);
  std::string socket = flags.docker_socket;
  if (socket.starts_with("unix://")) socket = socket.substr(7);

  // Docker: use the local daemon; start Debian's dockerd when it is installed but down.
  if (!docker_answers(socket)) {
    if (geteuid() != 0 || socket != "/var/run/docker.sock" ||
        std::system("command -v dockerd >/dev/null 2>&1") != 0) {
      std::cerr << "berth up: no Docker daemon answers at " << socket << "\n";
      return 1;
    }
    util::log("up: starting dockerd (log in {}/dockerd.log)", flags.state_dir);
    Child dockerd;  // left running on purpose: it is the machine's Docker, not ours
    dockerd.start({"dockerd"}, flags.state_dir + "/dockerd.log");
    if (!wait_ready(
            [&](asio::any_io_executor ex) -> asio::awaitable<bool> {
              docker::Client d(ex, socket);
              co_return co_await d.ping();
            },
            60s)) {
      std::cerr << "berth up: dockerd did not start; see " << flags.state_dir << "/dockerd.log\n";
      return 1;
    }
  }

  // etcd: a single local member under the state folder unless one is given. It speaks TLS
  // and takes only clients that present a certificate of the cluster's CA: on a machine
  // shared with databases, nothing else can read the cluster's state or write to it.
  Child etcd;
  std::string etcd_endpoint = flags.etcd;
  http::TlsOptions etcd_tls = etcd_tls_options(flags.etcd_access);
  store::EtcdLogin etcd_login_as;
  try {
    etcd_login_as = etcd_login(flags.etcd_access);
  } catch (const std::exception& e) {
    std::cerr << "berth up: --etcd-password-file: " << e.what() << "\n";
    return 2;
  }
  if (etcd_endpoint.empty()) {
    auto files = tls::ensure_etcd_files(flags.state_dir);
    std::string client = "https://127.0.0.1:" + std::to_string(flags.etcd_port);
    std::string peer = "http://127.0.0.1:" + std::to_string(flags.etcd_port + 1);
    etcd.start(
        {"etcd", "--name", "berth", "--data-dir", flags.state_dir + "/etcd", "--listen-client-urls",
         client, "--advertise-client-urls", client, "--cert-file", files.server_cert, "--key-file",
         files.server_key, "--client-cert-auth", "--trusted-ca-file", files.ca_cert,
         // A single member: its peer port, on loopback, never carries anything.
         "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster",
         "berth=" + peer, "--log-level", "warn", "--quota-backend-bytes",
         std::to_string(kEtcdQuotaBytes)},
        flags.state_dir + "/etcd.log");
    etcd_endpoint = client;
    etcd_tls = {files.ca_cert, files.client_cert, files.client_key};
    // Its authentication on, with berth up as its root user: RBAC as on a cluster of
    // machines, where each agent signs in as a user of its own.
    etcd_login_as = {store::kRootUser,
                     password_from_file(flags.state_dir + "/etcd-root.password", true)};
    std::string etcd_problem;
    bool locked = wait_ready(
        [&](asio::any_io_executor ex) -> asio::awaitable<bool> {
          store::EtcdStore as_root(ex, {etcd_endpoint}, etcd_tls, etcd_login_as);
          std::string off;
          try {
            co_await as_root.get(model::keys::kClusterId);
            co_return true;  // a restart: on already, and root signs in
          } catch (const std::runtime_error& e) {
            off = e.what();
          }
          if (off.find("authentication is not enabled") == std::string::npos) {
            etcd_problem = off;  // not up yet, or refusing root: said if it never works
            co_return false;
          }
          store::EtcdStore anonymous(ex, {etcd_endpoint}, etcd_tls);
          co_await store::enable_auth(anonymous, etcd_login_as.password);
          co_return true;
        },
        30s);
    if (!locked || !etcd_answers(etcd_endpoint, etcd_tls, 10s, etcd_login_as)) {
      etcd.stop();
      std::cerr << "berth up: etcd did not start (" << etcd_problem << "); see " << flags.state_dir
                << "/etcd.log\n";
      return 1;
    }
  }

  asio::io_context io;
  store::EtcdStore store(io.get_executor(), {etcd_endpoint}, etcd_tls, etcd_login_as);
  store.set_observer(&metrics::etcd_timings());
  docker::Client docker(io.get_executor(), socket);
  api::Options api_options;
  api_options.listen = flags.listen;
  // Off loopback, HTTPS always (unless forced): the token and passwords cross the network.
  bool https = !flags.insecure_http && (flags.tls || !tls::is_loopback_listen(flags.listen));
  std::string ca_cert;
  if (https) {
    auto files = tls::ensure_server_files(flags.state_dir, certificate_names(flags.listen));
    api_options.tls_cert_file = files.cert;
    api_options.tls_key_file = files.key;
    ca_cert = files.ca_cert;
  }
  api_options.token_file = flags.state_dir + "/admin.token";
  api_options.backups = backup::open_directory_store(flags.state_dir + "/backups");
  std::string key_file = flags.state_dir + "/secrets.key";
  auto keyring = use_key_file(key_file, true);
  api::Api api(io.get_executor(), store, api_options);
  agent::Options agent_options;
  agent_options.name = hostname();
  agent_options.advertise = "127.0.0.1";
  agent_options.backups = api_options.backups;
  agent_options.orphan_retention = *util::parse_duration(flags.orphan_retention);
  agent::Agent* running = nullptr;
  metrics::Exporter exporter(io.get_executor(), [&](metrics::Registry& r) {
    if (running) running->collect_metrics(r);
  });
  agent_options.metrics_address = exporter.start(flags.metrics_listen, "127.0.0.1");
  agent::Agent agent(io.get_executor(), store, docker, agent_options);
  running = &agent;
  exporter.serve("/v1/logs", [&](const http::ServerRequest& r) { return agent.serve_logs(r); });
  api::Presence presence(io.get_executor(), store, flags.listen);
  controller::Controller controller(io.get_executor(), store, api.view(), "up");
  controller.set_backup_store(api_options.backups);
  controller.set_etcd_upkeep(*util::parse_duration(flags.etcd_compact_interval), kEtcdQuotaBytes);
  int exit_code = 0;

  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        // One host, one bridge network: the pool settings are made once and then kept.
        auto existing = co_await store.get(model::keys::kNetwork);
        if (existing.kvs.empty()) {
          model::NetworkConfig net;
          net.subnet = flags.subnet;
          net.gateway = flags.gateway;
          net.driver = "bridge";
          net.docker_network = flags.docker_network;
          if (auto problem = netpool::validate(net); !problem.empty())
            throw std::runtime_error(problem);
          std::vector<store::Compare> absent{store::Compare::absent(model::keys::kNetwork)};
          std::vector<store::Operation> put{
              store::Operation::put(model::keys::kNetwork, model::dump(net))};
          co_await store.txn(absent, put);
        }
        co_await adopt_sealing_key(store, keyring.get(), key_file, true);
        co_await api.start();
        asio::co_spawn(io, controller.run(), asio::detached);
        presence.start();
        asio::co_spawn(io, agent.run(), asio::detached);
        if (!co_await agent.wait_registered(30s))
          throw std::runtime_error("the agent could not register this host");
        // Ready when the API sees the host too: `berth run` right after the banner finds it.
        std::function<bool()> host_seen = [&] {
          return api.view().host(agent_options.name) != nullptr;
        };
        co_await api.view().wait_for(host_seen, 30s);
        std::string token;
        std::ifstream(api_options.token_file) >> token;
        // This machine's CLI reaches a server listening everywhere on its loopback address.
        std::string local = flags.listen;
        if (local.starts_with("0.0.0.0:") || local.starts_with(":"))
          local = "127.0.0.1" + local.substr(local.find(':'));
        std::string url = (https ? "https://" : "http://") + local;
        if (!token.empty()) cli::write_config({url, token, ca_cert});
        std::cout << "berth is up.\n"
                  << "  API:    " << url << "/v1\n"
                  << "  UI:     " << url << "/ui/" << (token.empty() ? "" : "?token=" + token)
                  << "\n"
                  << "  token:  "
                  << (token.empty() ? "(see " + api_options.token_file + ")" : token) << "\n"
                  << (https ? "  CA:     " + ca_cert + " (the CLI config names it)\n" : "")
                  << "  state:  " << flags.state_dir << "\n"
                  << "  CLI config written to " << cli::config_path() << "\n"
                  << "Try:\n"
                  << "  berth run redis --name cache --memory 256M\n"
                  << "  berth ps\n"
                  << "  berth rm cache\n"
                  << std::flush;
      },
      stop_on_error(io, &exit_code));
  run_until_signal(io, [&]() -> asio::awaitable<void> {
    api.stop();
    exporter.stop();
    co_await presence.stop();
    co_await controller.resign();
    co_await agent.shutdown();
  });
  etcd.stop();
  return exit_code;
}

}  // namespace berth::up
