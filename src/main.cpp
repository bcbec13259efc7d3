// berth: one binary for every role (server, agent, up) and the client commands.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/cli.hpp"
#include "up/roles.hpp"
#include "util/duration.hpp"

int main(int argc, char** argv) {
  CLI::App app{"berth: databases on your own Docker hosts"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("berth ") + BERTH_VERSION);
  int exit_code = 0;

  // The same options, and environment variables, wherever a role talks to etcd.
  auto add_etcd_access = [](CLI::App* role, berth::up::EtcdAccessFlags& access) {
    role->add_option("--etcd-ca", access.ca, "PEM CA that signed etcd's certificate")
        ->envname("BERTH_ETCD_CA");
    auto* cert = role->add_option("--etcd-cert", access.cert, "PEM client certificate for etcd")
                     ->envname("BERTH_ETCD_CERT");
    auto* key = role->add_option("--etcd-key", access.key, "PEM key of --etcd-cert")
                    ->envname("BERTH_ETCD_KEY");
    cert->needs(key);
    key->needs(cert);
    auto* user = role->add_option("--etcd-user", access.user,
                                  "etcd user to sign in as (etcd's authentication on)")
                     ->envname("BERTH_ETCD_USER");
    auto* password = role->add_option("--etcd-password-file", access.password_file,
                                      "file holding --etcd-user's password")
                         ->envname("BERTH_ETCD_PASSWORD_FILE");
    user->needs(password);
    password->needs(user);
  };

  berth::up::ServerFlags server_flags;
  auto* server = app.add_subcommand("server", "Run the REST API (and, when elected, controllers)");
  server->add_option("--etcd", server_flags.etcd, "etcd endpoints, comma-separated")->required();
  add_etcd_access(server, server_flags.etcd_access);
  server->add_option("--listen", server_flags.listen, "ADDR:PORT")->capture_default_str();
  server->add_option("--state-dir", server_flags.state_dir, "where the admin token is written");
  server->add_option("--token-file", server_flags.token_file, "admin token file (mode 0600)");
  server->add_option("--leader-ttl", server_flags.leader_ttl, "seconds")->capture_default_str();
  server->add_option("--usage-step", server_flags.usage_step, "seconds between usage samples")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  server->add_option("--backup-dir", server_flags.backup_dir,
                     "the backup store, shared with the agents (default STATE_DIR/backups)");
  auto is_duration = [](const std::string& v) -> std::string {
    return berth::util::parse_duration(v) ? ""
                                          : "'" + v + "' is not a duration such as 30s, 5m, 1h";
  };
  server
      ->add_option("--etcd-compact-interval", server_flags.etcd_compact_interval,
                   "how often the leader compacts etcd's history (and keeps that much of it)")
      ->check(is_duration)
      ->capture_default_str();
  server
      ->add_option("--etcd-quota-bytes", server_flags.etcd_quota_bytes,
                   "etcd's --quota-backend-bytes, to report its use")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  server->add_option("--advertise", server_flags.advertise,
                     "HOST:PORT others reach this server at (default: the listen address)");
  auto* cert = server->add_option("--tls-cert", server_flags.tls_cert,
                                  "PEM certificate (chain) of the API: it speaks HTTPS");
  auto* key = server->add_option("--tls-key", server_flags.tls_key, "PEM key of --tls-cert");
  cert->needs(key);
  key->needs(cert);
  server->add_option("--secret-key-file", server_flags.secret_key_file,
                     "key file passwords are sealed with in etcd (made when missing; default "
                     "STATE_DIR/secrets.key); agents need the same file");
  auto* cluster_ca = server->add_option("--cluster-ca", server_flags.cluster_ca,
                                        "PEM cluster CA that signs joining hosts' certificates");
  auto* cluster_ca_key = server->add_option("--cluster-ca-key", server_flags.cluster_ca_key,
                                            "PEM key of --cluster-ca");
  cluster_ca->needs(cluster_ca_key);
  cluster_ca_key->needs(cluster_ca);
  server->add_option("--join-etcd", server_flags.join_etcd,
                     "etcd endpoints handed to joining hosts (default: --etcd)");
  server->add_flag("--insecure-http", server_flags.insecure_http,
                   "serve plain HTTP even on an address other machines reach");
  server->callback([&] { exit_code = berth::up::run_server(server_flags); });

  berth::up::AgentFlags agent_flags;
  auto* agent = app.add_subcommand("agent", "Run the agent of one Docker host");
  agent->add_option("--etcd", agent_flags.etcd,
                    "etcd endpoints, comma-separated (a joined host: those it was given)");
  add_etcd_access(agent, agent_flags.etcd_access);
  agent->add_option("--docker-socket", agent_flags.docker_socket, "dockerd socket path")
      ->capture_default_str();
  agent->add_option("--name", agent_flags.name, "host name (default: hostname)");
  agent->add_option("--advertise", agent_flags.advertise, "the host's address");
  agent->add_option("--lease-ttl", agent_flags.lease_ttl, "seconds")->capture_default_str();
  agent->add_option("--probe-interval-ms", agent_flags.probe_interval_ms, "health probe period")
      ->capture_default_str();
  agent->add_option("--label", agent_flags.labels, "host label key=value (repeatable)");
  agent->add_option("--backup-dir", agent_flags.backup_dir, "the backup store, shared with servers")
      ->capture_default_str();
  agent->add_option("--network", agent_flags.network,
                    "macvlan:IF puts containers on the LAN behind interface IF");
  agent->add_option("--metrics-listen", agent_flags.metrics_listen,
                    "ADDR:PORT of the agent's /metrics (default ADVERTISE:7071; port 0: any)");
  agent
      ->add_option("--orphan-retention", agent_flags.orphan_retention,
                   "how long a volume no instance uses any more is kept before it is removed")
      ->check(is_duration)
      ->capture_default_str();
  agent
      ->add_option("--secret-key-file", agent_flags.secret_key_file,
                   "the servers' key file, to open the passwords sealed in etcd")
      ->capture_default_str();
  agent->add_option("--state-dir", agent_flags.state_dir,
                    "where a joined host keeps its identity (certificate, etcd user, sealing key)");
  agent->add_option("--server", agent_flags.server,
                    "https:// URL of a berth server to join through");
  agent
      ->add_option("--join-token", agent_flags.join_token,
                   "one-time token from `berth join-token create` (first start only)")
      ->envname("BERTH_JOIN_TOKEN");
  agent->callback([&] { exit_code = berth::up::run_agent(agent_flags); });

  berth::up::UpFlags up_flags;
  auto* up = app.add_subcommand("up", "Start a single-machine berth (etcd, server, agent)");
  up->add_option("--state-dir", up_flags.state_dir, "state folder (default /var/lib/berth)");
  up->add_option("--listen", up_flags.listen, "API address ADDR:PORT")->capture_default_str();
  up->add_option("--etcd", up_flags.etcd, "use this etcd instead of a local one");
  add_etcd_access(up, up_flags.etcd_access);
  up->add_option("--etcd-port", up_flags.etcd_port, "local etcd client port")
      ->capture_default_str();
  up->add_option("--docker-socket", up_flags.docker_socket, "dockerd socket")
      ->capture_default_str();
  up->add_option("--subnet", up_flags.subnet, "address pool (first start only)")
      ->capture_default_str();
  up->add_option("--gateway", up_flags.gateway, "pool gateway (first start only)")
      ->capture_default_str();
  up->add_option("--docker-network", up_flags.docker_network, "Docker network name")
      ->capture_default_str();
  up->add_option("--metrics-listen", up_flags.metrics_listen, "the agent's /metrics ADDR:PORT")
      ->capture_default_str();
  up->add_option("--etcd-compact-interval", up_flags.etcd_compact_interval,
                 "how often etcd's history is compacted (and keeps that much of it)")
      ->check(is_duration)
      ->capture_default_str();
  up->add_option("--orphan-retention", up_flags.orphan_retention,
                 "how long a volume no instance uses any more is kept before it is removed")
      ->check(is_duration)
      ->capture_default_str();
  up->add_flag("--tls", up_flags.tls,
               "serve HTTPS with a CA made under STATE_DIR/tls (always when --listen is not "
               "loopback)");
  up->add_flag("--insecure-http", up_flags.insecure_http,
               "serve plain HTTP even on an address other machines reach");
  up->callback([&] { exit_code = berth::up::run_up(up_flags); });

  auto* etcd_auth = app.add_subcommand(
      "etcd-auth", "etcd's users and roles for berth (switches etcd's authentication on)");
  etcd_auth->require_subcommand(1);
  berth::up::EtcdAuthFlags auth_flags;
  struct AuthAction {
    const char* name;
    const char* help;
    const char* name_help;
    const char* password_help;
  };
  for (auto& a : {
           AuthAction{"enable", "Make etcd's root user and switch authentication on", nullptr,
                      "root's password (made when the file is missing)"},
           AuthAction{"add-server", "Make a server's etcd user (etcd's root role)", "user name",
                      "its password (made when the file is missing)"},
           AuthAction{"add-agent", "Make an agent's etcd user: it writes its own host's keys only",
                      "the agent's host name (--name)",
                      "its password (made when the file is missing)"},
       }) {
    auto* cmd = etcd_auth->add_subcommand(a.name, a.help);
    cmd->add_option("--etcd", auth_flags.etcd, "etcd endpoints, comma-separated")->required();
    add_etcd_access(cmd, auth_flags.etcd_access);
    if (a.name_help) cmd->add_option("name", auth_flags.name, a.name_help)->required();
    cmd->add_option(a.name_help ? "--password-file" : "--root-password-file",
                    auth_flags.password_file, a.password_help)
        ->required();
    std::string action = a.name;
    cmd->callback([&, action] { exit_code = berth::up::etcd_auth(action, auth_flags); });
  }

  auto* image = app.add_subcommand("image", "Engine images");
  image->require_subcommand(1);
  auto* build = image->add_subcommand("build", "Build berth/ENGINE:VERSION from local binaries");
  std::string image_engine, image_socket = "/var/run/docker.sock";
  build->add_option("engine", image_engine, "redis")->required();
  build->add_option("--docker-socket", image_socket, "dockerd socket")->capture_default_str();
  build->callback([&] { exit_code = berth::up::build_image(image_engine, image_socket); });

  berth::cli::add_client_commands(app, &exit_code);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "berth: " << e.what() << "\n";
    return 2;
  } catch (const berth::cli::UsageError& e) {
    std::cerr << "berth: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "berth: " << e.what() << "\n";
    return 1;
  }
  return exit_code;
}
