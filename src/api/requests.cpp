#include "api/requests.hpp"

#include <boost/asio/ip/address.hpp>
#include <regex>

#include "cron/cron.hpp"
#include "engines/engine.hpp"
#include "join/token.hpp"
#include "util/duration.hpp"

namespace berth::api {

using nlohmann::json;

namespace {

Invalid unprocessable(std::string message) {
  return {422, std::move(message)};
}

// The field's value, or null when it is absent.
const json& field(const json& body, const char* name) {
  static const json null;
  auto it = body.find(name);
  return it == body.end() ? null : *it;
}

// A string field as text: its value, or its JSON when it is not a string (which no rule
// accepts, so the message shows what was sent).
std::string text(const json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

// One rule per field, shared by every request that has the field.

Invalid check_name(const json& v, std::string* out) {
  static const std::regex pattern("[a-z][a-z0-9-]{0,62}");
  if (!v.is_string() || !std::regex_match(v.get<std::string>(), pattern))
    return unprocessable(
        "name: must match [a-z][a-z0-9-]{0,62} (lower-case letters, digits, dashes; a letter "
        "first)");
  *out = v.get<std::string>();
  return {};
}

Invalid check_engine(const json& v, const engines::Engine** out) {
  if (v.is_null())
    return unprocessable("engine: required (one of: " + engines::engine_names() + ")");
  *out = v.is_string() ? engines::find_engine(v.get<std::string>()) : nullptr;
  if (!*out)
    return unprocessable("engine: unknown engine '" + text(v) +
                         "' (known: " + engines::engine_names() + ")");
  return {};
}

Invalid check_memory(const json& v, const engines::Engine& engine, int64_t* out) {
  if (!v.is_number_integer()) return unprocessable("memory_mb: must be an integer (MiB)");
  int64_t mb = v.get<int64_t>();
  if (mb < engine.min_memory_mb())
    return unprocessable("memory_mb: at least " + std::to_string(engine.min_memory_mb()) +
                         " MiB, got " + std::to_string(mb));
  *out = mb;
  return {};
}

Invalid check_replicas(const json& v, const engines::Engine& engine, int* out) {
  if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 4)
    return unprocessable("replicas: must be an integer from 0 to 4");
  int replicas = v.get<int>();
  if (replicas > 0 && !engine.capabilities().replication)
    return unprocessable("replicas: " + engine.name() + " has no replication (replicas must be 0)");
  *out = replicas;
  return {};
}

Invalid check_password(const json& v, const engines::Engine& engine, std::string* out) {
  bool valid =
      v.is_string() && v.get<std::string>().size() >= 8 && v.get<std::string>().size() <= 128;
  if (valid)
    for (unsigned char c : v.get<std::string>()) valid &= c > 32 && c < 127;
  if (!valid) return unprocessable("password: 8 to 128 printable characters without spaces");
  if (!engine.capabilities().password_auth)
    return unprocessable("password: " + engine.name() +
                         " databases take no password here yet; leave it out");
  *out = v.get<std::string>();
  return {};
}

Invalid check_constraints(const json& v, std::map<std::string, std::string>* out) {
  if (!v.is_object()) return unprocessable("constraints: must be an object of label: value");
  for (auto& [k, value] : v.items()) {
    if (!value.is_string()) return unprocessable("constraints: '" + k + "' must be a string");
    (*out)[k] = value.get<std::string>();
  }
  return {};
}

Invalid check_backup_schedule(const json& v, std::string* out) {
  if (!v.is_string())
    return unprocessable("backup_schedule: must be a cron string like \"0 3 * * *\" (UTC)");
  std::string problem;
  if (!v.get<std::string>().empty() && !cron::parse_cron(v.get<std::string>(), &problem))
    return unprocessable("backup_schedule: " + problem);
  *out = v.get<std::string>();
  return {};
}

Invalid check_backup_keep(const json& v, int* out) {
  if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > 1000)
    return unprocessable("backup_keep: must be an integer from 1 to 1000");
  *out = v.get<int>();
  return {};
}

Invalid check_backup_verify(const json& v, bool* out) {
  if (!v.is_boolean()) return unprocessable("backup_verify: must be true or false");
  *out = v.get<bool>();
  return {};
}

// The fields a new database may carry besides its name and engine, in the order they are
// checked; memory_mb is required unless a default is given.
Invalid check_new_database(const json& body, std::optional<int64_t> default_memory_mb,
                           CreateRequest* out) {
  auto& engine = *out->engine;
  if (auto& m = field(body, "memory_mb"); !m.is_null() || !default_memory_mb) {
    if (m.is_null()) return unprocessable("memory_mb: required (MiB, at least 32)");
    if (auto bad = check_memory(m, engine, &out->memory_mb)) return bad;
  } else {
    out->memory_mb = *default_memory_mb;
  }
  if (auto& p = field(body, "password"); !p.is_null()) {
    out->password.emplace();
    if (auto bad = check_password(p, engine, &*out->password)) return bad;
  }
  if (body.contains("replicas"))
    if (auto bad = check_replicas(body["replicas"], engine, &out->replicas)) return bad;
  if (auto& c = field(body, "constraints"); !c.is_null())
    if (auto bad = check_constraints(c, &out->constraints)) return bad;
  return {};
}

}  // namespace

