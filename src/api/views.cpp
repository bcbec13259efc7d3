#include "api/views.hpp"

#include <algorithm>
#include <map>

#include "engines/engine.hpp"
#include "model/model.hpp"

namespace berth::api {

namespace keys = model::keys;
using nlohmann::json;

namespace {

int64_t usable_memory_mb(const model::Database& db) {
  auto* engine = engines::find_engine(db.engine);
  return engine ? engine->data_memory_bytes(db.memory_mb) / 1024 / 1024 : db.memory_mb;
}

}  // namespace

AllocationKey split_allocation_key(std::string_view key) {
  if (!key.starts_with(keys::kAllocations)) return {};
  key.remove_prefix(keys::kAllocations.size());
  auto first = key.find('/'), last = key.rfind('/');
  if (first == std::string_view::npos || last == first) return {};
  return {key.substr(0, first), key.substr(first + 1, last - first - 1), key.substr(last + 1)};
}

json database_view(const store::Mirror& state, const std::string& id) {
  auto* kv = state.find(keys::database(id));
  if (!kv) return nullptr;
  auto db = model::parse<model::Database>(kv->value);
  std::vector<model::Allocation> allocations;
  for (auto* akv : state.grouped(keys::kAllocations, id)) {
    auto a = model::parse<model::Allocation>(akv->value);
    if (a.database_id == id) allocations.push_back(std::move(a));
  }
  json instances = json::array();
  std::string address;
  int port = 0;
  int healthy = 0, total = 0;
  bool any_unhealthy = false;
  for (auto& a : allocations) {
    ++total;
    json instance = {{"n", a.n},
                     {"host", a.host},
                     {"address", a.ip},
                     {"port", a.port},
                     {"role", a.role},
                     {"state", "pending"},
                     {"memory_used_bytes", 0},
                     {"memory_limit_bytes", a.memory_mb * 1024 * 1024}};
    if (auto* skv = state.find(keys::status(a.host, id, a.n))) {
      auto s = model::parse<model::InstanceStatus>(skv->value);
      instance["state"] = s.state;
      instance["memory_used_bytes"] = s.memory_used_bytes;
      instance["connections"] = s.connections;
      instance["operations"] = s.operations;
      if (!s.message.empty()) instance["message"] = s.message;
      if (s.state == model::InstanceState::healthy) ++healthy;
      if (s.state == model::InstanceState::unhealthy || s.state == model::InstanceState::failed)
        any_unhealthy = true;
      instance["offset"] = s.offset;
      if (a.role == model::Role::replica) instance["link_up"] = s.link_up;
    } else if (!state.find(keys::host(a.host))) {
      instance["state"] = "unknown";  // its host is not reporting
      any_unhealthy = true;
    }
    if (a.role == model::Role::primary) {
      address = db.address.empty() ? a.ip : db.address;
      port = a.port;
    }
    instances.push_back(std::move(instance));
  }
  std::string overall = total == 0         ? "pending"
                        : healthy == total ? "running"
                        : any_unhealthy    ? "degraded"
                                           : "starting";
  json view = {{"id", db.id},
          {"name", db.name},
          {"engine", db.engine},
          {"version", db.version},
          {"memory_mb", db.memory_mb},
          {"usable_memory_mb", usable_memory_mb(db)},
          {"replicas", db.replicas},
          {"epoch", db.epoch},
          {"durable", db.durable},
          {"backup_schedule", db.backup_schedule},
          {"backup_keep", db.backup_keep},
          {"backup_next", db.backup_next},
          {"backup_verify", db.backup_verify},
          {"constraints", db.constraints},
          {"state", overall},
          {"address", address},
          {"port", port},
          {"created_at", db.created_at},
          {"user", db.user.empty() ? json(nullptr) : json(db.user)},
          {"auth", !db.password.empty()},
          {"instances", instances}};
  // An engine with databases inside (PostgreSQL) names the one clients use.
  if (auto* engine = engines::find_engine(db.engine))
    if (auto dbname = engine->sql_database(db.name); !dbname.empty()) view["dbname"] = dbname;
  return view;
}

json host_view(const store::Mirror& state, const std::string& name) {
  int64_t allocated = 0;
  int instances = 0;
  for (auto* kv : state.under(keys::kAllocations)) {
    auto a = model::parse<model::Allocation>(kv->value);
    if (a.host != name) continue;
    allocated += a.memory_mb;
    ++instances;
  }
  model::HostSettings settings;
  if (auto* kv = state.find(keys::host_settings(name)))
    settings = model::parse<model::HostSettings>(kv->value);
  model::Host h;
  h.name = name;
  bool alive = false;
  if (auto* kv = state.find(keys::host(name))) {
    h = model::parse<model::Host>(kv->value);
    alive = true;
  }
  int64_t memory_mb = h.memory_bytes / 1024 / 1024;
  return {{"name", name},
          {"address", h.address},
          {"state", model::host_state(alive, settings.draining)},
          {"draining", settings.draining},
          {"cpus", h.cpus},
          {"memory_bytes", h.memory_bytes},
          {"memory_mb", memory_mb},
          {"allocated_mb", allocated},
          {"free_mb", memory_mb - allocated},
          {"instances", instances},
          {"labels", h.labels},
          {"started_at", h.started_at}};
}

const std::string& ViewCache::database(const store::Mirror& state, const std::string& id) {
  static const std::string none = "null";
  auto* kv = state.find(keys::database(id));
  if (!kv) {
    views_.erase(id);
    return none;
  }
  // The view is made of the database, its allocations, their status and their hosts: it is
  // current while none of them changed, appeared or went away.
  std::vector<int64_t> inputs{kv->mod_revision};
  for (auto* akv : state.grouped(keys::kAllocations, id)) {
    auto parts = split_allocation_key(akv->key);
    auto* status =
        state.find(keys::kStatus + std::string(parts.host) + "/" + id + "/" + std::string(parts.n));
    auto* host = state.find(keys::kHosts + std::string(parts.host));
    inputs.insert(inputs.end(), {akv->mod_revision, status ? status->mod_revision : 0,
                                 host ? host->mod_revision : 0});
  }
  auto& cached = views_[id];
  if (cached.body.empty() || cached.inputs != inputs) {
    json view = database_view(state, id);
    cached.name = view["name"].get<std::string>();
    cached.body = view.dump();
    cached.inputs = std::move(inputs);
  }
  return cached.body;
}

const std::string& ViewCache::list(const store::Mirror& state) {
  // Made again only when something changed, from the views that changed.
  if (list_revision_ != state.revision()) {
    std::vector<const Cached*> views;
    size_t size = 2;
    for (auto* kv : state.under(keys::kDatabases)) {
      auto id = kv->key.substr(keys::kDatabases.size());
      size += database(state, id).size() + 1;
      views.push_back(&views_.at(id));
    }
    std::sort(views.begin(), views.end(),
              [](const Cached* a, const Cached* b) { return a->name < b->name; });
    std::string body = "[";
    body.reserve(size);
    for (auto* v : views) {
      if (body.size() > 1) body += ',';
      body += v->body;
    }
    body += ']';
    if (views_.size() > views.size())
      std::erase_if(views_, [&](const auto& e) { return !state.find(keys::database(e.first)); });
    list_body_ = std::move(body);
    list_revision_ = state.revision();
  }
  return list_body_;
}

}  // namespace berth::api
