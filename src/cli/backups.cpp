// berth backup, backup rm, backups, restore.
#include "cli/cli.hpp"
#include "cli/commands.hpp"

namespace berth::cli {

namespace {

// What the restore into a new database ended with, for the user: the database as it is now,
// with what only its creation answered (password, connect line, notes).
client::Database restored_database(client::Client& c, const client::Database& created) {
  client::Database db = created;
  try {
    db = c.databases().get(created.name.empty() ? created.id : created.name);
  } catch (const client::ApiError&) {
    return created;  // gone again: show it as it was created
  }
  for (const char* key : {"password", "connect", "notes", "user"})
    if (created.raw.contains(key)) db.raw[key] = created.raw[key];
  return client::decode_database(db.raw);
}

}  // namespace

int back_up(client::Client& c, const BackupArgs& args, const Output& o) {
  if (args.name.empty()) throw UsageError("backup: say which database (or rm ID)");
  auto started = c.databases().backup(args.name, args.verify);
  if (args.detach) {
    print_one(o, started, [&](std::ostream& out) { out << started.id << "\n"; });
    return 0;
  }
  auto t = follow_task(c, started.id, o.json, o);
  if (t.state != "done") {
    o.err << "backup " << t.state << ": " << t.error << "\n";
    return 1;
  }
  auto b = c.backups().get(t.backup_id);
  print_one(o, b, [&](std::ostream& out) {
    out << "backup " << b.id << " of " << b.database_name << ": " << human_bytes(b.size_bytes)
        << ", sha256 " << b.sha256.substr(0, 12) << "\n";
  });
  return 0;
}

int remove_backups(client::Client& c, const std::vector<std::string>& ids, const Output& o) {
  for (auto& id : ids) {
    c.backups().remove(id);
    o.out << id << "\n";
  }
  return 0;
}

int list_backups(client::Client& c, const std::string& database, const Output& o) {
  print_list(o, c.backups().list(database),
             {"ID", "DATABASE", "ENGINE", "SIZE", "VERIFIED", "AGE", "FROM"},
             [](const client::Backup& b) -> Row {
               return {b.id,
                       b.database_name,
                       b.engine,
                       human_bytes(b.size_bytes),
                       b.verified,
                       age(b.created_at),
                       b.source_role + " " + std::to_string(b.source_instance)};
             });
  return 0;
}

// NAME BACKUP restores into an existing database; BACKUP --to NEW creates NEW first, and NEW's
// password is in that one answer only, so it is printed (and in --json) whatever happens.
int restore(client::Client& c, const RestoreArgs& args, const Output& o) {
  std::string database = args.name, backup = args.backup;
  client::Task started;
  std::optional<client::Database> created;
  if (!args.to.empty()) {
    if (!args.backup.empty()) throw UsageError("restore: with --to, name only the backup");
    backup = args.name;
    database = args.to;
    auto r = c.backups().restore_to_new(backup, args.to);
    started = r.task;
    created = r.database;
  } else {
    if (args.backup.empty()) throw UsageError("restore: say NAME BACKUP, or BACKUP --to NEWNAME");
    started = c.databases().restore(database, backup);
  }
  if (args.detach) {
    // The id alone on stdout, as scripts read it; a new database's details go to stderr.
    print_one(o, started, [&](std::ostream& out) { out << started.id << "\n"; });
    if (created && !o.json) describe_database(o.err, *created);
    return 0;
  }
  auto t = follow_task(c, started.id, o.json, o);
  std::optional<client::Database> now;
  if (created) now = restored_database(c, *created);
  if (o.json) {
    auto out = t.raw;
    if (now) out["database"] = now->raw;
    print_json(o.out, out);
  }
  bool done = t.state == "done";
  if (done && !o.json) o.out << database << " restored from " << backup << "\n";
  if (now && !o.json) describe_database(o.out, *now);
  if (!done) {
    o.err << "restore " << t.state << ": " << t.error << "\n";
    return 1;
  }
  return 0;
}

void add_backup_commands(CLI::App& app, const Context& ctx) {
  auto& flags = *ctx.flags;

  // berth backup NAME [--detach] [--verify] [--json] | berth backup rm ID...
  auto* backup = app.add_subcommand("backup", "Back a database up (waits for it), or remove one");
  auto backup_args = std::make_shared<BackupArgs>();
  backup->add_option("name", backup_args->name, "database name or id");
  backup->add_flag("--detach,-d", backup_args->detach, "print the task id at once");
  backup->add_flag("--verify", backup_args->verify,
                   "load it in a scratch container before calling it done");
  backup->add_flag("--json", flags.json, "print the backup (or task) as JSON");
  add_connection(backup, flags);
  auto* backup_rm = backup->add_subcommand("rm", "Remove a backup and its data");
  auto backup_ids = std::make_shared<std::vector<std::string>>();
  backup_rm->add_option("id", *backup_ids, "backup ids")->required();
  add_connection(backup_rm, flags);
  on_run(backup_rm, ctx, [=](auto& c, auto& o) { return remove_backups(c, *backup_ids, o); });
  backup->callback([=] {
    if (backup_rm->parsed()) return;  // `berth backup rm ID` ran instead
    if (backup_args->name.empty()) throw UsageError("backup: say which database (or rm ID)");
    run_command(ctx, [=](auto& c, auto& o) { return back_up(c, *backup_args, o); });
  });

  // berth backups [NAME] [--json]
  auto* backups = app.add_subcommand("backups", "List backups");
  auto backups_of = std::make_shared<std::string>();
  backups->add_option("name", *backups_of, "only this database's");
  backups->add_flag("--json", flags.json, "print a JSON array");
  add_connection(backups, flags);
  on_run(backups, ctx, [=](auto& c, auto& o) { return list_backups(c, *backups_of, o); });

  // berth restore NAME BACKUP | berth restore BACKUP --to NEWNAME  [--detach] [--json]
  auto* restore_cmd = app.add_subcommand("restore", "Restore a backup into a database (waits)");
  auto restore_args = std::make_shared<RestoreArgs>();
  restore_cmd->add_option("name", restore_args->name, "database (or, with --to, the backup)")
      ->required();
  restore_cmd->add_option("backup", restore_args->backup, "backup id");
  restore_cmd->add_option("--to", restore_args->to, "restore into a new database of this name");
  restore_cmd->add_flag("--detach,-d", restore_args->detach, "print the task id at once");
  restore_cmd->add_flag("--json", flags.json, "print the task as JSON");
  add_connection(restore_cmd, flags);
  on_run(restore_cmd, ctx, [=](auto& c, auto& o) { return restore(c, *restore_args, o); });
}

}  // namespace berth::cli