Invalid parse_create(const json& body, CreateRequest* out) {
  if (!body.is_object()) return {400, "body: expected a JSON object"};
  auto& name = field(body, "name");
  if (name.is_null()) return unprocessable("name: required");
  if (auto bad = check_name(name, &out->name)) return bad;
  if (auto bad = check_engine(field(body, "engine"), &out->engine)) return bad;
  return check_new_database(body, std::nullopt, out);
}

Invalid parse_update(const json& body, const engines::Engine& engine, UpdateRequest* out) {
  if (!body.is_object()) return {400, "body: expected a JSON object"};
  if (!body.contains("memory_mb") && !body.contains("replicas") &&
      !body.contains("backup_schedule") && !body.contains("backup_keep") &&
      !body.contains("backup_verify"))
    return unprocessable(
        "memory_mb: required (MiB), or replicas (0 to 4), backup_schedule, backup_keep");
  if (body.contains("backup_schedule")) {
    out->backup_schedule.emplace();
    if (auto bad = check_backup_schedule(body["backup_schedule"], &*out->backup_schedule))
      return bad;
  }
  if (body.contains("backup_verify")) {
    out->backup_verify.emplace();
    if (auto bad = check_backup_verify(body["backup_verify"], &*out->backup_verify)) return bad;
  }
  if (body.contains("backup_keep")) {
    out->backup_keep.emplace();
    if (auto bad = check_backup_keep(body["backup_keep"], &*out->backup_keep)) return bad;
  }
  if (body.contains("memory_mb")) {
    out->memory_mb.emplace();
    if (auto bad = check_memory(body["memory_mb"], engine, &*out->memory_mb)) return bad;
  }
  if (body.contains("replicas")) {
    out->replicas.emplace();
    if (auto bad = check_replicas(body["replicas"], engine, &*out->replicas)) return bad;
  }
  return {};
}

Invalid parse_password(const json& body, const engines::Engine& engine,
                       std::optional<std::string>* out) {
  out->reset();
  if (body.is_null()) return {};
  if (!body.is_object()) return unprocessable("body: must be a JSON object");
  if (auto& p = field(body, "password"); !p.is_null()) {
    out->emplace();
    if (auto bad = check_password(p, engine, &**out)) return bad;
  }
  return {};
}

Invalid parse_restore_to_new(const json& body, const std::string& engine,
                             int64_t original_memory_mb, CreateRequest* out) {
  if (!body.is_object() || !body.contains("to") || !body["to"].is_string())
    return unprocessable("to: required (the new database's name)");
  if (auto bad = check_name(body["to"], &out->name)) return bad;
  if (auto bad = check_engine(json(engine), &out->engine)) return bad;
  // Only the size and the replicas may differ from the original; the rest is the backup's.
  json fields = json::object();
  for (auto* f : {"memory_mb", "replicas"})
    if (body.contains(f)) fields[f] = body[f];
  return check_new_database(fields, std::max<int64_t>(original_memory_mb, 64), out);
}

