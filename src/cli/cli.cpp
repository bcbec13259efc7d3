#include "cli/cli.hpp"

#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "http/http.hpp"

namespace berth::cli {

using nlohmann::json;

std::string config_path() {
  const char* home = std::getenv("HOME");
  return std::string(home ? home : "/root") + "/.config/berth/config.json";
}

void write_config(const Connection& c) {
  std::filesystem::path path(config_path());
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::trunc);
  out << json{{"server", c.server}, {"token", c.token}}.dump(2) << "\n";
  out.close();
  std::filesystem::permissions(
      path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

Connection resolve_connection(const std::string& server_flag, const std::string& token_flag) {
  Connection c{server_flag, token_flag};
  if (c.server.empty())
    if (const char* e = std::getenv("BERTH_SERVER")) c.server = e;
  if (c.token.empty())
    if (const char* e = std::getenv("BERTH_TOKEN")) c.token = e;
  if (c.server.empty() || c.token.empty()) {
    std::ifstream in(config_path());
    if (in) {
      try {
        json j = json::parse(in);
        if (c.server.empty()) c.server = j.value("server", "");
        if (c.token.empty()) c.token = j.value("token", "");
      } catch (const json::exception&) {
        throw UsageError(config_path() + " is not valid JSON");
      }
    }
  }
  if (c.server.empty())
    throw UsageError("no server: pass --server, set BERTH_SERVER or run `berth up`");
  if (c.server.find("://") == std::string::npos) c.server = "http://" + c.server;
  return c;
}

int64_t parse_memory_mb(const std::string& text, const std::string& flag) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  std::string unit = text.substr(digits);
  for (auto& ch : unit) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  if (digits == 0 || digits > 12)
    throw UsageError(flag + ": '" + text + "' is not a size like 256M or 1G");
  int64_t n = std::stoll(text.substr(0, digits));
  if (unit.empty() || unit == "M" || unit == "MB" || unit == "MI" || unit == "MIB") return n;
  if (unit == "G" || unit == "GB" || unit == "GI" || unit == "GIB") return n * 1024;
  throw UsageError(flag + ": '" + text + "' is not a size like 256M or 1G");
}

int parse_replicas(const std::string& text) {
  if (text.empty() || text.size() > 3 || text.find_first_not_of("0123456789") != std::string::npos)
    throw UsageError("--replicas: '" + text + "' is not a number from 0 to 4");
  return std::stoi(text);
}

namespace {

struct ApiReply {
  int status = 0;
  json body;
};

// One request to the API on a private event loop (the CLI does one thing at a time).
ApiReply call(const Connection& c, const std::string& method, const std::string& path,
              const json& body = nullptr) {
  boost::asio::io_context io;
  http::Client client(io.get_executor(), c.server);
  http::Request req;
  req.method = method;
  req.target = path;
  if (!body.is_null()) req.body = body.dump();
  req.headers.push_back({"Authorization", "Bearer " + c.token});
  auto future = boost::asio::co_spawn(io, client.request(req, std::chrono::seconds(120)),
                                      boost::asio::use_future);
  io.run();
  http::Response res;
  try {
    res = future.get();
  } catch (const http::ConnectError& e) {
    throw std::runtime_error(std::string("cannot reach the berth server: ") + e.what());
  }
  ApiReply out{res.status, nullptr};
  if (!res.body.empty()) {
    try {
      out.body = json::parse(res.body);
    } catch (const json::exception&) {
      out.body = json{{"error", res.body}};
    }
  }
  if (res.status >= 400) {
    std::string message = out.body.is_object() ? out.body.value("error", res.body) : res.body;
    // The server refused what was asked: that is the caller's input, exit 2.
    if (res.status < 500) throw UsageError(message);
    throw std::runtime_error(message);
  }
  return out;
}

std::string human_bytes(int64_t bytes) {
  char buf[32];
  if (bytes >= (int64_t{1} << 30))
    std::snprintf(buf, sizeof buf, "%.1fG", bytes / double(int64_t{1} << 30));
  else if (bytes >= (1 << 20))
    std::snprintf(buf, sizeof buf, "%.1fM", bytes / double(1 << 20));
  else
    std::snprintf(buf, sizeof buf, "%.0fK", bytes / 1024.0);
  return buf;
}

std::string age(const std::string& rfc3339) {
  std::tm tm{};
  if (!strptime(rfc3339.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return "?";
  long seconds = static_cast<long>(std::time(nullptr) - timegm(&tm));
  if (seconds < 0) seconds = 0;
  if (seconds < 120) return std::to_string(seconds) + "s";
  if (seconds < 7200) return std::to_string(seconds / 60) + "m";
  if (seconds < 172800) return std::to_string(seconds / 3600) + "h";
  return std::to_string(seconds / 86400) + "d";
}

void print_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) {
      if (widths.size() <= i) widths.push_back(0);
      widths[i] = std::max(widths[i], row[i].size());
    }
  for (auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    std::cout << line << "\n";
  }
}

std::string primary_host(const json& db) {
  for (auto& i : db.value("instances", json::array()))
    if (i.value("role", "") == "primary") return i.value("host", "");
  return "";
}

int64_t used_bytes(const json& db) {
  for (auto& i : db.value("instances", json::array()))
    if (i.value("role", "") == "primary") return i.value("memory_used_bytes", int64_t{0});
  return 0;
}

// Follows a task to its end: a progress bar on a terminal, its log lines otherwise. Returns the
// task as it ended.
json follow_task(const Connection& c, const std::string& id, bool quiet) {
  bool tty = ::isatty(STDOUT_FILENO) && !quiet;
  int64_t revision = 0;
  size_t printed = 0;
  for (;;) {
    auto r =
        call(c, "GET",
             "/v1/tasks/" + http::url_encode(id) + "?wait=30&revision=" + std::to_string(revision));
    auto& t = r.body;
    revision = t.value("revision", int64_t{0});
    auto log = t.value("log", json::array());
    if (!quiet && !tty)
      for (; printed < log.size(); ++printed) std::cout << log[printed].get<std::string>() << "\n";
    if (tty) {
      int progress = t.value("progress", 0);
      std::string bar(progress / 5, '#');
      bar.resize(20, ' ');
      std::string last = log.empty() ? "" : log.back().get<std::string>();
      if (auto space = last.find(' '); space != std::string::npos) last = last.substr(space + 1);
      std::cout << "\r[" << bar << "] " << progress << "% " << last.substr(0, 50) << "\033[K"
                << std::flush;
    }
    std::string state = t.value("state", "");
    if (state == "done" || state == "failed" || state == "cancelled") {
      if (tty) std::cout << "\n";
      return t;
    }
  }
}

}  // namespace

void add_client_commands(CLI::App& app, int* exit_code) {
  struct Flags {
    std::string server, token;
    bool json = false;
  };
  auto flags = std::make_shared<Flags>();
  auto add_connection = [flags](CLI::App* sub) {
    sub->add_option("--server", flags->server, "berth server URL (else BERTH_SERVER)");
    sub->add_option("--token", flags->token, "API token (else BERTH_TOKEN)");
  };

  // berth run ENGINE --name N [--memory 256M] [--password P] [--json]
  auto* run = app.add_subcommand("run", "Create a database and wait until it answers");
  auto run_args = std::make_shared<std::map<std::string, std::string>>();
  run->add_option("engine", (*run_args)["engine"], "redis")->required();
  run->add_option("--name", (*run_args)["name"], "database name")->required();
  run->add_option("--memory", (*run_args)["memory"], "memory limit, e.g. 256M or 1G")
      ->default_val("256M");
  run->add_option("--password", (*run_args)["password"], "password (generated when omitted)");
  run->add_option("--replicas", (*run_args)["replicas"], "replicas on other hosts (0-4)")
      ->default_val("0");
  auto constraints = std::make_shared<std::vector<std::string>>();
  run->add_option("--constraint", *constraints, "host label key=value (repeatable)");
  run->add_flag("--json", flags->json, "print the database as JSON");
  run->add_flag("--detach,-d", (*run_args)["detach"], "return at once, before it is healthy");
  add_connection(run);
  run->callback([=] {
    auto c = resolve_connection(flags->server, flags->token);
    json body = {{"name", (*run_args)["name"]},
                 {"engine", (*run_args)["engine"]},
                 {"memory_mb", parse_memory_mb((*run_args)["memory"], "--memory")}};
    if (!(*run_args)["password"].empty()) body["password"] = (*run_args)["password"];
    body["replicas"] = parse_replicas((*run_args)["replicas"]);
    for (auto& c : *constraints) {
      auto eq = c.find('=');
      if (eq == std::string::npos || eq == 0)
        throw UsageError("--constraint: '" + c + "' is not key=value");
      body["constraints"][c.substr(0, eq)] = c.substr(eq + 1);
    }
    bool detach = !(*run_args)["detach"].empty() && (*run_args)["detach"] != "0";
    auto r = call(c, "POST", detach ? "/v1/databases?wait=false" : "/v1/databases", body);
    auto& db = r.body;
    if (flags->json) {
      std::cout << db.dump(2) << "\n";
    } else {
      std::string address = db.value("address", "");
      std::string port = std::to_string(db.value("port", 0));
      std::string password = db.value("password", "");
      std::cout << db.value("name", "") << " is " << db.value("state", "") << " ("
                << db.value("engine", "") << " " << db.value("version", "") << ", "
                << db.value("memory_mb", 0) << " MiB) on " << primary_host(db) << "\n"
                << "  id:       " << db.value("id", "") << "\n"
                << "  address:  " << address << ":" << port << "\n";
      if (db.contains("user") && db["user"].is_string())
        std::cout << "  user:     " << db["user"].get<std::string>() << "\n";
      if (!password.empty()) std::cout << "  password: " << password << "\n";
      std::cout << "  connect:  " << db.value("connect", "") << "\n";
      for (auto& note : db.value("notes", json::array()))
        std::cout << "  note:     " << note.get<std::string>() << "\n";
    }
    *exit_code = r.status == 201 || detach ? 0 : 1;
  });

  // berth ps [--json]
  auto* ps = app.add_subcommand("ps", "List databases");
  ps->add_flag("--json", flags->json, "print a JSON array");
  add_connection(ps);
  ps->callback([=] {
    auto r = call(resolve_connection(flags->server, flags->token), "GET", "/v1/databases");
    if (flags->json) {
      std::cout << r.body.dump(2) << "\n";
      return;
    }
    std::vector<std::vector<std::string>> rows{
        {"ID", "NAME", "ENGINE", "MEMORY", "USED", "STATE", "ADDRESS", "HOST", "AGE"}};
    for (auto& db : r.body)
      rows.push_back({db.value("id", ""), db.value("name", ""), db.value("engine", ""),
                      std::to_string(db.value("memory_mb", 0)) + "M", human_bytes(used_bytes(db)),
                      db.value("state", ""),
                      db.value("address", "") + ":" + std::to_string(db.value("port", 0)),
                      primary_host(db), age(db.value("created_at", ""))});
    print_table(rows);
  });

  // berth inspect NAME
  auto* inspect = app.add_subcommand("inspect", "Show one database as JSON");
  auto inspect_name = std::make_shared<std::string>();
  inspect->add_option("name", *inspect_name, "database name or id")->required();
  add_connection(inspect);
  inspect->callback([=] {
    auto r = call(resolve_connection(flags->server, flags->token), "GET",
                  "/v1/databases/" + http::url_encode(*inspect_name));
    std::cout << r.body.dump(2) << "\n";
  });

  // berth rm NAME...
  auto* rm = app.add_subcommand("rm", "Delete databases and their data");
  auto rm_names = std::make_shared<std::vector<std::string>>();
  rm->add_option("names", *rm_names, "database names or ids")->required();
  add_connection(rm);
  rm->callback([=] {
    auto c = resolve_connection(flags->server, flags->token);
    for (auto& name : *rm_names) {
      call(c, "DELETE", "/v1/databases/" + http::url_encode(name));
      std::cout << name << "\n";
    }
  });

  // berth update NAME [--memory 1G] [--replicas N]
  auto* update = app.add_subcommand("update", "Resize a database in place, or change its replicas");
  auto update_args = std::make_shared<std::map<std::string, std::string>>();
  update->add_option("name", (*update_args)["name"], "database name or id")->required();
  update->add_option("--memory", (*update_args)["memory"], "new memory limit, e.g. 1G");
  update->add_option("--replicas", (*update_args)["replicas"], "replicas on other hosts (0-4)");
  update->add_option("--backup-schedule", (*update_args)["backup_schedule"],
                     "cron in UTC, e.g. \"0 3 * * *\" (\"none\" turns it off)");
  update->add_option("--backup-keep", (*update_args)["backup_keep"],
                     "how many scheduled backups to keep");
  update->add_option("--backup-verify", (*update_args)["backup_verify"],
                     "verify scheduled backups: true or false");
  update->add_flag("--json", flags->json, "print the database as JSON");
  add_connection(update);
  update->callback([=] {
    auto c = resolve_connection(flags->server, flags->token);
    json body = json::object();
    if (!(*update_args)["memory"].empty())
      body["memory_mb"] = parse_memory_mb((*update_args)["memory"], "--memory");
    if (!(*update_args)["replicas"].empty())
      body["replicas"] = parse_replicas((*update_args)["replicas"]);
    if (!(*update_args)["backup_schedule"].empty()) {
      auto cron = (*update_args)["backup_schedule"];
      body["backup_schedule"] = cron == "none" ? "" : cron;
    }
    if (auto& verify = (*update_args)["backup_verify"]; !verify.empty()) {
      if (verify != "true" && verify != "false")
        throw UsageError("--backup-verify: '" + verify + "' is not true or false");
      body["backup_verify"] = verify == "true";
    }
    if (auto& keep = (*update_args)["backup_keep"]; !keep.empty()) {
      if (keep.size() > 4 || keep.find_first_not_of("0123456789") != std::string::npos)
        throw UsageError("--backup-keep: '" + keep + "' is not a number");
      body["backup_keep"] = std::stoi(keep);
    }
    if (body.empty())
      throw UsageError("update: say --memory, --replicas, --backup-schedule or --backup-keep");
    auto r = call(c, "PATCH", "/v1/databases/" + http::url_encode((*update_args)["name"]), body);
    if (flags->json)
      std::cout << r.body.dump(2) << "\n";
    else
      std::cout << r.body.value("name", "") << ": " << r.body.value("memory_mb", 0) << " MiB, "
                << r.body.value("replicas", 0) << " replicas\n";
  });

  // berth switchover NAME [--to N]
  auto* sw = app.add_subcommand("switchover", "Hand the primary role to a replica, no lost write");
  auto sw_args = std::make_shared<std::pair<std::string, int>>("", -1);
  sw->add_option("name", sw_args->first, "database name or id")->required();
  sw->add_option("--to", sw_args->second, "the instance number to promote");
  add_connection(sw);
  sw->callback([=] {
    json body = json::object();
    if (sw_args->second >= 0) body["to"] = sw_args->second;
    auto r = call(resolve_connection(flags->server, flags->token), "POST",
                  "/v1/databases/" + http::url_encode(sw_args->first) + "/switchover", body);
    for (auto& i : r.body.value("instances", json::array()))
      if (i.value("role", "") == "primary")
        std::cout << r.body.value("name", "") << ": instance " << i.value("n", 0) << " on "
                  << i.value("host", "") << " is primary\n";
  });

  // berth drain HOST / berth undrain HOST
  for (bool drain : {true, false}) {
    auto* cmd =
        app.add_subcommand(drain ? "drain" : "undrain", drain ? "Move every instance off a host"
                                                              : "Let a host take instances again");
    auto host = std::make_shared<std::string>();
    cmd->add_option("host", *host, "host name")->required();
    add_connection(cmd);
    cmd->callback([=] {
      auto r = call(resolve_connection(flags->server, flags->token), "POST",
                    "/v1/hosts/" + http::url_encode(*host) + (drain ? "/drain" : "/undrain"),
                    json::object());
      std::cout << r.body.value("name", "") << ": " << r.body.value("state", "") << ", "
                << r.body.value("instances", 0) << " instances\n";
    });
  }

  // berth hosts [--json]
  auto* hosts = app.add_subcommand("hosts", "List Docker hosts and their capacity");
  hosts->add_flag("--json", flags->json, "print a JSON array");
  add_connection(hosts);
  hosts->callback([=] {
    auto r = call(resolve_connection(flags->server, flags->token), "GET", "/v1/hosts");
    if (flags->json) {
      std::cout << r.body.dump(2) << "\n";
      return;
    }
    std::vector<std::vector<std::string>> rows{
        {"NAME", "ADDRESS", "STATE", "CPUS", "MEMORY", "ALLOCATED", "FREE", "INSTANCES"}};
    for (auto& h : r.body)
      rows.push_back(
          {h.value("name", ""), h.value("address", ""), h.value("state", ""),
           std::to_string(h.value("cpus", 0)), std::to_string(h.value("memory_mb", 0)) + "M",
           std::to_string(h.value("allocated_mb", 0)) + "M",
           std::to_string(h.value("free_mb", 0)) + "M", std::to_string(h.value("instances", 0))});
    print_table(rows);
  });

  // berth engines | berth engine set ENGINE --image IMAGE
  auto* engines = app.add_subcommand("engines", "List engines, versions and images");
  add_connection(engines);
  engines->callback([=] {
    auto r = call(resolve_connection(flags->server, flags->token), "GET", "/v1/engines");
    std::vector<std::vector<std::string>> rows{{"ENGINE", "VERSION", "PORT", "IMAGE"}};
    for (auto& e : r.body)
      rows.push_back({e.value("name", ""), e.value("version", ""),
                      std::to_string(e.value("port", 0)), e.value("image", "")});
    print_table(rows);
  });
  auto* engine = app.add_subcommand("engine", "Engine settings (admin)");
  engine->require_subcommand(1);
  auto* engine_set = engine->add_subcommand("set", "Run ENGINE from a registry image");
  auto engine_args = std::make_shared<std::pair<std::string, std::string>>();
  engine_set->add_option("engine", engine_args->first, "engine name")->required();
  engine_set
      ->add_option("--image", engine_args->second,
                   "image reference; empty: build from local binaries")
      ->required();
  add_connection(engine_set);
  engine_set->callback([=] {
    auto r = call(resolve_connection(flags->server, flags->token), "PUT",
                  "/v1/engines/" + http::url_encode(engine_args->first),
                  json{{"image", engine_args->second}});
    std::cout << r.body.value("name", "") << ": " << r.body.value("image", "") << "\n";
  });

  // berth network show | set --subnet CIDR --gateway IP [--exclude RANGE]...
  auto* network = app.add_subcommand("network", "Show or set the cluster address pool");
  network->require_subcommand(1);
  auto* show = network->add_subcommand("show", "Print the network settings");
  add_connection(show);
  show->callback([=] {
    auto r = call(resolve_connection(flags->server, flags->token), "GET", "/v1/network");
    std::cout << r.body.dump(2) << "\n";
  });
  auto* set = network->add_subcommand("set", "Change the network settings (admin)");
  auto net = std::make_shared<std::map<std::string, std::string>>();
  auto excludes = std::make_shared<std::vector<std::string>>();
  set->add_option("--subnet", (*net)["subnet"], "CIDR, e.g. 10.77.0.0/16")->required();
  set->add_option("--gateway", (*net)["gateway"], "gateway address")->required();
  set->add_option("--exclude", *excludes, "address or range A-B never handed out");
  set->add_option("--driver", (*net)["driver"], "bridge (one machine) or macvlan")
      ->default_val("bridge");
  set->add_option("--docker-network", (*net)["docker_network"], "Docker network name")
      ->default_val("berth");
  add_connection(set);
  set->callback([=] {
    json body = {{"subnet", (*net)["subnet"]},
                 {"gateway", (*net)["gateway"]},
                 {"exclude", *excludes},
                 {"driver", (*net)["driver"]},
                 {"docker_network", (*net)["docker_network"]}};
    auto r = call(resolve_connection(flags->server, flags->token), "PUT", "/v1/network", body);
    std::cout << r.body.dump(2) << "\n";
  });

  // berth backup NAME [--detach] [--json] | berth backup rm ID
  auto* backup = app.add_subcommand("backup", "Back a database up (waits for it), or remove one");
  auto backup_args = std::make_shared<std::map<std::string, std::string>>();
  backup->add_option("name", (*backup_args)["name"], "database name or id");
  backup->add_flag("--detach,-d", (*backup_args)["detach"], "print the task id at once");
  backup->add_flag("--verify", (*backup_args)["verify"],
                   "load it in a scratch container before calling it done");
  backup->add_flag("--json", flags->json, "print the backup (or task) as JSON");
  add_connection(backup);
  auto* backup_rm = backup->add_subcommand("rm", "Remove a backup and its data");
  auto backup_ids = std::make_shared<std::vector<std::string>>();
  backup_rm->add_option("id", *backup_ids, "backup ids")->required();
  add_connection(backup_rm);
  backup_rm->callback([=] {
    auto c = resolve_connection(flags->server, flags->token);
    for (auto& id : *backup_ids) {
      call(c, "DELETE", "/v1/backups/" + http::url_encode(id));
      std::cout << id << "\n";
    }
  });
  backup->callback([=] {
    if (backup_rm->parsed()) return;  // `berth backup rm ID` ran instead
    if ((*backup_args)["name"].empty()) throw UsageError("backup: say which database (or rm ID)");
    auto c = resolve_connection(flags->server, flags->token);
    bool verify = !(*backup_args)["verify"].empty() && (*backup_args)["verify"] != "0";
    auto r =
        call(c, "POST", "/v1/databases/" + http::url_encode((*backup_args)["name"]) + "/backups",
             json{{"verify", verify}});
    std::string id = r.body.value("id", "");
    bool detach = !(*backup_args)["detach"].empty() && (*backup_args)["detach"] != "0";
    if (detach) {
      std::cout << (flags->json ? r.body.dump(2) : id) << "\n";
      return;
    }
    auto t = follow_task(c, id, flags->json);
    if (t.value("state", "") != "done") {
      std::cerr << "backup " << t.value("state", "") << ": " << t.value("error", "") << "\n";
      *exit_code = 1;
      return;
    }
    auto b = call(c, "GET", "/v1/backups/" + http::url_encode(t.value("backup_id", "")));
    if (flags->json) {
      std::cout << b.body.dump(2) << "\n";
    } else {
      std::cout << "backup " << b.body.value("id", "") << " of "
                << b.body.value("database_name", "") << ": "
                << human_bytes(b.body.value("size_bytes", int64_t{0})) << ", sha256 "
                << b.body.value("sha256", "").substr(0, 12) << "\n";
    }
  });

  // berth backups [NAME] [--json]
  auto* backups = app.add_subcommand("backups", "List backups");
  auto backups_of = std::make_shared<std::string>();
  backups->add_option("name", *backups_of, "only this database's");
  backups->add_flag("--json", flags->json, "print a JSON array");
  add_connection(backups);
  backups->callback([=] {
    auto r = call(
        resolve_connection(flags->server, flags->token), "GET",
        "/v1/backups" + (backups_of->empty() ? "" : "?database=" + http::url_encode(*backups_of)));
    if (flags->json) {
      std::cout << r.body.dump(2) << "\n";
      return;
    }
    std::vector<std::vector<std::string>> rows{
        {"ID", "DATABASE", "ENGINE", "SIZE", "VERIFIED", "AGE", "FROM"}};
    for (auto& b : r.body)
      rows.push_back(
          {b.value("id", ""), b.value("database_name", ""), b.value("engine", ""),
           human_bytes(b.value("size_bytes", int64_t{0})), b.value("verified", ""),
           age(b.value("created_at", "")),
           b.value("source_role", "") + " " + std::to_string(b.value("source_instance", 0))});
    print_table(rows);
  });

  // berth restore NAME BACKUP | berth restore BACKUP --to NEWNAME  [--detach] [--json]
  auto* restore = app.add_subcommand("restore", "Restore a backup into a database (waits)");
  auto restore_args = std::make_shared<std::map<std::string, std::string>>();
  restore->add_option("name", (*restore_args)["name"], "database (or, with --to, the backup)")
      ->required();
  restore->add_option("backup", (*restore_args)["backup"], "backup id");
  restore->add_option("--to", (*restore_args)["to"], "restore into a new database of this name");
  restore->add_flag("--detach,-d", (*restore_args)["detach"], "print the task id at once");
  restore->add_flag("--json", flags->json, "print the task as JSON");
  add_connection(restore);
  restore->callback([=] {
    auto c = resolve_connection(flags->server, flags->token);
    auto& args = *restore_args;
    ApiReply r;
    if (!args["to"].empty()) {
      if (!args["backup"].empty()) throw UsageError("restore: with --to, name only the backup");
      args["backup"] = args["name"];
      args["name"] = args["to"];
      r = call(c, "POST", "/v1/backups/" + http::url_encode(args["backup"]) + "/restore",
               json{{"to", args["to"]}});
    } else {
      if (args["backup"].empty())
        throw UsageError("restore: say NAME BACKUP, or BACKUP --to NEWNAME");
      r = call(c, "POST", "/v1/databases/" + http::url_encode(args["name"]) + "/restore",
               json{{"backup", args["backup"]}});
    }
    std::string id = r.body.value("id", "");
    bool detach = !(*restore_args)["detach"].empty() && (*restore_args)["detach"] != "0";
    if (detach) {
      std::cout << (flags->json ? r.body.dump(2) : id) << "\n";
      return;
    }
    auto t = follow_task(c, id, flags->json);
    if (flags->json) std::cout << t.dump(2) << "\n";
    if (t.value("state", "") != "done") {
      std::cerr << "restore " << t.value("state", "") << ": " << t.value("error", "") << "\n";
      *exit_code = 1;
    } else if (!flags->json) {
      std::cout << (*restore_args)["name"] << " restored from " << (*restore_args)["backup"]
                << "\n";
    }
  });

  // berth tasks [--json] | berth task ID [--follow] [--json] | berth task cancel ID
  auto* tasks = app.add_subcommand("tasks", "List tasks (backups, restores)");
  tasks->add_flag("--json", flags->json, "print a JSON array");
  add_connection(tasks);
  tasks->callback([=] {
    auto r = call(resolve_connection(flags->server, flags->token), "GET", "/v1/tasks");
    if (flags->json) {
      std::cout << r.body.dump(2) << "\n";
      return;
    }
    std::vector<std::vector<std::string>> rows{
        {"ID", "KIND", "DATABASE", "STATE", "PROGRESS", "WORKER", "AGE"}};
    for (auto& t : r.body)
      rows.push_back({t.value("id", ""), t.value("kind", ""), t.value("database_name", ""),
                      t.value("state", ""), std::to_string(t.value("progress", 0)) + "%",
                      t.value("worker", ""), age(t.value("created_at", ""))});
    print_table(rows);
  });
  auto* task = app.add_subcommand("task", "Show one task; --follow waits for its end");
  auto task_args = std::make_shared<std::pair<std::string, bool>>("", false);
  task->add_option("id", task_args->first, "task id")->required();
  task->add_flag("--follow,-f", task_args->second, "follow it to its end");
  task->add_flag("--json", flags->json, "print the task as JSON");
  add_connection(task);
  task->callback([=] {
    auto c = resolve_connection(flags->server, flags->token);
    json t;
    if (task_args->second) {
      t = follow_task(c, task_args->first, flags->json);
    } else {
      t = call(c, "GET", "/v1/tasks/" + http::url_encode(task_args->first)).body;
      if (!flags->json)
        for (auto& line : t.value("log", json::array()))
          std::cout << line.get<std::string>() << "\n";
    }
    if (flags->json) std::cout << t.dump(2) << "\n";
    std::string state = t.value("state", "");
    if (task_args->second && state != "done") *exit_code = 1;
  });
  // berth usage NAME [--range 1h] [--json]
  auto* usage = app.add_subcommand("usage", "Memory, keys, connections and operations over time");
  auto usage_args = std::make_shared<std::pair<std::string, std::string>>("", "1h");
  usage->add_option("name", usage_args->first, "database name or id")->required();
  usage->add_option("--range", usage_args->second, "how far back: 15m, 1h, 6h, 24h, 7d")
      ->capture_default_str();
  usage->add_flag("--json", flags->json, "print the points as JSON");
  add_connection(usage);
  usage->callback([=] {
    auto r = call(resolve_connection(flags->server, flags->token), "GET",
                  "/v1/databases/" + http::url_encode(usage_args->first) +
                      "/usage?range=" + http::url_encode(usage_args->second));
    if (flags->json) {
      std::cout << r.body.dump(2) << "\n";
      return;
    }
    auto points = r.body.value("points", json::array());
    std::cout << r.body.value("name", "") << ": usage over " << r.body.value("range", "")
              << ", a point every " << r.body.value("step_seconds", 0) << " s\n";
    if (points.empty()) {
      std::cout << "no samples yet\n";
      return;
    }
    std::vector<std::vector<std::string>> rows{
        {"TIME", "MEMORY", "LIMIT", "KEYS", "CONNECTIONS", "OPS/S"}};
    for (auto& p : points) {
      char ops[32];
      std::snprintf(ops, sizeof ops, "%.1f", p.value("ops_per_sec", 0.0));
      rows.push_back({p.value("time", ""), human_bytes(p.value("memory_used_bytes", int64_t{0})),
                      human_bytes(p.value("memory_limit_bytes", int64_t{0})),
                      std::to_string(p.value("keys", int64_t{0})),
                      std::to_string(p.value("connections", int64_t{0})), ops});
    }
    print_table(rows);
  });

  // berth events [NAME] [--follow] [--limit N] [--json]
  auto* events = app.add_subcommand("events", "What happened: created, failed over, resized...");
  struct EventArgs {
    std::string database;
    bool follow = false;
    int limit = 50;
  };
  auto event_args = std::make_shared<EventArgs>();
  events->add_option("name", event_args->database, "only this database's events");
  events->add_flag("--follow,-f", event_args->follow, "keep printing events as they happen");
  events->add_option("--limit", event_args->limit, "how many past events")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  events->add_flag("--json", flags->json, "one JSON object per line");
  add_connection(events);
  events->callback([=] {
    auto c = resolve_connection(flags->server, flags->token);
    std::string filter =
        event_args->database.empty() ? "" : "&database=" + http::url_encode(event_args->database);
    std::string after;
    int limit = event_args->limit;
    for (;;) {
      std::string query = "/v1/events?limit=" + std::to_string(limit) + filter;
      if (!after.empty()) query += "&after=" + http::url_encode(after) + "&wait=30";
      auto r = call(c, "GET", query);
      for (auto& e : r.body.value("events", json::array())) {
        after = e.value("id", after);
        if (flags->json) {
          std::cout << e.dump() << std::endl;
          continue;
        }
        std::cout << e.value("time", "") << "  " << e.value("kind", "") << "  "
                  << e.value("message", "") << std::endl;
      }
      if (!event_args->follow) return;
      if (after.empty()) after = "0";  // nothing yet: everything from now on is new
      limit = 10000;
    }
  });

  auto* cancel = app.add_subcommand("cancel", "Cancel a task");
  auto cancel_id = std::make_shared<std::string>();
  cancel->add_option("id", *cancel_id, "task id")->required();
  add_connection(cancel);
  cancel->callback([=] {
    auto r = call(resolve_connection(flags->server, flags->token), "POST",
                  "/v1/tasks/" + http::url_encode(*cancel_id) + "/cancel");
    std::cout << r.body.value("id", "") << ": " << r.body.value("state", "")
              << (r.body.value("cancel_requested", false) ? " (cancel requested)" : "") << "\n";
  });
}

}  // namespace berth::cli
