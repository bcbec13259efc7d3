// berth run, ps, inspect, rm, update, switchover.
#include <fstream>
#include <iostream>

#include "cli/cli.hpp"
#include "cli/commands.hpp"

namespace berth::cli {

namespace {

std::string primary_host(const client::Database& db) {
  auto* p = db.primary();
  return p ? p->host : "";
}

int64_t used_bytes(const client::Database& db) {
  auto* p = db.primary();
  return p ? p->memory_used_bytes : 0;
}

}  // namespace

void describe_database(std::ostream& out, const client::Database& db) {
  out << db.name << " is " << db.state << " (" << db.engine << " " << db.version << ", "
      << db.memory_mb << " MiB, " << db.usable_memory_mb << " MiB of it for data) on "
      << primary_host(db) << "\n"
      << "  id:       " << db.id << "\n"
      << "  address:  " << db.address << ":" << db.port << "\n";
  if (db.user) out << "  user:     " << *db.user << "\n";
  if (!db.dbname.empty()) out << "  database: " << db.dbname << "\n";
  if (!db.password.empty()) out << "  password: " << db.password << "\n";
  out << "  connect:  " << db.connect << "\n";
  for (auto& note : db.notes) out << "  note:     " << note << "\n";
}

std::string read_secret_line(const std::string& path) {
  std::string line;
  if (path == "-") {
    std::getline(std::cin, line);
  } else {
    std::ifstream in(path);
    if (!in) throw UsageError("--password-file: cannot read " + path);
    std::getline(in, line);
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) throw UsageError("--password-file: " + path + " holds no password");
  return line;
}

int run_database(client::Client& c, const RunArgs& args, const Output& o) {
  client::DatabaseSpec spec{args.name, args.engine, parse_memory_mb(args.memory, "--memory")};
  if (!args.password.empty() && !args.password_file.empty())
    throw UsageError("--password-file: give the password one way, not with --password too");
  if (!args.password.empty()) spec.password = args.password;
  if (!args.password_file.empty()) spec.password = read_secret_line(args.password_file);
  spec.replicas = parse_replicas(args.replicas);
  for (auto& constraint : args.constraints) {
    auto eq = constraint.find('=');
    if (eq == std::string::npos || eq == 0)
      throw UsageError("--constraint: '" + constraint + "' is not key=value");
    spec.constraints[constraint.substr(0, eq)] = constraint.substr(eq + 1);
  }
  auto created = c.databases().create(spec, !args.detach);
  print_one(o, created.database,
            [&](std::ostream& out) { describe_database(out, created.database); });
  if (created.ready || args.detach) return 0;
  // What the agents said, so an edge's failure (an image, a network) reaches the user here.
  std::string why;
  for (auto& i : created.database.instances)
    if (i.state != "healthy" && !i.message.empty())
      why += "; instance " + std::to_string(i.n) + ": " + i.message;
  o.err << "berth: " << created.database.name << " was created but is not healthy yet" << why
        << "; see `berth inspect " << created.database.name << "`\n";
  return 1;
}

int list_databases(client::Client& c, const Output& o) {
  print_list(o, c.databases().list(),
             {"ID", "NAME", "ENGINE", "MEMORY", "USED", "STATE", "ADDRESS", "HOST", "AGE"},
             [](const client::Database& db) -> Row {
               return {db.id,
                       db.name,
                       db.engine,
                       std::to_string(db.memory_mb) + "M",
                       human_bytes(used_bytes(db)),
                       db.state,
                       db.address + ":" + std::to_string(db.port),
                       primary_host(db),
                       age(db.created_at)};
             });
  return 0;
}

int inspect_database(client::Client& c, const std::string& ref, const Output& o) {
  print_json(o.out, c.databases().get(ref).raw);
  return 0;
}

int remove_databases(client::Client& c, const std::vector<std::string>& refs, const Output& o) {
  for (auto& ref : refs) {
    c.databases().remove(ref);
    o.out << ref << "\n";
  }
  return 0;
}

int update_database(client::Client& c, const UpdateArgs& args, const Output& o) {
  client::DatabaseUpdate update;
  if (!args.memory.empty()) update.memory_mb = parse_memory_mb(args.memory, "--memory");
  if (!args.replicas.empty()) update.replicas = parse_replicas(args.replicas);
  if (!args.backup_schedule.empty())
    update.backup_schedule = args.backup_schedule == "none" ? "" : args.backup_schedule;
  if (auto& verify = args.backup_verify; !verify.empty()) {
    if (verify != "true" && verify != "false")
      throw UsageError("--backup-verify: '" + verify + "' is not true or false");
    update.backup_verify = verify == "true";
  }
  if (auto& keep = args.backup_keep; !keep.empty()) {
    if (keep.size() > 4 || keep.find_first_not_of("0123456789") != std::string::npos)
      throw UsageError("--backup-keep: '" + keep + "' is not a number");
    update.backup_keep = std::stoi(keep);
  }
  if (update.empty())
    throw UsageError("update: say --memory, --replicas, --backup-schedule or --backup-keep");
  auto db = c.databases().update(args.name, update);
  print_one(o, db, [&](std::ostream& out) {
    out << db.name << ": " << db.memory_mb << " MiB, " << db.replicas << " replicas\n";
  });
  return 0;
}

int switchover(client::Client& c, const std::string& ref, int to, const Output& o) {
  auto db = c.databases().switchover(ref, to >= 0 ? std::optional<int>(to) : std::nullopt);
  for (auto& i : db.instances)
    if (i.role == "primary")
      o.out << db.name << ": instance " << i.n << " on " << i.host << " is primary\n";
  return 0;
}

void add_database_commands(CLI::App& app, const Context& ctx) {
  auto& flags = *ctx.flags;

  // berth run ENGINE --name N [--memory 256M] [--password P] [--json]
  auto* run = app.add_subcommand("run", "Create a database and wait until it answers");
  auto run_args = std::make_shared<RunArgs>();
  run->add_option("engine", run_args->engine, "redis")->required();
  run->add_option("--name", run_args->name, "database name")->required();
  run->add_option("--memory", run_args->memory, "memory limit, e.g. 256M or 1G")
      ->default_val("256M");
  run->add_option("--password", run_args->password,
                  "password (generated when omitted; other users see it in ps: prefer "
                  "--password-file)");
  run->add_option("--password-file", run_args->password_file,
                  "read the password from this file's first line ('-': from stdin)");
  run->add_option("--replicas", run_args->replicas, "replicas on other hosts (0-4)")
      ->default_val("0");
  run->add_option("--constraint", run_args->constraints, "host label key=value (repeatable)");
  run->add_flag("--json", flags.json, "print the database as JSON");
  run->add_flag("--detach,-d", run_args->detach, "return at once, before it is healthy");
  add_connection(run, flags);
  on_run(run, ctx, [=](auto& c, auto& o) { return run_database(c, *run_args, o); });

  // berth ps [--json]
  auto* ps = app.add_subcommand("ps", "List databases");
  ps->add_flag("--json", flags.json, "print a JSON array");
  add_connection(ps, flags);
  on_run(ps, ctx, [](auto& c, auto& o) { return list_databases(c, o); });

  // berth inspect NAME
  auto* inspect = app.add_subcommand("inspect", "Show one database as JSON");
  auto inspect_name = std::make_shared<std::string>();
  inspect->add_option("name", *inspect_name, "database name or id")->required();
  add_connection(inspect, flags);
  on_run(inspect, ctx, [=](auto& c, auto& o) { return inspect_database(c, *inspect_name, o); });

  // berth rm NAME...
  auto* rm = app.add_subcommand("rm", "Delete databases and their data");
  auto rm_names = std::make_shared<std::vector<std::string>>();
  rm->add_option("names", *rm_names, "database names or ids")->required();
  add_connection(rm, flags);
  on_run(rm, ctx, [=](auto& c, auto& o) { return remove_databases(c, *rm_names, o); });

  // berth update NAME [--memory 1G] [--replicas N] [--backup-schedule CRON] ...
  auto* update = app.add_subcommand("update", "Resize a database in place, or change its replicas");
  auto update_args = std::make_shared<UpdateArgs>();
  update->add_option("name", update_args->name, "database name or id")->required();
  update->add_option("--memory", update_args->memory, "new memory limit, e.g. 1G");
  update->add_option("--replicas", update_args->replicas, "replicas on other hosts (0-4)");
  update->add_option("--backup-schedule", update_args->backup_schedule,
                     "cron in UTC, e.g. \"0 3 * * *\" (\"none\" turns it off)");
  update->add_option("--backup-keep", update_args->backup_keep,
                     "how many scheduled backups to keep");
  update->add_option("--backup-verify", update_args->backup_verify,
                     "verify scheduled backups: true or false");
  update->add_flag("--json", flags.json, "print the database as JSON");
  add_connection(update, flags);
  on_run(update, ctx, [=](auto& c, auto& o) { return update_database(c, *update_args, o); });

  // berth switchover NAME [--to N]
  auto* sw = app.add_subcommand("switchover", "Hand the primary role to a replica, no lost write");
  auto sw_args = std::make_shared<std::pair<std::string, int>>("", -1);
  sw->add_option("name", sw_args->first, "database name or id")->required();
  sw->add_option("--to", sw_args->second, "the instance number to promote");
  add_connection(sw, flags);
  on_run(sw, ctx,
         [=](auto& c, auto& o) { return switchover(c, sw_args->first, sw_args->second, o); });
}

}  // namespace berth::cli
