// berth project, token, whoami, audit and logs: who may do what, what was done, what the
// engines say.
#include "cli/cli.hpp"
#include "cli/commands.hpp"

namespace berth::cli {

using nlohmann::json;

namespace {

// Each item of a JSON array as print_list takes it.
struct Item {
  json raw;
};
std::vector<Item> items(const json& array) {
  std::vector<Item> out;
  for (auto& j : array) out.push_back({j});
  return out;
}

std::string quota(const json& p, const char* field, const char* unit) {
  int64_t v = p.value(field, int64_t{0});
  return v == 0 ? "-" : std::to_string(v) + unit;
}

json project_body(const ProjectArgs& args) {
  json body = json::object();
  if (!args.name.empty()) body["name"] = args.name;
  if (!args.memory_quota.empty())
    body["memory_quota_mb"] = parse_memory_mb(args.memory_quota, "--memory-quota");
  if (!args.database_quota.empty()) {
    if (args.database_quota.size() > 7 ||
        args.database_quota.find_first_not_of("0123456789") != std::string::npos)
      throw UsageError("--database-quota: '" + args.database_quota + "' is not a number");
    body["database_quota"] = std::stoi(args.database_quota);
  }
  return body;
}

void describe_project(const Output& o, const json& p) {
  if (o.json) return print_json(o.out, p);
  o.out << p.value("name", "") << ": " << p.value("databases", 0) << " databases (quota "
        << quota(p, "database_quota", "") << "), " << p.value("memory_mb", int64_t{0})
        << "M memory (quota " << quota(p, "memory_quota_mb", "M") << ")\n";
}

}  // namespace

int create_project(client::Client& c, const ProjectArgs& args, const Output& o) {
  describe_project(o, c.send("POST", "/v1/projects", project_body(args)).body);
  return 0;
}

int list_projects(client::Client& c, const Output& o) {
  print_list(o, items(c.send("GET", "/v1/projects").body),
             {"NAME", "DATABASES", "DATABASE QUOTA", "MEMORY", "MEMORY QUOTA"},
             [](const Item& p) -> Row {
               return {p.raw.value("name", ""), std::to_string(p.raw.value("databases", 0)),
                       quota(p.raw, "database_quota", ""),
                       std::to_string(p.raw.value("memory_mb", int64_t{0})) + "M",
                       quota(p.raw, "memory_quota_mb", "M")};
             });
  return 0;
}

int update_project(client::Client& c, const ProjectArgs& args, const Output& o) {
  ProjectArgs quotas = args;
  quotas.name.clear();
  auto body = project_body(quotas);
  if (body.empty()) throw UsageError("project update: give --memory-quota or --database-quota");
  describe_project(o, c.send("PATCH", "/v1/projects/" + client::escape(args.name), body).body);
  return 0;
}

int remove_project(client::Client& c, const std::string& name, const Output& o) {
  c.send("DELETE", "/v1/projects/" + client::escape(name));
  o.out << name << ": removed\n";
  return 0;
}

int create_token(client::Client& c, const TokenArgs& args, const Output& o) {
  json body = {{"role", args.role}};
  if (!args.project.empty()) body["project"] = args.project;
  if (!args.name.empty()) body["name"] = args.name;
  if (!args.ttl.empty()) body["ttl"] = args.ttl;
  auto t = c.send("POST", "/v1/tokens", body).body;
  if (o.json) {
    print_json(o.out, t);
    return 0;
  }
  o.out << "token " << t.value("id", "") << " (" << t.value("role", "") << ", "
        << (t.value("project", "").empty() ? "every project" : "project " + t.value("project", ""))
        << ", expires " << (t.value("expires_at", "").empty() ? "never" : t.value("expires_at", ""))
        << ")\n"
        << "secret: " << t.value("secret", "") << "\n"
        << "It is shown this once: keep it (BERTH_TOKEN=... or --token).\n";
  return 0;
}

int list_tokens(client::Client& c, const Output& o) {
  print_list(o, items(c.send("GET", "/v1/tokens").body),
             {"ID", "PROJECT", "ROLE", "NAME", "CREATED", "EXPIRES"}, [](const Item& t) -> Row {
               auto expires = t.raw.value("expires_at", "");
               return {t.raw.value("id", ""),
                       t.raw.value("project", "-"),
                       t.raw.value("role", ""),
                       t.raw.value("name", ""),
                       age(t.raw.value("created_at", "")) + " ago",
                       expires.empty() ? "never" : expires};
             });
  return 0;
}

int revoke_token(client::Client& c, const std::string& id, const Output& o) {
  c.send("DELETE", "/v1/tokens/" + client::escape(id));
  o.out << id << ": revoked\n";
  return 0;
}

int whoami(client::Client& c, const Output& o) {
  auto me = c.send("GET", "/v1/whoami").body;
  if (o.json) {
    print_json(o.out, me);
    return 0;
  }
  auto project = me.value("project", "");
  auto expires = me.value("expires_at", "");
  o.out << "token:   " << me.value("id", "") << " (" << me.value("name", "") << ")\n"
        << "project: " << (project.empty() ? "every project" : project) << "\n"
        << "role:    " << me.value("role", "") << "\n"
        << "expires: " << (expires.empty() ? "never" : expires) << "\n";
  return 0;
}

int show_audit(client::Client& c, bool follow, const Output& o) {
  auto print = [&](const json& entries) {
    for (auto& e : entries) {
      if (o.json) {
        o.out << e.dump() << "\n";  // one object per line: a follow never ends
        continue;
      }
      std::string who = e.value("token_id", "");
      if (!e.value("token_name", "").empty()) who += " (" + e.value("token_name", "") + ")";
      o.out << e.value("time", "") << "  " << e.value("status", 0) << "  " << e.value("method", "")
            << " " << e.value("target", "") << "  " << (who.empty() ? "no token" : who)
            << (e.value("project", "").empty() ? "" : "  project " + e.value("project", ""))
            << "\n";
    }
    o.out.flush();
  };
  auto page = c.send("GET", "/v1/audit").body;
  print(page["entries"]);
  while (follow) {
    auto after = page.value("after", "");
    page = c.send("GET", "/v1/audit?follow=1&after=" + client::escape(after)).body;
    print(page["entries"]);
  }
  return 0;
}

int show_logs(client::Client& c, const LogsArgs& args, const Output& o) {
  std::string base = "/v1/databases/" + client::escape(args.name) +
                     "/logs?tail=" + client::escape(args.tail.empty() ? "100" : args.tail);
  if (!args.instance.empty()) base += "&instance=" + client::escape(args.instance);
  auto page = c.send("GET", base).body;
  for (;;) {
    for (auto& line : page["lines"]) {
      if (o.json)
        o.out << line.dump() << "\n";
      else
        o.out << line.value("text", "") << "\n";
    }
    o.out.flush();
    if (!args.follow) return 0;
    page = c.send("GET", base + "&follow=1&after=" + client::escape(page.value("after", "0"))).body;
  }
}

void add_access_commands(CLI::App& app, const Context& ctx) {
  auto& flags = *ctx.flags;

  auto* project =
      app.add_subcommand("project", "Projects: teams' shares of the cluster (operator)");
  project->require_subcommand(1);
  auto args = std::make_shared<ProjectArgs>();
  for (bool create : {true, false}) {
    auto* cmd = project->add_subcommand(create ? "create" : "update",
                                        create ? "Make a project" : "Change a project's quotas");
    cmd->add_option("name", args->name, "project name")->required();
    cmd->add_option("--memory-quota", args->memory_quota, "e.g. 8G (0: none)");
    cmd->add_option("--database-quota", args->database_quota, "how many databases (0: none)");
    cmd->add_flag("--json", flags.json, "print the project as JSON");
    add_connection(cmd, flags);
    on_run(cmd, ctx, [=](auto& c, auto& o) {
      return create ? create_project(c, *args, o) : update_project(c, *args, o);
    });
  }
  auto* project_ls = project->add_subcommand("ls", "List projects, their quotas and use");
  project_ls->add_flag("--json", flags.json, "print a JSON array");
  add_connection(project_ls, flags);
  on_run(project_ls, ctx, [](auto& c, auto& o) { return list_projects(c, o); });
  auto* project_rm = project->add_subcommand("rm", "Remove a project with no databases");
  project_rm->add_option("name", args->name, "project name")->required();
  add_connection(project_rm, flags);
  on_run(project_rm, ctx, [=](auto& c, auto& o) { return remove_project(c, args->name, o); });

  auto* token = app.add_subcommand("token", "API tokens (a project's admins, operators)");
  token->require_subcommand(1);
  auto targs = std::make_shared<TokenArgs>();
  auto* token_create = token->add_subcommand("create", "Make a token; prints its secret once");
  token_create->add_option("--project", targs->project, "its project (none: operator, metrics)");
  token_create->add_option("--role", targs->role, "viewer, member, admin, operator or metrics")
      ->required();
  token_create->add_option("--name", targs->name, "what it is for");
  token_create->add_option("--ttl", targs->ttl, "e.g. 30d, 12h (none: never expires)");
  token_create->add_flag("--json", flags.json, "print the token as JSON");
  token_create->add_option("--server", flags.server, "berth server URL (else BERTH_SERVER)");
  token_create->add_option("--token", flags.token, "API token (else BERTH_TOKEN)");
  on_run(token_create, ctx, [=](auto& c, auto& o) { return create_token(c, *targs, o); });
  auto* token_ls = token->add_subcommand("ls", "List tokens (never their secrets)");
  token_ls->add_flag("--json", flags.json, "print a JSON array");
  add_connection(token_ls, flags);
  on_run(token_ls, ctx, [](auto& c, auto& o) { return list_tokens(c, o); });
  auto* token_revoke = token->add_subcommand("revoke", "Revoke a token at once");
  auto id = std::make_shared<std::string>();
  token_revoke->add_option("id", *id, "token id (tok-...)")->required();
  add_connection(token_revoke, flags);
  on_run(token_revoke, ctx, [=](auto& c, auto& o) { return revoke_token(c, *id, o); });

  auto* audit = app.add_subcommand("audit", "Calls that changed something or were refused");
  auto follow = std::make_shared<bool>(false);
  audit->add_flag("--follow,-f", *follow, "keep printing entries as they come");
  audit->add_flag("--json", flags.json, "one JSON object per line");
  add_connection(audit, flags);
  on_run(audit, ctx, [=](auto& c, auto& o) { return show_audit(c, *follow, o); });

  auto* logs = app.add_subcommand("logs", "An instance's engine log (the primary's by default)");
  auto largs = std::make_shared<LogsArgs>();
  logs->add_option("name", largs->name, "database name or id")->required();
  logs->add_option("--instance", largs->instance, "instance number");
  logs->add_option("--tail", largs->tail, "the last lines (100)");
  logs->add_flag("--follow,-f", largs->follow, "keep printing lines as they come");
  logs->add_flag("--json", flags.json, "one JSON object per line: time, text");
  add_connection(logs, flags);
  on_run(logs, ctx, [=](auto& c, auto& o) { return show_logs(c, *largs, o); });

  auto* who = app.add_subcommand("whoami", "The token in use: id, name, project, role, expiry");
  who->add_flag("--json", flags.json, "print it as JSON");
  add_connection(who, flags);
  on_run(who, ctx, [](auto& c, auto& o) { return whoami(c, o); });
}

}  // namespace berth::cli
