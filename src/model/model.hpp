// berth's state as it lives in etcd: the JSON records under each key (model/keys.hpp).
// Desired state (databases, allocations) is written by the API; observed state (hosts,
// instance status) by agents under their lease, so it vanishes when an agent dies.
#pragma once

#include <cstdint>
#include <ctime>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <ranges>
#include <string>
#include <type_traits>

#include "model/enums.hpp"
#include "model/keys.hpp"
#include "model/secret.hpp"

namespace berth::model {

// ---- Records ----------------------------------------------------------------------------

// A database as the user asked for it.
struct Database {
  std::string id;
  std::string name;
  std::string project = keys::kDefaultProject;  // a record from before projects: the default
  std::string engine;
  std::string version;
  int64_t memory_mb = 0;
  int replicas = 0;
  Secret password;         // sealed in etcd
  std::string created_at;  // RFC 3339, UTC
  // With replicas: the address that follows the primary (empty: the primary's own).
  std::string address;
  int64_t epoch = 1;  // bumped by every promotion, in the same transaction
  std::map<std::string, std::string> constraints;  // host labels every instance needs
  // The engine keeps data across restarts. When not (a cache), an instance whose host is lost
  // is re-created empty on another host at once: there is nothing to wait for.
  bool durable = true;
  std::string user;  // for engines with users: whom clients authenticate as
  // A restore in progress (its task id): no failover while the primary restarts with the data.
  std::string maintenance;
  // Scheduled backups: cron in UTC ("" for none), how many scheduled backups to keep, and when
  // the leader fires next (RFC 3339; set by the leader).
  std::string backup_schedule;
  int backup_keep = 7;
  std::string backup_next;
  bool backup_verify = false;       // scheduled backups are verified too
  int64_t password_generation = 0;  // how many times its password was rotated
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Database, id, name, project, engine, version,
                                                memory_mb, replicas, password, created_at, address,
                                                epoch, constraints, durable, user, maintenance,
                                                backup_schedule, backup_keep, backup_next,
                                                backup_verify, password_generation)

// Instance n of a database, placed on a host with a fixed address.
struct Allocation {
  std::string database_id;
  std::string database_name;
  std::string project = keys::kDefaultProject;  // the database's, for metrics' labels
  int n = 0;
  std::string host;
  std::string ip;
  int port = 0;
  std::string engine;
  std::string image;  // empty: the engine's locally built image
  int64_t memory_mb = 0;
  Secret password;  // sealed in etcd
  Role role = Role::primary;
  int64_t epoch = 1;
  std::string primary_ip;         // for a replica: whom it replicates from
  std::string database_address;   // for the primary: the address it holds for the database
  int min_replicas_to_write = 0;  // for the primary: writes need this many live replicas
  // Changed to make the instance start over from an empty volume (a replica re-seeded after
  // its primary was restored from a backup).
  std::string data_generation;
  // A rotation: the password before the newest, which the instance may still answer to (its
  // agent sets the new one live, then it answers only to that); and how many rotations there
  // have been, which the instance's status shows once it answers to the newest.
  Secret previous_password;
  int64_t password_generation = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Allocation, database_id, database_name, project, n,
                                                host, ip, port, engine, image, memory_mb, password,
                                                role, epoch, primary_ip, database_address,
                                                min_replicas_to_write, data_generation,
                                                previous_password, password_generation)

// A Docker host as its agent registers it.
struct Host {
  std::string name;
  std::string address;
  int64_t memory_bytes = 0;
  int cpus = 0;
  std::map<std::string, std::string> labels;
  std::string started_at;
  std::string version;
  std::string metrics_address;  // HOST:PORT of the agent's /metrics ("" when it has none)
  bool metrics_tls = false;     // served over HTTPS, with a certificate of the cluster CA
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Host, name, address, memory_bytes, cpus, labels,
                                                started_at, version, metrics_address, metrics_tls)

// A berth server as it announces itself under its lease, for service discovery.
struct Server {
  std::string address;  // HOST:PORT of its API (and /metrics)
  std::string started_at;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Server, address, started_at)

// What an operator says of a host; outlives the agent's lease, so a dead host shows as down.
struct HostSettings {
  bool draining = false;
  std::string first_seen;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(HostSettings, draining, first_seen)

// What a host is to users and to events: down without its agent's registration (draining or
// not), else draining or alive.
inline const char* host_state(bool registered, bool draining) {
  return !registered ? "down" : draining ? "draining" : "alive";
}

// What an agent observes of one instance.
struct InstanceStatus {
  std::string host;
  InstanceState state = InstanceState::none;
  Role role = Role::none;  // as the engine reports it
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
  int64_t keys = 0;             // keys, tuples or items held
  // Holds a copy of the database: a primary, or a replica that has finished a sync since its
  // agent began watching it. A replica still on its first sync is never promoted.
  bool synced = true;
  // The allocation's password_generation once the instance answers to that password.
  int64_t password_generation = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(InstanceStatus, host, state, role, container_id,
                                                memory_used_bytes, restarts, message, updated_at,
                                                offset, link_up, epoch, primary_down,
                                                memory_limit_mb, holds_address, connections,
                                                operations, keys, synced, password_generation)

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

// What the leader last saw of etcd: its size against its quota, and its alarms.
struct EtcdHealth {
  int64_t db_size_bytes = 0;
  int64_t quota_bytes = 0;
  std::vector<std::string> alarms;
  bool filling = false;  // at least 80% of the quota, or an alarm raised
  std::string checked_at;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(EtcdHealth, db_size_bytes, quota_bytes, alarms,
                                                filling, checked_at)

// Cluster-wide settings of one engine.
struct EngineSettings {
  std::string image;  // a registry image to run instead of the locally built one
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(EngineSettings, image)

// A durable job (backup, restore): the leader dispatches it to a worker host, whose agent
// claims it under its lease; a claim that vanishes with its agent sends the task back.
struct Task {
  std::string id;
  TaskKind kind = TaskKind::none;
  std::string database_id;
  std::string database_name;
  std::string project = keys::kDefaultProject;  // the database's
  TaskState state = TaskState::pending;
  int progress = 0;  // 0-100
  std::vector<std::string> log;
  int attempts = 0;
  std::string worker;     // the host whose agent runs it ("" until dispatched)
  int instance = -1;      // the instance it works on
  std::string backup_id;  // restore: what to restore; backup: what was made
  bool cancel_requested = false;
  bool scheduled = false;  // fired by the database's backup schedule
  bool verify = false;     // a backup: load it in a scratch container before calling it done
  std::string error;
  std::string created_at, started_at, finished_at;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Task, id, kind, database_id, database_name, project,
                                                state, progress, log, attempts, worker, instance,
                                                backup_id, cancel_requested, scheduled, verify,
                                                error, created_at, started_at, finished_at)

// One backup in the catalog; its data is an object in the backup store named by its checksum.
struct Backup {
  std::string id;
  std::string database_id;
  std::string database_name;
  std::string project = keys::kDefaultProject;  // the database's; it outlives the database
  std::string engine;
  std::string version;
  std::string created_at;
  std::string sha256;  // of the data: the object's name in the store
  int64_t size_bytes = 0;
  std::string file;  // the data is this one file as is (e.g. dump.rdb); empty: a tar of files
  int64_t memory_used_bytes = 0;  // what the data needed in memory when taken
  int64_t memory_mb = 0;          // the database's memory limit then
  int source_instance = -1;
  Role source_role = Role::none;
  std::string task_id;
  Verification verified = Verification::unverified;
  std::string verify_message;
  bool scheduled = false;  // made by the schedule: subject to its retention
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Backup, id, database_id, database_name, project,
                                                engine, version, created_at, sha256, size_bytes,
                                                file, memory_used_bytes, memory_mb, source_instance,
                                                source_role, task_id, verified, verify_message,
                                                scheduled)

// A team's share of the cluster: its databases, backups, tasks and tokens. Quotas of 0: none.
struct Project {
  std::string name;
  int64_t memory_quota_mb = 0;
  int database_quota = 0;
  std::string created_at;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Project, name, memory_quota_mb, database_quota,
                                                created_at)

// An API token as etcd keeps it: the sha256 of its secret, never the secret. Operator and
// metrics tokens have no project.
struct Token {
  std::string id;  // the accessor: the secret starts with it
  std::string sha256;
  std::string project;
  TokenRole role = TokenRole::viewer;
  std::string name;
  std::string created_at;
  std::string expires_at;  // RFC 3339; "" never
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Token, id, sha256, project, role, name, created_at,
                                                expires_at)

// A join token (berth join-token create): lets one host join once before it expires. Deleted
// when a host uses it.
struct JoinToken {
  std::string id;
  std::string sha256;  // of its secret; never the secret
  std::string created_at;
  std::string expires_at;  // RFC 3339
  std::string created_by;  // the token id of the operator who made it
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(JoinToken, id, sha256, created_at, expires_at,
                                                created_by)

// A deleted database: written with the deletion, it tells every agent that the data of the
// database's containers may go (without it, a container not wanted leaves its volume behind).
struct Tombstone {
  std::string database_id;
  std::string name;
  std::string deleted_at;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Tombstone, database_id, name, deleted_at)

// A volume kept on a host though no instance uses it: the instance moved away, was scaled
// away, restored over or re-seeded, and its database lives on. Removed by its host's agent
// after the retention or when an operator asks (remove_requested), never on its own before.
struct Orphan {
  std::string id;
  std::string host;
  std::string database_id;
  std::string database_name;
  int instance = 0;
  std::string volume;
  int64_t bytes = -1;  // -1: unknown
  std::string since;
  std::string reason;
  bool remove_requested = false;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Orphan, id, host, database_id, database_name,
                                                instance, volume, bytes, since, reason,
                                                remove_requested)

// What a POST that carried an Idempotency-Key did, written in the same transaction as the work,
// so that a retry of it (its answer lost, its outcome unknown) answers the same.
struct IdempotentOutcome {
  std::string fingerprint;  // of the request: method, path and body
  std::string database_id;  // the database it created
  std::string task_id;      // the task it started
  std::string created_at;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(IdempotentOutcome, fingerprint, database_id,
                                                task_id, created_at)

// The one rule for "the primary of a database": among its allocations whose role is primary,
// the one with the highest epoch (a promotion bumps the epoch, so a stale primary left on a
// lost host loses to the promoted one); on a tie, the lowest instance number. The controller's
// failover decides by this rule.
inline bool better_primary(const Allocation& a, const Allocation& than) {
  return a.epoch != than.epoch ? a.epoch > than.epoch : a.n < than.n;
}
// primary_of over any range of allocations, of entries holding one (proj gives the
// Allocation), or of pointers to either: the chosen element, or nullptr when none is primary.
template <class Range, class Proj = std::identity>
auto primary_of(const Range& range, Proj proj = {}) {
  using Value = std::ranges::range_value_t<Range>;
  using Element = std::remove_cv_t<std::remove_pointer_t<Value>>;
  const Element* best = nullptr;
  for (auto& v : range) {
    const Element* e;
    if constexpr (std::is_pointer_v<Value>)
      e = v;
    else
      e = &v;
    const Allocation& a = std::invoke(proj, *e);
    if (a.role == Role::primary && (!best || better_primary(a, std::invoke(proj, *best)))) best = e;
  }
  return best;
}

// Current time as RFC 3339 in UTC with milliseconds.
std::string now_rfc3339();
// RFC 3339 (UTC, seconds) to and from Unix seconds; 0 when unreadable.
std::string format_time(std::time_t t);
std::time_t parse_time(const std::string& rfc3339);

template <class T>
T parse(const std::string& s) {
  return nlohmann::json::parse(s).get<T>();
}
template <class T>
std::string dump(const T& value) {
  return nlohmann::json(value).dump();
}

}  // namespace berth::model
