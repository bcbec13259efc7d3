// The schemas of the OpenAPI document. A record's schema is read off its own JSON: a
// default-constructed one gives the property names and scalar types, and a round trip through
// its from_json tells what an empty array or map holds; so a field added to a struct shows up.
// Only what is assembled as JSON (the views, the requests' rules) is written by hand.
#include <stdexcept>

#include "api/openapi.hpp"
#include "audit/audit.hpp"
#include "engines/engine.hpp"
#include "events/events.hpp"
#include "model/model.hpp"
#include "usage/usage.hpp"

namespace berth::api::openapi {

namespace {

using nlohmann::json;

json str(std::string_view description = {}) {
  json s = {{"type", "string"}};
  if (!description.empty()) s["description"] = description;
  return s;
}
json integer(std::string_view description = {}) {
  json s = {{"type", "integer"}, {"format", "int64"}};
  if (!description.empty()) s["description"] = description;
  return s;
}
json boolean(std::string_view description = {}) {
  json s = {{"type", "boolean"}};
  if (!description.empty()) s["description"] = description;
  return s;
}
json ref(std::string_view name) {
  return {{"$ref", "#/components/schemas/" + std::string(name)}};
}
json array_of(json items) {
  return {{"type", "array"}, {"items", std::move(items)}};
}
json map_of(json values) {
  return {{"type", "object"}, {"additionalProperties", std::move(values)}};
}
json one_of(std::initializer_list<std::string_view> values, std::string_view description = {}) {
  json s = str(description);
  s["enum"] = json::array();
  for (auto v : values) s["enum"].push_back(v);
  return s;
}
json object(json properties, std::initializer_list<std::string_view> required = {}) {
  json s = {{"type", "object"}, {"properties", std::move(properties)}};
  for (auto r : required) s["required"].push_back(r);
  return s;
}

// The schema of a JSON value's type; an object's properties from its own keys.
json type_of(const json& v) {
  switch (v.type()) {
    case json::value_t::string:
      return str();
    case json::value_t::boolean:
      return boolean();
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return integer();
    case json::value_t::number_float:
      return {{"type", "number"}};
    case json::value_t::array:
      return array_of(v.empty() ? json::object() : type_of(v.front()));
    case json::value_t::object: {
      json properties = json::object();
      for (auto& [k, item] : v.items()) properties[k] = type_of(item);
      return object(std::move(properties));
    }
    default:
      return json::object();  // null: any
  }
}

// What the container at record[key] holds: the first probe value that comes back unchanged
// through T's from_json and to_json (1.5 before 1: a double takes 1 back as 1.0, equal; an int
// takes 1.5 back as 1). Nothing fits (a struct): any.
template <class T>
json element_of(const json& record, const std::string& key, bool is_map) {
  for (json probe : {json("s"), json(1.5), json(1), json(true)}) {
    json j = record;
    j[key] = is_map ? json{{"k", probe}} : json::array({probe});
    try {
      json back = j.get<T>();
      if (back.contains(key) && back[key] == j[key]) return type_of(probe);
    } catch (const json::exception&) {
    }
  }
  return json::object();
}

// The schema of record T from the JSON of sample (a default-constructed T unless its to_json
// leaves out what is empty).
template <class T>
json derived(const T& sample = T{}) {
  json record = sample;
  json properties = json::object();
  for (auto& [key, value] : record.items()) {
    if (value.is_array() && value.empty())
      properties[key] = array_of(element_of<T>(record, key, false));
    else if (value.is_object() && value.empty())
      properties[key] = map_of(element_of<T>(record, key, true));
    else
      properties[key] = type_of(value);
  }
  return object(std::move(properties));
}

// Sets what the JSON cannot tell of a property (an enum, a description); the property must be
// there, so a renamed field breaks the unit tests rather than the document.
void refine(json& schema, const std::string& property, const json& with) {
  if (!schema["properties"].contains(property))
    throw std::logic_error("openapi: no property '" + property + "' to refine");
  schema["properties"][property].update(with);
}

// A schema of the given properties of another, the rest left behind.
json pick(const json& from, std::initializer_list<std::string_view> names) {
  json properties = json::object();
  for (auto name : names) {
    std::string key(name);
    if (!from["properties"].contains(key))
      throw std::logic_error("openapi: no property '" + key + "' to pick");
    properties[key] = from["properties"][key];
  }
  return properties;
}

json engine_names() {
  json names = json::array();
  for (auto* e : engines::all_engines()) names.push_back(e->name());
  return names;
}

// The views of GET /v1/databases and /v1/hosts (views.cpp): their fields that a record has
// are typed by it.
json instance_view() {
  json properties = pick(derived<model::Allocation>(), {"n", "host", "port"});
  properties.update(pick(derived<model::InstanceStatus>(),
                         {"memory_used_bytes", "connections", "operations", "message", "offset"}));
  properties["link_up"] = boolean("a replica's link to its primary (replicas only)");
  properties["address"] = str("the instance's own address");
  properties["role"] = one_of({"primary", "replica"});
  properties["state"] = one_of({"pending", "starting", "healthy", "unhealthy", "failed", "unknown"},
                               "as its agent reports; unknown when its host is not reporting");
  properties["memory_limit_bytes"] = integer();
  return object(properties, {"n", "host", "address", "port", "role", "state", "memory_used_bytes",
                             "memory_limit_bytes"});
}

json database_view() {
  json properties = pick(derived<model::Database>(),
                         {"id", "name", "engine", "version", "memory_mb", "replicas", "epoch",
                          "durable", "backup_schedule", "backup_keep", "backup_next",
                          "backup_verify", "constraints", "created_at"});
  properties["usable_memory_mb"] = integer(
      "what the data may take of memory_mb: the rest is kept for the engine's own work "
      "(copy-on-write while it saves in the background, buffers, fragmentation)");
  properties["state"] = one_of({"pending", "starting", "running", "degraded"});
  properties["address"] = str("where clients connect: the primary's (or the database's) address");
  properties["port"] = integer();
  properties["user"] = str("whom clients authenticate as; null when the database has no password");
  properties["user"]["nullable"] = true;
  properties["auth"] = boolean("whether clients need the password");
  properties["instances"] = array_of(ref("Instance"));
  json required = json::array();
  for (auto& [k, v] : properties.items()) required.push_back(k);
  properties["dbname"] = str("the SQL database clients name (engines that have them: postgres)");
  json s = object(properties);
  s["required"] = required;
  return s;
}

json created_database() {
  return {{"allOf",
           {ref("Database"),
            object({{"password", str("shown once, here; absent when the database has none")},
                    {"connect", str("a command line that connects")},
                    {"notes", array_of(str())},
                    {"message", str("why it is not running yet (201 never has one)")}},
                   {"connect", "notes"})}}};
}

json host_view() {
  json properties = pick(derived<model::Host>(),
                         {"name", "address", "cpus", "memory_bytes", "labels", "started_at"});
  properties.update(pick(derived<model::HostSettings>(), {"draining"}));
  properties["state"] = one_of({"alive", "draining", "down"});
  for (auto* k : {"memory_mb", "allocated_mb", "free_mb", "instances"}) properties[k] = integer();
  return object(properties, {"name", "state"});
}

json engine_view() {
  json supports = json::object();
  for (auto* k :
       {"replication", "failover", "persistence", "users", "shrink_in_place", "password_optional"})
    supports[k] = boolean();
  return object({{"name", str()},
                 {"version", str("empty when the engine is not installed")},
                 {"installed", boolean()},
                 {"port", integer()},
                 {"min_memory_mb", integer()},
                 {"image", str()},
                 {"supports", object(supports)}},
                {"name", "installed"});
}

json task_view() {
  json s = derived<model::Task>();
  refine(s, "kind", one_of({"backup", "restore"}));
  refine(s, "state", one_of({"pending", "running", "done", "failed", "cancelled"}));
  refine(s, "progress", {{"minimum", 0}, {"maximum", 100}});
  s["properties"]["revision"] = integer("pass as ?revision with ?wait to follow the task");
  return s;
}

json backup() {
  json s = derived<model::Backup>();
  refine(s, "verified", one_of({"unverified", "verified", "failed"}));
  refine(s, "file", str("the data is this one file as is (e.g. dump.rdb); empty: a tar of files"));
  return s;
}

json event() {
  // Event's JSON leaves out what is empty: a sample with every field set shows them all.
  events::Event sample{"id", "time", "kind", "database", "name", "project", "host", 0, "message"};
  json s = derived(sample);
  refine(s, "kind", str("what happened, e.g. database.created, host.down, backup.done"));
  refine(s, "id", str("sorts by time; pass as ?after to follow on"));
  s["required"] = {"id", "time", "kind", "message"};
  return s;
}

json usage_point() {
  json s = derived<usage::Point>();
  refine(s, "time", str("RFC 3339, UTC: the sample's time or the start of the span it sums"));
  s["properties"]["time"].erase("format");  // Unix seconds in the record, text in the API
  return s;
}

// The requests' bodies, as parse_create, parse_update and parse_restore_to_new (requests.cpp)
// check them.
json create_request() {
  json name = str("lower-case letters, digits, dashes; a letter first");
  name["pattern"] = "^[a-z][a-z0-9-]{0,62}$";
  json engine = str();
  if (auto names = engine_names(); !names.empty()) engine["enum"] = names;
  json password = str("8 to 128 printable characters without spaces; none: one is made up");
  password["minLength"] = 8;
  password["maxLength"] = 128;
  json replicas = integer();
  replicas.update({{"minimum", 0}, {"maximum", 4}});
  json memory = integer("MiB, at least the engine's min_memory_mb");
  memory["minimum"] = 1;
  return object({{"name", name},
                 {"engine", engine},
                 {"memory_mb", memory},
                 {"password", password},
                 {"replicas", replicas},
                 {"constraints", map_of(str())}},
                {"name", "engine", "memory_mb"});
}

json update_request() {
  auto rules = create_request()["properties"];
  json keep = integer();
  keep.update({{"minimum", 1}, {"maximum", 1000}});
  json s = object({{"memory_mb", rules["memory_mb"]},
                   {"replicas", rules["replicas"]},
                   {"backup_schedule", str("cron in UTC, like \"0 3 * * *\"; empty: none")},
                   {"backup_keep", keep},
                   {"backup_verify", boolean()}});
  s["minProperties"] = 1;
  return s;
}

json restore_to_new_request() {
  auto rules = create_request()["properties"];
  return object({{"to", rules["name"]},
                 {"memory_mb", integer("MiB; default: the original's (64 at least)")},
                 {"replicas", rules["replicas"]}},
                {"to"});
}

json token_view() {
  return object({{"id", str()},
                 {"project", str("empty for operator and metrics tokens")},
                 {"role", one_of({"viewer", "member", "admin", "operator", "metrics"}, "")},
                 {"name", str()},
                 {"created_at", str()},
                 {"expires_at", str("empty: never")}},
                {"id", "project", "role", "name", "expires_at"});
}

}  // namespace

json schemas() {
  json network = derived<model::NetworkConfig>();
  refine(network, "subnet", str("CIDR, e.g. 10.213.0.0/16"));
  refine(network, "exclude", {{"description", "addresses never handed out: A.B.C.D, A-B or CIDR"}});
  refine(network, "driver", str("bridge on one machine; macvlan:IF across hosts"));
  return {
      {"Error", object({{"error", str("what is wrong, naming the field")}}, {"error"})},
      {"Health", object({{"status", one_of({"ok", "degraded"}, "degraded: etcd is filling")},
                         {"revision", integer()},
                         {"etcd", derived<model::EtcdHealth>()}},
                        {"status"})},
      {"Database", database_view()},
      {"Instance", instance_view()},
      {"CreatedDatabase", created_database()},
      {"CreateRequest", create_request()},
      {"UpdateRequest", update_request()},
      {"SwitchoverRequest",
       object({{"to", integer("the instance to promote; none: the most up to date replica")}})},
      {"PasswordRequest",
       object({{"password", str("the new password, 8 to 128 printable characters without "
                                "spaces; none: one is made up")}})},
      {"BackupRequest", object({{"verify", boolean("load it in a scratch container first")}})},
      {"RestoreRequest", object({{"backup", str("a backup id")}}, {"backup"})},
      {"RestoreToNewRequest", restore_to_new_request()},
      {"Backup", backup()},
      {"Task", task_view()},
      {"TaskWithDatabase",
       {{"allOf", {ref("Task"), object({{"database", ref("CreatedDatabase")}}, {"database"})}}}},
      {"Event", event()},
      {"EventPage", object({{"events", array_of(ref("Event"))},
                            {"after", str("pass as ?after to follow on from here")},
                            {"revision", integer()}},
                           {"events", "after", "revision"})},
      {"UsagePoint", usage_point()},
      {"Usage", object({{"database", str("its id")},
                        {"name", str()},
                        {"range", str()},
                        {"step_seconds", integer()},
                        {"points", array_of(ref("UsagePoint"))}},
                       {"database", "name", "range", "step_seconds", "points"})},
      {"Host", host_view()},
      {"Orphan", derived<model::Orphan>()},
      {"NetworkConfig", network},
      {"Engine", engine_view()},
      {"EngineSettings", derived<model::EngineSettings>()},
      {"EngineImage", object({{"name", str()}, {"image", str()}}, {"name", "image"})},
      {"TargetGroup", object({{"targets", array_of(str("HOST:PORT"))}, {"labels", map_of(str())}},
                             {"targets", "labels"})},
      {"Project", object({{"name", str()},
                          {"memory_quota_mb", integer("0: none")},
                          {"database_quota", integer("0: none")},
                          {"created_at", str()},
                          {"databases", integer("how many it has")},
                          {"memory_mb", integer("what its databases' instances take")}},
                         {"name", "memory_quota_mb", "database_quota", "databases", "memory_mb"})},
      {"ProjectRequest", object({{"name", str("lower-case letters, digits and -; not on update")},
                                 {"memory_quota_mb", integer("MiB; 0: none")},
                                 {"database_quota", integer("0: none")}})},
      {"Token", token_view()},
      {"NewToken",
       {{"allOf", {ref("Token"), object({{"secret", str("shown once")}}, {"secret"})}}}},
      {"TokenRequest",
       object({{"project", str("none for operator and metrics tokens")},
               {"role", one_of({"viewer", "member", "admin", "operator", "metrics"}, "")},
               {"name", str()},
               {"ttl", str("e.g. 30d, 12h; none: never expires")}},
              {"role"})},
      {"Whoami", token_view()},
      {"HostRemoved", object({{"name", str()},
                              {"removed", boolean()},
                              {"identity_revoked", boolean("its etcd user is gone")}},
                             {"name", "removed", "identity_revoked"})},
      {"JoinToken",
       object(pick(derived<model::JoinToken>(), {"id", "created_at", "expires_at", "created_by"}),
              {"id", "expires_at"})},
      {"NewJoinToken",
       {{"allOf",
         {ref("JoinToken"),
          object({{"token", str("shown once")}, {"ca_sha256", str("the CA it pins")}},
                 {"token", "ca_sha256"})}}}},
      {"JoinTokenRequest", object({{"ttl", str("1s to 7d, e.g. 1h (the default)")}}, {})},
      {"JoinRequest", object({{"token", str()},
                              {"host", str("the host's name")},
                              {"address", str("the IP it is reached at")},
                              {"csr", str("PEM certificate request for its own key")}},
                             {"token", "host", "address", "csr"})},
      {"Joined", object({{"host", str()},
                         {"ca_cert", str("PEM")},
                         {"cert", str("PEM, for the host name and address")},
                         {"etcd", object({{"endpoints", array_of(str())},
                                          {"user", str("\"\" when etcd has no authentication")},
                                          {"password", str()}},
                                         {"endpoints", "user", "password"})},
                         {"sealing_key", str("the key file passwords are sealed with")}},
                        {"host", "ca_cert", "cert", "etcd", "sealing_key"})},
      {"AuditEntry", derived<audit::Entry>()},
      {"LogPage", object({{"database", str()},
                          {"instance", integer()},
                          {"host", str()},
                          {"lines", array_of(object({{"time", str()}, {"text", str()}}))},
                          {"after", str("pass as ?after to follow on from here")}},
                         {"database", "instance", "lines", "after"})},
      {"AuditPage", object({{"entries", array_of(ref("AuditEntry"))},
                            {"after", str("pass as ?after to follow on from here")}},
                           {"entries", "after"})},
      {"OpenApiDocument", object({{"openapi", str()}}, {"openapi"})},
  };
}

}  // namespace berth::api::openapi
