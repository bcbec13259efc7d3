// berth hosts [rm], drain, undrain, join-token create|ls, engines, engine set, network show|set.
#include "cli/commands.hpp"

namespace berth::cli {

namespace {
struct Item {  // one JSON object, as print_list takes it
  nlohmann::json raw;
};
}  // namespace

int list_hosts(client::Client& c, const Output& o) {
  print_list(o, c.hosts().list(),
             {"NAME", "ADDRESS", "STATE", "CPUS", "MEMORY", "ALLOCATED", "FREE", "INSTANCES"},
             [](const client::Host& h) -> Row {
               return {h.name,
                       h.address,
                       h.state,
                       std::to_string(h.cpus),
                       std::to_string(h.memory_mb) + "M",
                       std::to_string(h.allocated_mb) + "M",
                       std::to_string(h.free_mb) + "M",
                       std::to_string(h.instances)};
             });
  return 0;
}

int drain_host(client::Client& c, const std::string& host, bool drain, const Output& o) {
  auto h = drain ? c.hosts().drain(host) : c.hosts().undrain(host);
  o.out << h.name << ": " << h.state << ", " << h.instances << " instances\n";
  return 0;
}

int remove_host(client::Client& c, const std::string& host, const Output& o) {
  auto answer = c.send("DELETE", "/v1/hosts/" + client::escape(host)).body;
  if (o.json) {
    print_json(o.out, answer);
    return 0;
  }
  o.out << host << ": removed"
        << (answer.value("identity_revoked", false) ? "; its etcd user is revoked" : "") << "\n";
  return 0;
}

int create_join_token(client::Client& c, const std::string& ttl, const Output& o) {
  nlohmann::json body = nlohmann::json::object();
  if (!ttl.empty()) body["ttl"] = ttl;
  auto t = c.send("POST", "/v1/join-tokens", body).body;
  if (o.json) {
    print_json(o.out, t);
    return 0;
  }
  // The token alone on stdout (scripts take it as it is); what it is for on stderr.
  o.out << t.value("token", "") << "\n";
  o.err << "join token " << t.value("id", "") << ", valid once until " << t.value("expires_at", "")
        << ". On the new host:\n  berth agent --server " << c.server()
        << " --join-token TOKEN --state-dir /var/lib/berth/agent ...\n";
  return 0;
}

int list_join_tokens(client::Client& c, const Output& o) {
  std::vector<Item> tokens;
  for (auto& t : c.send("GET", "/v1/join-tokens").body) tokens.push_back({t});
  print_list(o, tokens, {"ID", "CREATED", "EXPIRES", "BY"}, [](const Item& t) -> Row {
    return {t.raw.value("id", ""), t.raw.value("created_at", ""), t.raw.value("expires_at", ""),
            t.raw.value("created_by", "")};
  });
  return 0;
}

int list_orphans(client::Client& c, const Output& o) {
  print_list(o, c.orphans().list(),
             {"ID", "HOST", "DATABASE", "INSTANCE", "VOLUME", "SIZE", "SINCE", "WHY"},
             [](const client::Orphan& v) -> Row {
               return {v.id,
                       v.host,
                       v.database_name.empty() ? v.database_id : v.database_name,
                       std::to_string(v.instance),
                       v.volume,
                       v.bytes < 0 ? "?" : human_bytes(v.bytes),
                       age(v.since),
                       v.remove_requested ? "removing" : v.reason};
             });
  return 0;
}

int remove_orphan(client::Client& c, const std::string& id, const Output& o) {
  bool gone = c.orphans().remove(id);
  o.out << id << (gone ? ": removed\n" : ": its host removes it when it is back\n");
  return 0;
}

int list_engines(client::Client& c, const Output& o) {
  print_list(o, c.engines().list(), {"ENGINE", "VERSION", "PORT", "IMAGE"},
             [](const client::Engine& e) -> Row {
               return {e.name, e.version, std::to_string(e.port), e.image};
             });
  return 0;
}

int set_engine_image(client::Client& c, const std::string& engine, const std::string& image,
                     const Output& o) {
  auto e = c.engines().set_image(engine, image);
  o.out << e.name << ": " << e.image << "\n";
  return 0;
}

int show_network(client::Client& c, const Output& o) {
  print_json(o.out, c.network().get());
  return 0;
}

// The exclusions go as written: the server decides what an address, range or CIDR is.
int set_network(client::Client& c, const client::NetworkSettings& settings, const Output& o) {
  print_json(o.out, c.network().set(settings));
  return 0;
}

void add_host_commands(CLI::App& app, const Context& ctx) {
  auto& flags = *ctx.flags;

  // berth drain HOST / berth undrain HOST
  for (bool drain : {true, false}) {
    auto* cmd =
        app.add_subcommand(drain ? "drain" : "undrain", drain ? "Move every instance off a host"
                                                              : "Let a host take instances again");
    auto host = std::make_shared<std::string>();
    cmd->add_option("host", *host, "host name")->required();
    add_connection(cmd, flags);
    on_run(cmd, ctx, [=](auto& c, auto& o) { return drain_host(c, *host, drain, o); });
  }

  // berth hosts [--json]
  auto* hosts = app.add_subcommand("hosts", "List Docker hosts and their capacity");
  hosts->add_flag("--json", flags.json, "print a JSON array");
  add_connection(hosts, flags);
  auto* host_rm = hosts->add_subcommand(
      "rm", "Remove a host that is down and runs nothing; its etcd user is revoked");
  auto host_name = std::make_shared<std::string>();
  host_rm->add_option("host", *host_name, "host name")->required();
  host_rm->add_flag("--json", flags.json, "print the answer's JSON");
  add_connection(host_rm, flags);
  on_run(host_rm, ctx, [=](auto& c, auto& o) { return remove_host(c, *host_name, o); });
  hosts->callback([host_rm, ctx] {
    if (host_rm->parsed()) return;  // `berth hosts rm NAME` ran instead
    run_command(ctx, [](auto& c, auto& o) { return list_hosts(c, o); });
  });

  // berth join-token create [--ttl 1h] | berth join-token ls
  auto* join_token = app.add_subcommand("join-token", "One-time tokens for new hosts (operator)");
  join_token->require_subcommand(1);
  auto* join_create = join_token->add_subcommand("create", "Print a new join token");
  auto ttl = std::make_shared<std::string>();
  join_create->add_option("--ttl", *ttl, "how long it may be used: 1s to 7d (default 1h)");
  join_create->add_flag("--json", flags.json, "print the answer's JSON");
  add_connection(join_create, flags);
  on_run(join_create, ctx, [=](auto& c, auto& o) { return create_join_token(c, *ttl, o); });
  auto* join_ls = join_token->add_subcommand("ls", "The join tokens not used and not expired");
  join_ls->add_flag("--json", flags.json, "print a JSON array");
  add_connection(join_ls, flags);
  on_run(join_ls, ctx, [](auto& c, auto& o) { return list_join_tokens(c, o); });

  // berth orphans [--json] | berth orphans rm ID
  auto* orphans = app.add_subcommand(
      "orphans", "Volumes kept on hosts after their instances left (removed after a retention)");
  orphans->add_flag("--json", flags.json, "print a JSON array");
  add_connection(orphans, flags);
  auto* orphan_rm = orphans->add_subcommand("rm", "Remove an orphan volume now");
  auto orphan_id = std::make_shared<std::string>();
  orphan_rm->add_option("id", *orphan_id, "orphan id (berth orphans)")->required();
  add_connection(orphan_rm, flags);
  on_run(orphan_rm, ctx, [=](auto& c, auto& o) { return remove_orphan(c, *orphan_id, o); });
  orphans->callback([orphan_rm, ctx] {
    if (orphan_rm->parsed()) return;  // `berth orphans rm ID` ran instead
    run_command(ctx, [](auto& c, auto& o) { return list_orphans(c, o); });
  });

  // berth engines | berth engine set ENGINE --image IMAGE
  auto* engines = app.add_subcommand("engines", "List engines, versions and images");
  add_connection(engines, flags);
  on_run(engines, ctx, [](auto& c, auto& o) { return list_engines(c, o); });
  auto* engine = app.add_subcommand("engine", "Engine settings (admin)");
  engine->require_subcommand(1);
  auto* engine_set = engine->add_subcommand("set", "Run ENGINE from a registry image");
  auto engine_args = std::make_shared<std::pair<std::string, std::string>>();
  engine_set->add_option("engine", engine_args->first, "engine name")->required();
  engine_set
      ->add_option("--image", engine_args->second,
                   "image reference; empty: build from local binaries")
      ->required();
  add_connection(engine_set, flags);
  on_run(engine_set, ctx, [=](auto& c, auto& o) {
    return set_engine_image(c, engine_args->first, engine_args->second, o);
  });

  // berth network show | set --subnet CIDR --gateway IP [--exclude RANGE]...
  auto* network = app.add_subcommand("network", "Show or set the cluster address pool");
  network->require_subcommand(1);
  auto* show = network->add_subcommand("show", "Print the network settings");
  add_connection(show, flags);
  on_run(show, ctx, [](auto& c, auto& o) { return show_network(c, o); });
  auto* set = network->add_subcommand("set", "Change the network settings (admin)");
  auto net = std::make_shared<client::NetworkSettings>();
  set->add_option("--subnet", net->subnet, "CIDR, e.g. 10.77.0.0/16")->required();
  set->add_option("--gateway", net->gateway, "gateway address")->required();
  set->add_option("--exclude", net->exclude, "address, range A-B or CIDR never handed out");
  set->add_option("--driver", net->driver, "bridge (one machine) or macvlan")
      ->default_val("bridge");
  set->add_option("--docker-network", net->docker_network, "Docker network name")
      ->default_val("berth");
  add_connection(set, flags);
  on_run(set, ctx, [=](auto& c, auto& o) { return set_network(c, *net, o); });
}

}  // namespace berth::cli
