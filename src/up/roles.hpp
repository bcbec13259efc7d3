// The long-running roles of the berth binary: `berth server`, `berth agent` and `berth up`
// (server + agent + a local etcd on one machine). Each runs one event loop until a signal.
#pragma once

#include <map>
#include <string>

namespace berth::up {

// The backend quota `berth up` gives its etcd (etcd's own default, said out loud).
constexpr int64_t kEtcdQuotaBytes = int64_t{2} << 30;

// How a role reaches etcd: over TLS with a client certificate (all PEM files), signed in as
// an etcd user (its password in a file) when etcd's authentication is on.
struct EtcdAccessFlags {
  std::string ca, cert, key;
  std::string user, password_file;
};

struct ServerFlags {
  std::string etcd;  // comma-separated endpoints
  EtcdAccessFlags etcd_access;
  std::string listen = "127.0.0.1:7070";
  std::string state_dir;
  std::string token_file;
  int leader_ttl = 2;      // seconds: how long a dead leader holds the controllers
  int usage_step = 15;     // seconds between usage samples
  std::string backup_dir;  // default: STATE_DIR/backups
  std::string advertise;   // HOST:PORT others reach the API at (default: the listen address)
  std::string etcd_compact_interval = "5m";  // util::parse_duration
  int64_t etcd_quota_bytes = kEtcdQuotaBytes;
  std::string tls_cert, tls_key;  // PEM files: the API speaks HTTPS
  std::string secret_key_file;    // seals passwords in etcd (default STATE_DIR/secrets.key)
  bool insecure_http = false;     // plain HTTP even on an address other machines reach
  std::string cluster_ca, cluster_ca_key;  // PEM files: hosts may join (berth join-token)
  std::string join_etcd;                   // endpoints a joined host gets (default: etcd)
};

struct AgentFlags {
  std::string etcd;
  EtcdAccessFlags etcd_access;
  std::string docker_socket = "/var/run/docker.sock";
  std::string name;
  std::string advertise;
  int lease_ttl = 5;
  int probe_interval_ms = 1000;
  std::vector<std::string> labels;  // key=value
  std::string backup_dir = "/var/lib/berth/backups";
  std::string network;         // "" or "macvlan:IF"
  std::string metrics_listen;  // ADDR:PORT of /metrics (default ADVERTISE:7071; port 0: any)
  std::string orphan_retention = "24h";                        // util::parse_duration
  std::string secret_key_file = "/var/lib/berth/secrets.key";  // the servers' key file
  // A host that joins (berth join-token): its identity in state_dir, made on the first start
  // through server with join_token.
  std::string state_dir, server, join_token;
  // Set from the identity: the /metrics listener's certificate, the CA of its peers.
  std::string metrics_tls_cert, metrics_tls_key, cluster_ca;
};

struct UpFlags {
  std::string state_dir;
  std::string listen = "127.0.0.1:7070";
  std::string etcd;             // use this etcd instead of starting one
  EtcdAccessFlags etcd_access;  // how to reach that one (the local etcd gets files of its own)
  int etcd_port = 12379;        // the local etcd's client port (peer port is +1)
  std::string docker_socket = "/var/run/docker.sock";
  std::string subnet = "10.213.0.0/16";
  std::string gateway = "10.213.0.1";
  std::string docker_network = "berth";
  std::string metrics_listen = "127.0.0.1:7071";  // the agent's /metrics
  std::string etcd_compact_interval = "5m";
  std::string orphan_retention = "24h";
  bool tls = false;            // HTTPS with a CA of its own (always, off loopback)
  bool insecure_http = false;  // plain HTTP even off loopback
};

// `berth etcd-auth enable|add-server|add-agent`: etcd's users and roles for berth.
struct EtcdAuthFlags {
  std::string etcd;
  EtcdAccessFlags etcd_access;
  std::string name;           // the server's user or the agent's host
  std::string password_file;  // made (random, mode 0600) when missing
};
int etcd_auth(const std::string& action, const EtcdAuthFlags& flags);

int run_server(const ServerFlags& flags);
int run_agent(const AgentFlags& flags);
int run_up(UpFlags flags);
// Builds the engine's image into the daemon behind docker_socket.
int build_image(const std::string& engine, const std::string& docker_socket);

std::string default_state_dir();

}  // namespace berth::up
