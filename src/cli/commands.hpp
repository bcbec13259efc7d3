// The client commands, one function each: arguments in, the typed client to talk through, an
// Output to print to; each returns the exit code. The add_* functions wire them to CLI11.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/output.hpp"
#include "client/client.hpp"

namespace berth::cli {

// What every client command accepts; one subcommand runs per invocation, so they share it.
struct Flags {
  std::string server, token, ca_cert;
  std::string project;  // an operator's --project: narrows lists, picks a create's project
  bool json = false;
};

struct Context {
  std::shared_ptr<Flags> flags;
  int* exit_code;
};

// --server, --token and --project on a subcommand.
void add_connection(CLI::App* sub, Flags& flags);
// Runs `command` over a client made from the flags when `sub` is chosen; an API refusal (4xx)
// becomes a UsageError (exit 2), any other failure exit 1.
using Command = std::function<int(client::Client&, const Output&)>;
void on_run(CLI::App* sub, const Context& ctx, Command command);
// The same, at once: for a callback that checks its arguments first.
void run_command(const Context& ctx, const Command& command);

// Databases (databases.cpp)
struct RunArgs {
  std::string engine, name, memory = "256M", password, password_file, replicas = "0";
  std::vector<std::string> constraints;
  bool detach = false;
};
int run_database(client::Client& c, const RunArgs& args, const Output& o);
int list_databases(client::Client& c, const Output& o);
int inspect_database(client::Client& c, const std::string& ref, const Output& o);
int remove_databases(client::Client& c, const std::vector<std::string>& refs, const Output& o);
struct UpdateArgs {
  std::string name, memory, replicas, backup_schedule, backup_keep, backup_verify;
};
int update_database(client::Client& c, const UpdateArgs& args, const Output& o);
int switchover(client::Client& c, const std::string& ref, int to, const Output& o);
// berth password rotate (passwords.cpp)
int rotate_password(client::Client& c, const std::string& ref, const std::string& password_file,
                    const Output& o);
void add_password_commands(CLI::App& app, const Context& ctx);
// The first line of a file ('-': stdin): a secret given so, not as an argument ps shows.
std::string read_secret_line(const std::string& path);
// A database as `berth run` shows it: state, address, password (when known), connect line.
void describe_database(std::ostream& out, const client::Database& db);
void add_database_commands(CLI::App& app, const Context& ctx);

// Hosts, engines, network (hosts.cpp)
int list_hosts(client::Client& c, const Output& o);
int drain_host(client::Client& c, const std::string& host, bool drain, const Output& o);
int remove_host(client::Client& c, const std::string& host, const Output& o);
int create_join_token(client::Client& c, const std::string& ttl, const Output& o);
int list_join_tokens(client::Client& c, const Output& o);
int list_engines(client::Client& c, const Output& o);
int list_orphans(client::Client& c, const Output& o);
int remove_orphan(client::Client& c, const std::string& id, const Output& o);
int set_engine_image(client::Client& c, const std::string& engine, const std::string& image,
                     const Output& o);
int show_network(client::Client& c, const Output& o);
int set_network(client::Client& c, const client::NetworkSettings& settings, const Output& o);
void add_host_commands(CLI::App& app, const Context& ctx);

// Backups and restores (backups.cpp)
struct BackupArgs {
  std::string name;
  bool detach = false, verify = false;
};
int back_up(client::Client& c, const BackupArgs& args, const Output& o);
int remove_backups(client::Client& c, const std::vector<std::string>& ids, const Output& o);
int list_backups(client::Client& c, const std::string& database, const Output& o);
struct RestoreArgs {
  std::string name, backup, to;
  bool detach = false;
};
int restore(client::Client& c, const RestoreArgs& args, const Output& o);
void add_backup_commands(CLI::App& app, const Context& ctx);

// Projects, tokens, whoami, audit, logs (access.cpp)
struct ProjectArgs {
  std::string name, memory_quota, database_quota;
};
int create_project(client::Client& c, const ProjectArgs& args, const Output& o);
int list_projects(client::Client& c, const Output& o);
int update_project(client::Client& c, const ProjectArgs& args, const Output& o);
int remove_project(client::Client& c, const std::string& name, const Output& o);
struct TokenArgs {
  std::string project, role, name, ttl;
};
int create_token(client::Client& c, const TokenArgs& args, const Output& o);
int list_tokens(client::Client& c, const Output& o);
int revoke_token(client::Client& c, const std::string& id, const Output& o);
int whoami(client::Client& c, const Output& o);
int show_audit(client::Client& c, bool follow, const Output& o);
struct LogsArgs {
  std::string name, instance, tail;
  bool follow = false;
};
int show_logs(client::Client& c, const LogsArgs& args, const Output& o);
void add_access_commands(CLI::App& app, const Context& ctx);

// Tasks, usage, events (tasks.cpp)
// Follows a task to its end: a progress bar on a terminal, its log lines otherwise, nothing
// when quiet. Returns the task as it ended.
client::Task follow_task(client::Client& c, const std::string& id, bool quiet, const Output& o);
int list_tasks(client::Client& c, const Output& o);
int show_task(client::Client& c, const std::string& id, bool follow, const Output& o);
int cancel_task(client::Client& c, const std::string& id, const Output& o);
int show_usage(client::Client& c, const std::string& ref, const std::string& range,
               const Output& o);
int show_events(client::Client& c, const client::EventQuery& query, bool follow, const Output& o);
void add_task_commands(CLI::App& app, const Context& ctx);

}  // namespace berth::cli
