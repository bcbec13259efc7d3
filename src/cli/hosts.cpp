// berth hosts, drain, undrain, engines, engine set, network show|set.
#include "cli/commands.hpp"

namespace berth::cli {

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
  on_run(hosts, ctx, [](auto& c, auto& o) { return list_hosts(c, o); });

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
