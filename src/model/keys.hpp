// berth's etcd key layout: every key and prefix a record lives under, in one place.
#pragma once

#include <string>
#include <string_view>

namespace berth::model {

namespace keys {
inline const std::string kRoot = "/berth/";
inline const std::string kHosts = "/berth/hosts/";              // + host  (lease-bound)
inline const std::string kDatabases = "/berth/databases/";      // + id
inline const std::string kNames = "/berth/names/";              // + name -> id
inline const std::string kAllocations = "/berth/allocations/";  // + host/id/n
inline const std::string kAddresses = "/berth/ips/";            // + ip -> owner "id/n"
// + host/id/n (lease-bound): by host, so that an agent's etcd user writes its own alone
inline const std::string kStatus = "/berth/status/";
inline const std::string kNetwork = "/berth/config/network";
inline const std::string kAdminTokenHash = "/berth/config/admin-token-sha256";
inline const std::string kProjects = "/berth/projects/";  // + name
inline const std::string kTokens = "/berth/tokens/";      // + id: its secret's sha256, never it
inline const std::string kJoinTokens = "/berth/join-tokens/";  // + id: one host's way in, once
inline const std::string kDefaultProject = "default";
inline const std::string kEngineSettings = "/berth/config/engines/";  // + engine
inline const std::string kEtcdHealth = "/berth/etcd-health";          // the leader's last look
// Made by the first server on an etcd without one; on every container, so that an agent never
// removes what another cluster (or an etcd restored from nothing) knows nothing of.
inline const std::string kClusterId = "/berth/config/cluster-id";
// The id (not the key) of the key passwords are sealed with: a process without it cannot start.
inline const std::string kSealingKey = "/berth/config/sealing-key";

inline std::string host(const std::string& name) {
  return kHosts + name;
}
inline std::string database(const std::string& id) {
  return kDatabases + id;
}
// Names are unique within a project. The default project's keep the layout from before
// projects (+ name), so that a cluster made then needs no migration.
inline std::string name(const std::string& project, const std::string& name) {
  return project == kDefaultProject ? kNames + name : kNames + project + "/" + name;
}
inline std::string project(const std::string& name) {
  return kProjects + name;
}
inline std::string token(const std::string& id) {
  return kTokens + id;
}
inline std::string join_token(const std::string& id) {
  return kJoinTokens + id;
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
inline std::string statuses_on(const std::string& host) {
  return kStatus + host + "/";
}
inline std::string status(const std::string& host, const std::string& id, int n) {
  return statuses_on(host) + id + "/" + std::to_string(n);
}
// The host, database and instance number of a status key; false for any other key (the
// layout before statuses were kept by host, /berth/status/ID/N, included).
bool parse_status_key(std::string_view key, std::string* host, std::string* id, int* n);
inline std::string instance_owner(const std::string& id, int n) {
  return id + "/" + std::to_string(n);
}
inline std::string database_address_owner(const std::string& id) {
  return id + "/db";
}
inline std::string host_address_owner(const std::string& host) {
  return "host/" + host;
}
// An address whose instance was re-created elsewhere (or removed) while its old container may
// still run on host: taken until that host's agent finds no container of its own holding it.
inline const std::string kRetiredOwner = "retired/";
inline std::string retired_address_owner(const std::string& host, const std::string& owner) {
  return kRetiredOwner + host + "/" + owner;
}
// The host a retired address waits on ("" for any other owner).
inline std::string retired_on(const std::string& owner) {
  if (!owner.starts_with(kRetiredOwner)) return "";
  auto rest = owner.substr(kRetiredOwner.size());
  return rest.substr(0, rest.find('/'));
}
inline const std::string kLeader = "/berth/leader";
inline const std::string kTasks = "/berth/tasks/";             // + id
inline const std::string kTaskClaims = "/berth/task-claims/";  // + id (lease-bound: its worker)
inline const std::string kBackups = "/berth/backups/";         // + id
inline std::string task(const std::string& id) {
  return kTasks + id;
}
inline std::string task_claim(const std::string& id) {
  return kTaskClaims + id;
}
inline std::string backup(const std::string& id) {
  return kBackups + id;
}
inline const std::string kHostSettings = "/berth/host-settings/";  // + host (persistent)
inline std::string host_settings(const std::string& host) {
  return kHostSettings + host;
}
inline const std::string kServers = "/berth/servers/";  // + advertised API address (lease-bound)
inline std::string server(const std::string& address) {
  return kServers + address;
}
// + host: the host's agent left the cluster on purpose (its dockerd is down) and fenced its
// primaries: they may answer on, but are to be failed over (gone when it registers again)
inline const std::string kHostsLeft = "/berth/hosts-left/";
inline std::string host_left(const std::string& host) {
  return kHostsLeft + host;
}
// + database id: a deleted database, the proof an agent needs before it removes its data
inline const std::string kTombstones = "/berth/tombstones/";
inline std::string tombstone(const std::string& database_id) {
  return kTombstones + database_id;
}
// + host/id: a volume kept on a host after its instance left it (see Orphan)
inline const std::string kOrphans = "/berth/orphans/";
inline std::string orphans_of(const std::string& host) {
  return kOrphans + host + "/";
}
inline std::string orphan(const std::string& host, const std::string& id) {
  return orphans_of(host) + id;
}
// + SHA-256 of a request's Idempotency-Key: what that request did (kept a day)
inline const std::string kIdempotency = "/berth/idempotency/";
inline std::string idempotency(const std::string& key_hash) {
  return kIdempotency + key_hash;
}
}  // namespace keys

}  // namespace berth::model
