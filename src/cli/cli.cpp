// Where the CLI finds its server, how it reads sizes, and the wiring of every client command.
#include "cli/cli.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"

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
  json config{{"server", c.server}, {"token", c.token}};
  if (!c.ca_cert.empty()) config["ca_cert"] = c.ca_cert;
  out << config.dump(2) << "\n";
  out.close();
  std::filesystem::permissions(
      path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

Connection resolve_connection(const Connection& flags) {
  Connection c = flags;
  auto from_env = [](std::string& field, const char* name) {
    if (const char* e = std::getenv(name); field.empty() && e) field = e;
  };
  from_env(c.server, "BERTH_SERVER");
  from_env(c.token, "BERTH_TOKEN");
  from_env(c.ca_cert, "BERTH_CACERT");
  if (c.server.empty() || c.token.empty() || c.ca_cert.empty()) {
    std::ifstream in(config_path());
    if (in) {
      try {
        json j = json::parse(in);
        // The CA belongs to the server the config names, not to one named elsewhere.
        bool same_server = c.server.empty() || c.server == j.value("server", "");
        if (c.server.empty()) c.server = j.value("server", "");
        if (c.token.empty()) c.token = j.value("token", "");
        if (c.ca_cert.empty() && same_server) c.ca_cert = j.value("ca_cert", "");
      } catch (const json::exception&) {
        throw UsageError(config_path() + " is not valid JSON");
      }
    }
  }
  if (c.server.empty())
    throw UsageError("no server: pass --server, set BERTH_SERVER or run `berth up`");
  if (c.server.find("://") == std::string::npos) c.server = "http://" + c.server;
  if (!c.ca_cert.empty() && !std::filesystem::exists(c.ca_cert))
    throw UsageError("--ca-cert: no such file: " + c.ca_cert);
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

void add_connection(CLI::App* sub, Flags& flags) {
  sub->add_option("--server", flags.server, "berth server URL (else BERTH_SERVER)");
  sub->add_option("--token", flags.token, "API token (else BERTH_TOKEN)");
  sub->add_option("--ca-cert", flags.ca_cert,
                  "CA file that signed an https:// server's certificate (else BERTH_CACERT)");
  sub->add_option("--project", flags.project, "an operator's: only this project (or create in it)");
}

void run_command(const Context& ctx, const Command& command) {
  auto connection = resolve_connection({ctx.flags->server, ctx.flags->token, ctx.flags->ca_cert});
  client::Client c(connection.server, connection.token, std::chrono::seconds(120),
                   connection.ca_cert);
  c.set_project(ctx.flags->project);
  Output output{std::cout, std::cerr, ctx.flags->json};
  try {
    *ctx.exit_code = command(c, output);
  } catch (const client::ApiError& e) {
    // The server refused what was asked: that is the caller's input, exit 2.
    if (e.refused()) throw UsageError(e.what());
    throw;
  }
}

void on_run(CLI::App* sub, const Context& ctx, Command command) {
  sub->callback([ctx, command = std::move(command)] { run_command(ctx, command); });
}

void add_client_commands(CLI::App& app, int* exit_code) {
  Context ctx{std::make_shared<Flags>(), exit_code};
  add_database_commands(app, ctx);
  add_password_commands(app, ctx);
  add_host_commands(app, ctx);
  add_backup_commands(app, ctx);
  add_task_commands(app, ctx);
  add_access_commands(app, ctx);
}

}  // namespace berth::cli
