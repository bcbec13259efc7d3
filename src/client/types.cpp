#include "client/types.hpp"

namespace berth::client {

namespace {

std::string text(const json& j, const char* key) {
  return j.is_object() ? j.value(key, std::string()) : std::string();
}

template <class T>
T number(const json& j, const char* key) {
  return j.is_object() ? j.value(key, T{}) : T{};
}

json array(const json& j, const char* key) {
  return j.is_object() ? j.value(key, json::array()) : json::array();
}

}  // namespace

const Instance* Database::primary() const {
  for (auto& i : instances)
    if (i.role == "primary") return &i;
  return nullptr;
}

Database decode_database(const json& j) {
  Database d;
  d.id = text(j, "id");
  d.name = text(j, "name");
  d.engine = text(j, "engine");
  d.version = text(j, "version");
  d.state = text(j, "state");
  d.address = text(j, "address");
  d.created_at = text(j, "created_at");
  d.port = number<int>(j, "port");
  d.memory_mb = number<int64_t>(j, "memory_mb");
  d.usable_memory_mb = number<int64_t>(j, "usable_memory_mb");
  d.replicas = number<int>(j, "replicas");
  if (j.is_object() && j.contains("user") && j["user"].is_string())
    d.user = j["user"].get<std::string>();
  d.password = text(j, "password");
  d.connect = text(j, "connect");
  d.dbname = text(j, "dbname");
  for (auto& note : array(j, "notes")) d.notes.push_back(note.get<std::string>());
  for (auto& i : array(j, "instances"))
    d.instances.push_back({number<int>(i, "n"), text(i, "host"), text(i, "address"),
                           text(i, "role"), text(i, "state"), text(i, "message"),
                           number<int>(i, "port"), number<int64_t>(i, "memory_used_bytes")});
  d.raw = j;
  return d;
}

Host decode_host(const json& j) {
  Host h;
  h.name = text(j, "name");
  h.address = text(j, "address");
  h.state = text(j, "state");
  h.cpus = number<int>(j, "cpus");
  h.instances = number<int>(j, "instances");
  h.memory_mb = number<int64_t>(j, "memory_mb");
  h.allocated_mb = number<int64_t>(j, "allocated_mb");
  h.free_mb = number<int64_t>(j, "free_mb");
  h.raw = j;
  return h;
}

Orphan decode_orphan(const json& j) {
  Orphan o;
  o.id = text(j, "id");
  o.host = text(j, "host");
  o.database_id = text(j, "database_id");
  o.database_name = text(j, "database_name");
  o.volume = text(j, "volume");
  o.since = text(j, "since");
  o.reason = text(j, "reason");
  o.instance = number<int>(j, "instance");
  o.bytes = number<int64_t>(j, "bytes");
  o.remove_requested = j.is_object() && j.value("remove_requested", false);
  o.raw = j;
  return o;
}

Engine decode_engine(const json& j) {
  return {text(j, "name"), text(j, "version"), text(j, "image"), number<int>(j, "port"), j};
}

Task decode_task(const json& j) {
  Task t;
  t.id = text(j, "id");
  t.kind = text(j, "kind");
  t.database_name = text(j, "database_name");
  t.state = text(j, "state");
  t.error = text(j, "error");
  t.backup_id = text(j, "backup_id");
  t.worker = text(j, "worker");
  t.created_at = text(j, "created_at");
  t.progress = number<int>(j, "progress");
  t.revision = number<int64_t>(j, "revision");
  for (auto& line : array(j, "log")) t.log.push_back(line.get<std::string>());
  t.raw = j;
  return t;
}

Backup decode_backup(const json& j) {
  Backup b;
  b.id = text(j, "id");
  b.database_name = text(j, "database_name");
  b.engine = text(j, "engine");
  b.verified = text(j, "verified");
  b.created_at = text(j, "created_at");
  b.source_role = text(j, "source_role");
  b.sha256 = text(j, "sha256");
  b.source_instance = number<int>(j, "source_instance");
  b.size_bytes = number<int64_t>(j, "size_bytes");
  b.raw = j;
  return b;
}

Usage decode_usage(const json& j) {
  Usage u;
  u.name = text(j, "name");
  u.range = text(j, "range");
  u.step_seconds = number<int>(j, "step_seconds");
  for (auto& p : array(j, "points"))
    u.points.push_back({text(p, "time"), number<int64_t>(p, "memory_used_bytes"),
                        number<int64_t>(p, "memory_limit_bytes"), number<int64_t>(p, "keys"),
                        number<int64_t>(p, "connections"), number<double>(p, "ops_per_sec")});
  u.raw = j;
  return u;
}

Event decode_event(const json& j) {
  return {text(j, "id"), text(j, "time"), text(j, "kind"), text(j, "message"), j};
}

json encode(const DatabaseSpec& s) {
  json body = {{"name", s.name}, {"engine", s.engine}, {"memory_mb", s.memory_mb}};
  if (s.password) body["password"] = *s.password;
  body["replicas"] = s.replicas;
  for (auto& [key, value] : s.constraints) body["constraints"][key] = value;
  return body;
}

json encode(const DatabaseUpdate& u) {
  json body = json::object();
  if (u.memory_mb) body["memory_mb"] = *u.memory_mb;
  if (u.replicas) body["replicas"] = *u.replicas;
  if (u.backup_schedule) body["backup_schedule"] = *u.backup_schedule;
  if (u.backup_verify) body["backup_verify"] = *u.backup_verify;
  if (u.backup_keep) body["backup_keep"] = *u.backup_keep;
  return body;
}

json encode(const NetworkSettings& n) {
  return {{"subnet", n.subnet},
          {"gateway", n.gateway},
          {"exclude", n.exclude},
          {"driver", n.driver},
          {"docker_network", n.docker_network}};
}

}  // namespace berth::client