Invalid parse_project(const json& body, bool create, ProjectRequest* out) {
  if (!body.is_object()) return {400, "body: expected a JSON object"};
  if (create) {
    auto& name = field(body, "name");
    if (name.is_null()) return unprocessable("name: required");
    if (auto bad = check_name(name, &out->name)) return bad;
  } else if (body.contains("name")) {
    return unprocessable("name: a project cannot be renamed");
  } else if (!body.contains("memory_quota_mb") && !body.contains("database_quota")) {
    return unprocessable("memory_quota_mb: required (MiB), or database_quota");
  }
  if (auto& m = field(body, "memory_quota_mb"); !m.is_null()) {
    if (!m.is_number_integer() || m.get<int64_t>() < 0 || m.get<int64_t>() > (int64_t{1} << 40))
      return unprocessable("memory_quota_mb: must be a whole number of MiB (0: no quota)");
    out->memory_quota_mb = m.get<int64_t>();
  }
  if (auto& d = field(body, "database_quota"); !d.is_null()) {
    if (!d.is_number_integer() || d.get<int64_t>() < 0 || d.get<int64_t>() > 1000000)
      return unprocessable("database_quota: must be a whole number (0: no quota)");
    out->database_quota = d.get<int>();
  }
  return {};
}

Invalid parse_token(const json& body, TokenRequest* out) {
  if (!body.is_object()) return {400, "body: expected a JSON object"};
  auto& role = field(body, "role");
  if (role.is_null())
    return unprocessable("role: required (viewer, member, admin, operator, metrics)");
  model::from_name(text(role), out->role);
  if (!role.is_string() || model::to_string(out->role) != role.get<std::string>())
    return unprocessable("role: '" + text(role) +
                         "' is not one of viewer, member, admin, operator, metrics");
  bool project_role = out->role == model::TokenRole::viewer ||
                      out->role == model::TokenRole::member || out->role == model::TokenRole::admin;
  if (auto& p = field(body, "project");
      !p.is_null() && !(p.is_string() && p.get<std::string>().empty())) {
    if (!project_role)
      return unprocessable("project: " + model::to_string(out->role) +
                           " tokens belong to no project");
    if (auto bad = check_name(p, &out->project); bad)
      return unprocessable("project: '" + text(p) + "' is not a project name");
  } else if (project_role) {
    return unprocessable("project: required for a " + model::to_string(out->role) + " token");
  }
  if (auto& n = field(body, "name"); !n.is_null()) {
    if (!n.is_string() || n.get<std::string>().size() > 200)
      return unprocessable("name: must be text of at most 200 characters");
    out->name = n.get<std::string>();
  }
  if (auto& t = field(body, "ttl"); !t.is_null()) {
    auto ttl = t.is_string() ? util::parse_duration(t.get<std::string>()) : std::nullopt;
    if (!ttl) return unprocessable("ttl: '" + text(t) + "' is not a duration like 30d, 12h or 15m");
    out->ttl = *ttl;
  }
  return {};
}

Invalid parse_join_token(const json& body, JoinTokenRequest* out) {
  if (!body.is_object()) return {400, "body: expected a JSON object"};
  if (auto& t = field(body, "ttl"); !t.is_null()) {
    auto ttl = t.is_string() ? util::parse_duration(t.get<std::string>()) : std::nullopt;
    if (!ttl || ttl->count() < 1 || *ttl > std::chrono::hours(24 * 7))
      return unprocessable("ttl: '" + text(t) + "' is not a duration from 1s to 7d, like 1h");
    out->ttl = *ttl;
  }
  return {};
}

Invalid parse_join(const json& body, JoinRequest* out) {
  if (!body.is_object()) return {400, "body: expected a JSON object"};
  auto& token = field(body, "token");
  if (!token.is_string() || !join::parse(token.get<std::string>()))
    return unprocessable("token: not a join token (berth join-token create prints one)");
  out->token = token.get<std::string>();
  auto& host = field(body, "host");
  if (!host.is_string() || !join::valid_host_name(host.get<std::string>()))
    return unprocessable("host: '" + text(host) +
                         "' is not a host name (1 to 63 letters, digits, '-', '.', '_')");
  out->host = host.get<std::string>();
  auto& address = field(body, "address");
  boost::system::error_code ec;
  if (address.is_string()) boost::asio::ip::make_address(address.get<std::string>(), ec);
  if (!address.is_string() || ec)
    return unprocessable("address: '" + text(address) + "' is not an IP address");
  out->address = address.get<std::string>();
  auto& csr = field(body, "csr");
  if (!csr.is_string() || csr.get<std::string>().size() > 16384 ||
      !csr.get<std::string>().starts_with("-----BEGIN CERTIFICATE REQUEST-----"))
    return unprocessable("csr: not a PEM certificate request");
  out->csr = csr.get<std::string>();
  return {};
}

}  // namespace berth::api
