// The `berth` client commands (run, ps, inspect, rm, hosts, network): talk to the REST API,
// print tables for people and JSON for scripts. Bad input exits 2 with one line on stderr.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <stdexcept>
#include <string>

namespace berth::cli {

// A usage error: printed as one line, exit code 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Connection {
  std::string server;
  std::string token;
  std::string ca_cert;  // the CA file an https:// server's certificate is checked against
};

// --server/--token/--ca-cert, else BERTH_SERVER/BERTH_TOKEN/BERTH_CACERT, else
// ~/.config/berth/config.json.
Connection resolve_connection(const Connection& flags);
std::string config_path();
void write_config(const Connection& connection);

// "256M", "1G", "512MiB", "64" (MiB) -> MiB. Throws UsageError naming the flag.
int64_t parse_memory_mb(const std::string& text, const std::string& flag);
// "0".."4" style replica counts from --replicas (the API checks the range).
int parse_replicas(const std::string& text);

// Adds the client subcommands to app; each sets *exit_code when it runs.
void add_client_commands(CLI::App& app, int* exit_code);

}  // namespace berth::cli
