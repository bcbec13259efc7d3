#include "up/roles.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

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

std::string hostname() {
  char buf[256] = {};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

// Runs the loop until SIGINT/SIGTERM, then runs on_stop (which may await) and stops.
void run_until_signal(asio::io_context& io, std::function<asio::awaitable<void>()> on_stop) {
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    util::log("stopping");
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          if (on_stop) co_await on_stop();
          io.stop();
        },
        asio::detached);
  });
  io.run();
}

// Reports a startup failure from a coroutine and stops the loop.
auto stop_on_error(asio::io_context& io, int* exit_code) {
  return [&io, exit_code](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      util::log("fatal: {}", ex.what());
    }
    *exit_code = 1;
    io.stop();
  };
}

// A child process that is ours to stop (the local etcd of `berth up`).
struct Child {
  pid_t pid = -1;
  void start(const std::vector<std::string>& argv, const std::string& log_file) {
    pid = fork();
    if (pid == 0) {
      setsid();
      int fd = open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execvp(args[0], args.data());
      _exit(127);
    }
  }
  bool running() const { return pid > 0 && waitpid(pid, nullptr, WNOHANG) == 0; }
  void stop() {
    if (pid <= 0) return;
    kill(pid, SIGTERM);
    for (int i = 0; i < 500 && waitpid(pid, nullptr, WNOHANG) == 0; ++i)
      std::this_thread::sleep_for(10ms);
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    pid = -1;
  }
};

// Waits (before the event loop runs) until a probe coroutine says yes or the time is up.
bool wait_ready(std::function<asio::awaitable<bool>(asio::any_io_executor)> probe,
                std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    asio::io_context io;
    auto f = asio::co_spawn(io, probe(io.get_executor()), asio::use_future);
    io.run();
    try {
      if (f.get()) return true;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

bool docker_answers(const std::string& socket) {
  return wait_ready(
      [&](asio::any_io_executor ex) -> asio::awaitable<bool> {
        docker::Client d(ex, socket);
        co_return co_await d.ping();
      },
      1s);
}

bool etcd_answers(const std::string& endpoint, std::chrono::seconds timeout) {
  return wait_ready(
      [&](asio::any_io_executor ex) -> asio::awaitable<bool> {
        store::EtcdStore s(ex, {endpoint});
        co_await s.get("/berth/health-check");
        co_return true;
      },
      timeout);
}

// The address a server announces: --advertise, else its listen address with the port it got
// (the host name when it listens on every interface).
std::string api_address(const std::string& advertise, const std::string& listen, uint16_t port) {
  if (!advertise.empty()) return advertise;
  std::string host = listen.substr(0, listen.rfind(':'));
  if (host.empty() || host == "0.0.0.0" || host == "::") host = hostname();
  return host + ":" + std::to_string(port);
}

}  // namespace

int run_server(const ServerFlags& flags) {
  asio::io_context io;
  store::EtcdStore store(io.get_executor(), {flags.etcd});
  store.set_observer(&metrics::etcd_timings());
  api::Options options;
  options.listen = flags.listen;
  std::string state_dir = flags.state_dir.empty() ? default_state_dir() : flags.state_dir;
  options.token_file = flags.token_file.empty() ? state_dir + "/admin.token" : flags.token_file;
  // One backup store for the whole process: its threads do the file work off the event loop.
  options.backups = backup::open_directory_store(flags.backup_dir.empty() ? state_dir + "/backups"
                                                                          : flags.backup_dir);
  options.usage_step = flags.usage_step;
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
        co_await api.start();
        util::log("server: listening on {} (API /v1)", flags.listen);
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

int run_agent(const AgentFlags& flags) {
  asio::io_context io;
  store::EtcdStore store(io.get_executor(), {flags.etcd});
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
  agent::Agent* running = nullptr;  // set below: the exporter's address goes into its options
  metrics::Exporter exporter(io.get_executor(), [&](metrics::Registry& r) {
    if (running) running->collect_metrics(r);
  });
  options.metrics_address = exporter.start(
      flags.metrics_listen.empty() ? options.advertise + ":7071" : flags.metrics_listen,
      options.advertise);
  agent::Agent agent(io.get_executor(), store, docker, options);
  running = &agent;
  exporter.serve("/v1/logs", [&](const http::ServerRequest& r) { return agent.serve_logs(r); });
  int exit_code = 0;
  asio::co_spawn(io, agent.run(), stop_on_error(io, &exit_code));
  run_until_signal(io, [&]() -> asio::awaitable<void> {
    exporter.stop();
    co_await agent.shutdown();
  });
  return exit_code;
}

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

  // etcd: a single local member under the state folder unless one is given.
  Child etcd;
  std::string etcd_endpoint = flags.etcd;
  if (etcd_endpoint.empty()) {
    std::string client = "http://127.0.0.1:" + std::to_string(flags.etcd_port);
    std::string peer = "http://127.0.0.1:" + std::to_string(flags.etcd_port + 1);
    etcd.start(
        {"etcd", "--name", "berth", "--data-dir", flags.state_dir + "/etcd", "--listen-client-urls",
         client, "--advertise-client-urls", client, "--listen-peer-urls", peer,
         "--initial-advertise-peer-urls", peer, "--initial-cluster", "berth=" + peer, "--log-level",
         "warn", "--quota-backend-bytes", std::to_string(kEtcdQuotaBytes)},
        flags.state_dir + "/etcd.log");
    etcd_endpoint = client;
    if (!etcd_answers(etcd_endpoint, 30s)) {
      etcd.stop();
      std::cerr << "berth up: etcd did not start; see " << flags.state_dir << "/etcd.log\n";
      return 1;
    }
  }

  asio::io_context io;
  store::EtcdStore store(io.get_executor(), {etcd_endpoint});
  store.set_observer(&metrics::etcd_timings());
  docker::Client docker(io.get_executor(), socket);
  api::Options api_options;
  api_options.listen = flags.listen;
  api_options.token_file = flags.state_dir + "/admin.token";
  api_options.backups = backup::open_directory_store(flags.state_dir + "/backups");
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
        std::string url = "http://" + flags.listen;
        if (!token.empty()) cli::write_config({url, token});
        std::cout << "berth is up.\n"
                  << "  API:    " << url << "/v1\n"
                  << "  UI:     " << url << "/ui/" << (token.empty() ? "" : "?token=" + token)
                  << "\n"
                  << "  token:  "
                  << (token.empty() ? "(see " + api_options.token_file + ")" : token) << "\n"
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

}  // namespace berth::up
