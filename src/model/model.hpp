// berth's state as it lives in etcd: the key layout and the JSON records under each key.
// Desired state (databases, allocations) is written by the API; observed state (hosts,
// instance status) by agents under their lease, so it vanishes when an agent dies.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace berth::model {

// ---- Key layout -------------------------------------------------------------------------
namespace keys {
inline const std::string kRoot = "/berth/";
inline const std::string kHosts = "/berth/hosts/";              // + host  (lease-bound)
inline const std::string kDatabases = "/berth/databases/";      // + id
inline const std::string kNames = "/berth/names/";              // + name -> id
inline const std::string kAllocations = "/berth/allocations/";  // + host/id/n
inline const std::string kAddresses = "/berth/ips/";            // + ip -> owner "id/n"
inline const std::string kStatus = "/berth/status/";            // + id/n  (lease-bound)
inline const std::string kNetwork = "/berth/config/network";
inline const std::string kAdminTokenHash = "/berth/config/admin-token-sha256";
inline const std::string kEngineSettings = "/berth/config/engines/";  // + engine

inline std::string host(const std::string& name) {
  return kHosts + name;
}
inline std::string database(const std::string& id) {
  return kDatabases + id;
}
inline std::string name(const std::string& name) {
  return kNames + name;
}
inline std::string allocations_of(const std::string& host) {
  return kAllocations + host + "/";
}
inline std::string allocation(const std::string& host, const std::string& id, int n) {
  return kAllocations + host + "/" + id + "/" + std::to_string(n);
}
inline std::string address(const std::string& ip) {
  return kAddresses + ip;
}
inline std::string engine_settings(const std::string& engine) {
  return kEngineSettings + engine;
}
inline std::string status(const std::string& id, int n) {
  return kStatus + id + "/" + std::to_string(n);
}
inline std::string instance_owner(const std::string& id, int n) {
  return id + "/" + std::to_string(n);
}
inline std::string database_address_owner(const std::string& id) {
  return id + "/db";
}
inline std::string host_address_owner(const std::string& host) {
  return "host/" + host;
}
inline const std::string kLeader = "/berth/leader";
inline const std::string kHostSettings = "/berth/host-settings/";  // + host (persistent)
inline std::string host_settings(const std::string& host) {
  return kHostSettings + host;
}
}  // namespace keys

// ---- Records ----------------------------------------------------------------------------

// A database as the user asked for it.
struct Database {
  std::string id;
  std::string name;
  std::string engine;
  std::string version;
  int64_t memory_mb = 0;
  int replicas = 0;
  std::string password;
  std::string created_at;  // RFC 3339, UTC
  // With replicas: the address that follows the primary (empty: the primary's own).
  std::string address;
  int64_t epoch = 1;  // bumped by every promotion, in the same transaction
  std::map<std::string, std::string> constraints;  // host labels every instance needs
  // The engine keeps data across restarts. When not (a cache), an instance whose host is lost
  // is re-created empty on another host at once: there is nothing to wait for.
  bool durable = true;
  std::string user;  // for engines with users: whom clients authenticate as
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Database, id, name, engine, version, memory_mb,
                                                replicas, password, created_at, address, epoch,
                                                constraints, durable, user)

// Instance n of a database, placed on a host with a fixed address.
struct Allocation {
  std::string database_id;
  std::string database_name;
  int n = 0;
  std::string host;
  std::string ip;
  int port = 0;
  std::string engine;
  std::string image;  // empty: the engine's locally built image
  int64_t memory_mb = 0;
  std::string password;
  std::string role = "primary";
  int64_t epoch = 1;
  std::string primary_ip;         // for a replica: whom it replicates from
  std::string database_address;   // for the primary: the address it holds for the database
  int min_replicas_to_write = 0;  // for the primary: writes need this many live replicas
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Allocation, database_id, database_name, n, host, ip,
                                                port, engine, image, memory_mb, password, role,
                                                epoch, primary_ip, database_address,
                                                min_replicas_to_write)

// A Docker host as its agent registers it.
struct Host {
  std::string name;
  std::string address;
  int64_t memory_bytes = 0;
  int cpus = 0;
  std::map<std::string, std::string> labels;
  std::string started_at;
  std::string version;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Host, name, address, memory_bytes, cpus, labels,
                                                started_at, version)

// What an operator says of a host; outlives the agent's lease, so a dead host shows as down.
struct HostSettings {
  bool draining = false;
  std::string first_seen;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(HostSettings, draining, first_seen)

// What an agent observes of one instance.
struct InstanceStatus {
  std::string host;
  std::string state;  // starting, healthy, unhealthy, failed
  std::string role;
  std::string container_id;
  int64_t memory_used_bytes = 0;
  int restarts = 0;
  std::string message;
  std::string updated_at;
  int64_t offset = 0;           // replication offset
  bool link_up = false;         // a replica's link to its primary
  int64_t epoch = 0;            // the allocation epoch the agent last applied
  bool primary_down = false;    // a replica's agent cannot reach the primary
  int64_t memory_limit_mb = 0;  // the limit the agent has applied (container and engine)
  std::string holds_address;    // the database address this instance holds, if any
  int64_t connections = 0;      // clients connected, as the engine counts them
  int64_t operations = 0;       // commands served since the engine started
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(InstanceStatus, host, state, role, container_id,
                                                memory_used_bytes, restarts, message, updated_at,
                                                offset, link_up, epoch, primary_down,
                                                memory_limit_mb, holds_address, connections,
                                                operations)

// The cluster network the address pool hands out from.
struct NetworkConfig {
  std::string subnet;                // CIDR, e.g. 10.213.0.0/16
  std::string gateway;               // never handed out
  std::vector<std::string> exclude;  // "A.B.C.D" or "A.B.C.D-E.F.G.H"
  std::string driver = "bridge";     // bridge on one machine; agents may say macvlan:IF
  std::string docker_network = "berth";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(NetworkConfig, subnet, gateway, exclude, driver,
                                                docker_network)

// Cluster-wide settings of one engine.
struct EngineSettings {
  std::string image;  // a registry image to run instead of the locally built one
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(EngineSettings, image)

// Current time as RFC 3339 in UTC with milliseconds.
std::string now_rfc3339();

template <class T>
T parse(const std::string& s) {
  return nlohmann::json::parse(s).get<T>();
}
template <class T>
std::string dump(const T& value) {
  return nlohmann::json(value).dump();
}

}  // namespace berth::model
