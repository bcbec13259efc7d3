#include "api/api.hpp"

#include <sys/stat.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <filesystem>
#include <fstream>
#include <regex>

#include "api/respond.hpp"
#include "api/ui.hpp"
#include "controller/switchover.hpp"
#include "cron/cron.hpp"
#include "engines/engine.hpp"
#include "metrics/berth.hpp"
#include "model/model.hpp"
#include "netpool/netpool.hpp"
#include "scheduler/placement.hpp"
#include "scheduler/snapshot.hpp"
#include "usage/usage.hpp"
#include "util/encoding.hpp"
#include "util/log.hpp"

namespace berth::api {

namespace asio = boost::asio;
namespace keys = model::keys;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

bool valid_name(const std::string& name) {
  static const std::regex pattern("[a-z][a-z0-9-]{0,62}");
  return std::regex_match(name, pattern);
}

bool valid_password(const std::string& p) {
  if (p.size() < 8 || p.size() > 128) return false;
  for (unsigned char c : p)
    if (c <= 32 || c >= 127) return false;
  return true;
}

// Places `count` new instances of one database on distinct hosts, none of them in `avoid`.
// On success fills *placed; otherwise returns the 409 message, naming the field at fault.
std::string place_instances(std::map<std::string, scheduler::HostSnapshot> hosts, int count,
                            int64_t memory_mb,
                            const std::map<std::string, std::string>& constraints,
                            std::set<std::string> avoid, int replicas_wanted,
                            std::vector<std::string>* placed) {
  for (int i = 0; i < count; ++i) {
    scheduler::PlacementRequest request{memory_mb, avoid, constraints};
    std::vector<scheduler::HostSnapshot> snapshot;
    for (auto& [name, h] : hosts) snapshot.push_back(h);
    auto placement = scheduler::place(snapshot, request);
    if (!placement.ok()) {
      if (avoid.empty() || placement.error.find("memory_mb") != std::string::npos)
        return placement.error;
      int could = static_cast<int>(avoid.size());
      return "replicas: " + std::to_string(replicas_wanted) + " replicas need " +
             std::to_string(replicas_wanted + 1) + " hosts that can take an instance of " +
             std::to_string(memory_mb) + " MiB; only " + std::to_string(could) + " can";
    }
    hosts[placement.host].allocated_mb += memory_mb;
    avoid.insert(placement.host);
    placed->push_back(placement.host);
  }
  return {};
}

// The parts of an allocation key, /berth/allocations/HOST/ID/N (all empty if it is not one).
struct AllocationKey {
  std::string_view host, id, n;
};
AllocationKey split_allocation_key(std::string_view key) {
  if (!key.starts_with(keys::kAllocations)) return {};
  key.remove_prefix(keys::kAllocations.size());
  auto first = key.find('/'), last = key.rfind('/');
  if (first == std::string_view::npos || last == first) return {};
  return {key.substr(0, first), key.substr(first + 1, last - first - 1), key.substr(last + 1)};
}

}  // namespace

Api::Api(asio::any_io_executor executor, store::Store& store, Options options)
    : executor_(executor),
      store_(store),
      options_(std::move(options)),
      state_(executor, store, keys::kRoot) {
  // A database's instances without a scan of every allocation.
  state_.add_index(keys::kAllocations,
                   [](std::string_view key) { return std::string(split_allocation_key(key).id); });
}

Api::~Api() = default;

asio::awaitable<void> Api::start() {
  co_await ensure_admin_token();
  asio::co_spawn(executor_, state_.run(), asio::detached);
  co_await state_.wait_for([this] { return state_.loaded(); }, 30s);
  server_ = std::make_unique<http::Server>(
      executor_, options_.listen, [this](const http::ServerRequest& r) { return serve(r); });
  server_->start();
}

void Api::stop() {
  if (server_) server_->stop();
}

uint16_t Api::port() const {
  return server_ ? server_->port() : 0;
}

asio::awaitable<void> Api::ensure_admin_token() {
  auto existing = co_await store_.get(keys::kAdminTokenHash);
  if (!existing.kvs.empty()) co_return;
  std::string token = util::random_hex(24);
  std::vector<store::Compare> absent{store::Compare::absent(keys::kAdminTokenHash)};
  std::vector<store::Operation> put{
      store::Operation::put(keys::kAdminTokenHash, util::sha256_hex(token))};
  auto result = co_await store_.txn(absent, put);
  if (!result.succeeded) co_return;  // another server made it first
  // Only the hash stays in etcd; the token itself goes to a file only root can read.
  std::filesystem::path path(options_.token_file);
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  {
    std::ofstream out(path, std::ios::trunc);
    out << token << "\n";
  }
  ::chmod(path.c_str(), 0600);
  util::log("server: made the admin token, written to {}", path.string());
}

bool Api::authorized(const http::ServerRequest& request) const {
  std::string header = request.header("authorization");
  if (!header.starts_with("Bearer ")) return false;
  auto* hash = state_.find(keys::kAdminTokenHash);
  if (!hash) return false;
  std::string_view token = std::string_view(header).substr(7);
  // The token that matched last time, while the hash is the same, needs no sha256.
  if (!authorized_token_.empty() && authorized_hash_ == hash->value &&
      util::constant_time_equal(token, authorized_token_))
    return true;
  if (!util::constant_time_equal(util::sha256_hex(token), hash->value)) return false;
  authorized_token_ = token;
  authorized_hash_ = hash->value;
  return true;
}

asio::awaitable<http::Response> Api::handle(const http::ServerRequest& request) {
  const std::string& path = request.path;
  const std::string& method = request.method;
  if (path == "/v1/health" && method == "GET")
    co_return reply(200, {{"status", "ok"}, {"revision", state_.revision()}});
  // No token for /metrics: Prometheus scrapes it as is.
  if (path == "/metrics" && method == "GET") co_return metrics::server_exposition(view_);
  if (is_ui_path(path)) co_return serve_ui(request);
  if (!path.starts_with("/v1/")) co_return error(404, "no such endpoint: " + path);
  if (!authorized(request))
    co_return error(401, "authorization: missing or wrong token (Authorization: Bearer TOKEN)");
  if (path == "/v1/sd/prometheus" && method == "GET")
    co_return reply(200, metrics::service_discovery(state_.items()));

  if (path == "/v1/databases") {
    if (method == "GET") co_return list_databases();
    if (method == "POST") co_return co_await create_database(request);
    co_return error(405, "method not allowed: " + method + " " + path);
  }
  if (path.starts_with("/v1/databases/") && path.ends_with("/backups") && method == "POST")
    co_return co_await start_backup(path.substr(14, path.size() - 14 - 8), request);
  if (path.starts_with("/v1/databases/") && path.ends_with("/restore") && method == "POST")
    co_return co_await start_restore(path.substr(14, path.size() - 14 - 8), request);
  if (path == "/v1/tasks" && method == "GET") co_return list_tasks(request);
  if (path.starts_with("/v1/tasks/")) {
    std::string rest = path.substr(10);
    if (rest.ends_with("/cancel") && method == "POST")
      co_return co_await cancel_task(rest.substr(0, rest.size() - 7));
    if (rest.find('/') == std::string::npos && method == "GET")
      co_return co_await get_task(rest, request);
  }
  if (path == "/v1/backups" && method == "GET") co_return list_backups(request);
  if (path.starts_with("/v1/backups/")) {
    std::string rest = path.substr(12);
    if (rest.ends_with("/restore") && method == "POST")
      co_return co_await restore_to_new(rest.substr(0, rest.size() - 8), request);
    if (rest.ends_with("/data") && method == "GET")
      co_return co_await backup_data(rest.substr(0, rest.size() - 5));
    if (rest.find('/') == std::string::npos && method == "GET") co_return get_backup(rest);
    if (rest.find('/') == std::string::npos && method == "DELETE")
      co_return co_await delete_backup(rest);
  }
  if (path.starts_with("/v1/databases/") && path.ends_with("/usage") && method == "GET")
    co_return co_await get_usage(path.substr(14, path.size() - 14 - 6), request);
  if (path == "/v1/events" && method == "GET") co_return co_await list_events(request);
  if (path.starts_with("/v1/databases/") && path.ends_with("/switchover") && method == "POST")
    co_return co_await switchover_database(path.substr(14, path.size() - 14 - 11), request);
  if (path.starts_with("/v1/hosts/") && method == "POST") {
    std::string rest = path.substr(10);
    auto slash = rest.find('/');
    std::string action = slash == std::string::npos ? "" : rest.substr(slash + 1);
    if (action == "drain" || action == "undrain")
      co_return co_await drain_host(rest.substr(0, slash), action == "drain");
  }
  if (path.starts_with("/v1/databases/")) {
    std::string ref = path.substr(14);
    if (ref.empty() || ref.find('/') != std::string::npos)
      co_return error(404, "no such endpoint: " + path);
    if (method == "GET") co_return get_database(ref);
    if (method == "DELETE") co_return co_await delete_database(ref);
    if (method == "PATCH") co_return co_await update_database(ref, request);
    co_return error(405, "method not allowed: " + method + " " + path);
  }
  if (path == "/v1/hosts" && method == "GET") co_return list_hosts();
  if (path == "/v1/network") {
    if (method == "GET") co_return get_network();
    if (method == "PUT") co_return co_await set_network(request);
  }
  if (path == "/v1/engines" && method == "GET") {
    json engines = json::array();
    for (auto* e : engines::all_engines()) {
      auto caps = e->capabilities();
      engines.push_back({{"name", e->name()},
                         {"version", e->version()},
                         {"installed", !e->version().empty()},
                         {"port", e->port()},
                         {"min_memory_mb", e->min_memory_mb()},
                         {"image", engine_image(*e)},
                         {"supports",
                          {{"replication", caps.replication},
                           {"failover", caps.replication},
                           {"persistence", caps.persistent},
                           {"users", caps.users},
                           {"shrink_in_place", caps.shrink_in_place},
                           {"password_optional", caps.password_optional}}}});
    }
    co_return reply(200, engines);
  }
  if (path.starts_with("/v1/engines/") && method == "PUT")
    co_return co_await set_engine(path.substr(12), request);
  co_return error(404, "no such endpoint: " + method + " " + path);
}

asio::awaitable<http::Response> Api::serve(const http::ServerRequest& request) {
  auto started = std::chrono::steady_clock::now();
  http::Response response;
  std::exception_ptr failure;
  try {
    response = co_await handle(request);
  } catch (...) {
    failure = std::current_exception();
    response.status = 500;
  }
  // A long poll (?wait=, ?follow=) lasts as long as it was asked to: not a latency.
  bool long_poll = request.query.count("wait") || request.query.count("follow");
  if (!long_poll)
    metrics::observe_api_request(request.method, request.path, response.status,
                                 metrics::ScopedTimer::seconds_since(started));
  if (failure) std::rethrow_exception(failure);
  co_return response;
}

std::string Api::engine_image(const engines::Engine& engine) const {
  if (auto* kv = state_.find(keys::engine_settings(engine.name())))
    if (auto image = model::parse<model::EngineSettings>(kv->value).image; !image.empty())
      return image;
  return engine.image_recipe().reference() + " (built on each host)";
}

asio::awaitable<http::Response> Api::set_engine(const std::string& name,
                                                const http::ServerRequest& request) {
  auto* engine = engines::find_engine(name);
  if (!engine)
    co_return error(
        404, "engine: unknown engine '" + name + "' (known: " + engines::engine_names() + ")");
  http::Response failure;
  auto parsed = parse_body(request, &failure);
  if (!parsed) co_return failure;
  json body = std::move(*parsed);
  if (!body.is_object() || (body.contains("image") && !body["image"].is_string()))
    co_return error(422, "image: must be a string (empty: build from local binaries)");
  model::EngineSettings settings;
  settings.image = body.value("image", "");
  if (settings.image.find_first_of(" \t\n\"") != std::string::npos)
    co_return error(422, "image: '" + settings.image + "' is not an image reference");
  auto rev = co_await store_.put(keys::engine_settings(name), model::dump(settings));
  co_await state_.wait_revision(rev, 5s);
  co_return reply(200, {{"name", name}, {"image", engine_image(*engine)}});
}

std::string Api::resolve(const std::string& ref) const {
  if (state_.find(keys::database(ref))) return ref;
  if (auto* kv = state_.find(keys::name(ref))) return kv->value;
  return {};
}

json Api::database_view(const std::string& id) const {
  auto* kv = state_.find(keys::database(id));
  if (!kv) return nullptr;
  auto db = model::parse<model::Database>(kv->value);
  std::vector<model::Allocation> allocations;
  for (auto* akv : state_.grouped(keys::kAllocations, id)) {
    auto a = model::parse<model::Allocation>(akv->value);
    if (a.database_id == id) allocations.push_back(std::move(a));
  }
  json instances = json::array();
  std::string address;
  int port = 0;
  int healthy = 0, total = 0;
  bool any_unhealthy = false;
  auto* primary = model::primary_of(allocations);
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
    if (auto* skv = state_.find(keys::status(id, a.n))) {
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
    } else if (!state_.find(keys::host(a.host))) {
      instance["state"] = "unknown";  // its host is not reporting
      any_unhealthy = true;
    }
    if (&a == primary) {
      address = db.address.empty() ? a.ip : db.address;
      port = a.port;
    }
    instances.push_back(std::move(instance));
  }
  std::string state = total == 0         ? "pending"
                      : healthy == total ? "running"
                      : any_unhealthy    ? "degraded"
                                         : "starting";
  return {{"id", db.id},
          {"name", db.name},
          {"engine", db.engine},
          {"version", db.version},
          {"memory_mb", db.memory_mb},
          {"replicas", db.replicas},
          {"epoch", db.epoch},
          {"durable", db.durable},
          {"backup_schedule", db.backup_schedule},
          {"backup_keep", db.backup_keep},
          {"backup_next", db.backup_next},
          {"backup_verify", db.backup_verify},
          {"constraints", db.constraints},
          {"state", state},
          {"address", address},
          {"port", port},
          {"created_at", db.created_at},
          {"user", db.user.empty() ? json(nullptr) : json(db.user)},
          {"auth", !db.password.empty()},
          {"instances", instances}};
}

model::Allocation Api::new_allocation(const model::Database& db, int n, const std::string& host,
                                      const std::string& ip) const {
  model::Allocation a;
  a.database_id = db.id;
  a.database_name = db.name;
  a.n = n;
  a.host = host;
  a.ip = ip;
  a.port = engines::find_engine(db.engine)->port();
  a.engine = db.engine;
  if (auto* kv = state_.find(keys::engine_settings(db.engine)))
    a.image = model::parse<model::EngineSettings>(kv->value).image;
  a.memory_mb = db.memory_mb;
  a.password = db.password;
  a.epoch = db.epoch;
  return a;
}

asio::awaitable<std::optional<store::TxnResult>> Api::try_txn(std::vector<store::Compare> compares,
                                                              std::vector<store::Operation> ops) {
  std::optional<store::TxnResult> result;
  try {
    result = co_await store_.txn(compares, ops);
  } catch (const std::exception&) {
    // etcd does not answer: the caller says nothing was done.
  }
  co_return result;
}

std::vector<std::string> Api::reserve_addresses(const model::NetworkConfig& network, int count) {
  std::set<std::string> taken = pending_addresses_;
  for (auto* kv : state_.under(keys::kAddresses))
    taken.insert(kv->key.substr(keys::kAddresses.size()));
  std::vector<std::string> ips;
  for (int i = 0; i < count; ++i) {
    auto ip = netpool::choose(network, taken);
    if (!ip) {
      release_addresses(ips);
      return {};
    }
    taken.insert(*ip);
    ips.push_back(*ip);
    pending_addresses_.insert(*ip);
  }
  return ips;
}

void Api::release_addresses(const std::vector<std::string>& ips) {
  for (auto& ip : ips) pending_addresses_.erase(ip);
}

const std::string& Api::cached_view(const std::string& id) const {
  static const std::string none = "null";
  auto* kv = state_.find(keys::database(id));
  if (!kv) {
    views_.erase(id);
    return none;
  }
  // The view is made of the database, its allocations, their status and their hosts: it is
  // current while none of them changed, appeared or went away.
  std::vector<int64_t> inputs{kv->mod_revision};
  for (auto* akv : state_.grouped(keys::kAllocations, id)) {
    auto parts = split_allocation_key(akv->key);
    auto* status = state_.find(keys::kStatus + id + "/" + std::string(parts.n));
    auto* host = state_.find(keys::kHosts + std::string(parts.host));
    inputs.insert(inputs.end(), {akv->mod_revision, status ? status->mod_revision : 0,
                                 host ? host->mod_revision : 0});
  }
  auto& cached = views_[id];
  if (cached.body.empty() || cached.inputs != inputs) {
    json view = database_view(id);
    cached.name = view["name"].get<std::string>();
    cached.body = view.dump();
    cached.inputs = std::move(inputs);
  }
  return cached.body;
}

http::Response Api::list_databases() const {
  // Made again only when something changed, from the views that changed.
  if (list_revision_ != state_.revision()) {
    std::vector<const CachedView*> views;
    size_t size = 2;
    for (auto* kv : state_.under(keys::kDatabases)) {
      auto id = kv->key.substr(keys::kDatabases.size());
      size += cached_view(id).size() + 1;
      views.push_back(&views_.at(id));
    }
    std::sort(views.begin(), views.end(),
              [](const CachedView* a, const CachedView* b) { return a->name < b->name; });
    std::string body = "[";
    body.reserve(size);
    for (auto* v : views) {
      if (body.size() > 1) body += ',';
      body += v->body;
    }
    body += ']';
    if (views_.size() > views.size())
      std::erase_if(views_, [&](const auto& e) { return !state_.find(keys::database(e.first)); });
    list_body_ = std::move(body);
    list_revision_ = state_.revision();
  }
  http::Response r;
  r.status = 200;
  r.body = list_body_;
  return r;
}

http::Response Api::get_database(const std::string& ref) const {
  std::string id = resolve(ref);
  if (id.empty()) return error(404, "database: no database named or with id '" + ref + "'");
  http::Response r;
  r.status = 200;
  r.body = cached_view(id);
  return r;
}

json Api::host_view(const std::string& name) const {
  std::map<std::string, std::pair<int64_t, int>> use;  // host -> (allocated MiB, instances)
  int64_t allocated = 0;
  int instances = 0;
  for (auto* kv : state_.under(keys::kAllocations)) {
    auto a = model::parse<model::Allocation>(kv->value);
    if (a.host != name) continue;
    allocated += a.memory_mb;
    ++instances;
  }
  model::HostSettings settings;
  if (auto* kv = state_.find(keys::host_settings(name)))
    settings = model::parse<model::HostSettings>(kv->value);
  model::Host h;
  h.name = name;
  bool alive = false;
  if (auto* kv = state_.find(keys::host(name))) {
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

http::Response Api::list_hosts() const {
  std::set<std::string> names;
  for (auto* kv : state_.under(keys::kHosts)) names.insert(kv->key.substr(keys::kHosts.size()));
  for (auto* kv : state_.under(keys::kHostSettings))
    names.insert(kv->key.substr(keys::kHostSettings.size()));
  json out = json::array();
  for (auto& name : names) out.push_back(host_view(name));
  return reply(200, out);
}

asio::awaitable<http::Response> Api::drain_host(const std::string& name, bool drain) {
  auto* kv = state_.find(keys::host_settings(name));
  if (!kv && !state_.find(keys::host(name)))
    co_return error(404, "host: no host named '" + name + "'");
  model::HostSettings settings;
  if (kv) settings = model::parse<model::HostSettings>(kv->value);
  settings.draining = drain;
  std::vector<store::Compare> unchanged;
  if (kv) unchanged.push_back(store::Compare::mod_revision_is(kv->key, kv->mod_revision));
  std::vector<store::Operation> put{
      store::Operation::put(keys::host_settings(name), model::dump(settings))};
  auto result = co_await store_.txn(unchanged, put);
  if (!result.succeeded) co_return error(409, "host: changed meanwhile; try again");
  co_await state_.wait_revision(result.revision, 5s);
  util::log("server: host {} {}", name, drain ? "draining" : "undrained");
  if (drain) {
    // Answer once the controllers have moved everything away (or after two minutes).
    co_await state_.wait_for([&] { return host_view(name)["instances"] == 0; }, 120s);
  }
  co_return reply(200, host_view(name));
}

asio::awaitable<http::Response> Api::switchover_database(const std::string& ref,
                                                         const http::ServerRequest& request) {
  std::string id = resolve(ref);
  if (id.empty()) co_return error(404, "database: no database named or with id '" + ref + "'");
  int to = -1;
  if (!request.body.empty()) {
    http::Response failure;
    auto parsed = parse_body(request, &failure);
    if (!parsed) co_return failure;
    if (parsed->contains("to")) {
      if (!(*parsed)["to"].is_number_integer())
        co_return error(422, "to: must be an instance number");
      to = (*parsed)["to"].get<int>();
    }
  }
  auto result = co_await controller::switchover(executor_, store_, state_, id, to);
  if (result.status != 200) co_return error(result.status, result.error);
  co_return reply(200, database_view(id));
}

http::Response Api::get_network() const {
  auto* kv = state_.find(keys::kNetwork);
  if (!kv) return error(404, "network: no cluster network is configured");
  return reply(200, json::parse(kv->value));
}

asio::awaitable<http::Response> Api::set_network(const http::ServerRequest& request) {
  http::Response failure;
  auto parsed = parse_body(request, &failure);
  if (!parsed) co_return failure;
  json body = std::move(*parsed);
  model::NetworkConfig config;
  try {
    config = body.get<model::NetworkConfig>();
  } catch (const json::exception& e) {
    co_return error(422, std::string("network: ") + e.what());
  }
  if (auto problem = netpool::validate(config); !problem.empty()) co_return error(422, problem);
  // Changing the subnet under addresses in use would strand them.
  for (auto* kv : state_.under(keys::kAddresses)) {
    auto ip = netpool::parse_ipv4(kv->key.substr(keys::kAddresses.size()));
    if (ip && !netpool::assignable(config, *ip))
      co_return error(409, "subnet: address " + kv->key.substr(keys::kAddresses.size()) +
                               " is in use and would fall outside the new settings");
  }
  auto rev = co_await store_.put(keys::kNetwork, model::dump(config));
  co_await state_.wait_revision(rev, 5s);
  co_return reply(200, json(config));
}

asio::awaitable<http::Response> Api::create_database(const http::ServerRequest& request) {
  http::Response failure;
  auto parsed = parse_body(request, &failure);
  if (!parsed) co_return failure;
  json body = std::move(*parsed);
  if (!body.is_object()) co_return error(400, "body: expected a JSON object");

  auto string_field = [&](const char* field) -> std::optional<std::string> {
    auto it = body.find(field);
    if (it == body.end() || it->is_null()) return std::nullopt;
    if (!it->is_string()) return std::string("\x01");  // wrong type marker
    return it->get<std::string>();
  };
  auto name = string_field("name");
  if (!name) co_return error(422, "name: required");
  if (!valid_name(*name))
    co_return error(422,
                    "name: must match [a-z][a-z0-9-]{0,62} (lower-case letters, digits, "
                    "dashes; a letter first)");
  auto engine_name = string_field("engine");
  if (!engine_name)
    co_return error(422, "engine: required (one of: " + engines::engine_names() + ")");
  const engines::Engine* engine = engines::find_engine(*engine_name);
  if (!engine)
    co_return error(422, "engine: unknown engine '" + *engine_name +
                             "' (known: " + engines::engine_names() + ")");
  auto memory_it = body.find("memory_mb");
  if (memory_it == body.end()) co_return error(422, "memory_mb: required (MiB, at least 32)");
  if (!memory_it->is_number_integer()) co_return error(422, "memory_mb: must be an integer (MiB)");
  int64_t memory_mb = memory_it->get<int64_t>();
  if (memory_mb < engine->min_memory_mb())
    co_return error(422, "memory_mb: at least " + std::to_string(engine->min_memory_mb()) +
                             " MiB, got " + std::to_string(memory_mb));
  auto password = string_field("password");
  if (password && !valid_password(*password))
    co_return error(422, "password: 8 to 128 printable characters without spaces");
  int replicas = 0;
  if (auto r = body.find("replicas"); r != body.end()) {
    if (!r->is_number_integer() || r->get<int>() < 0 || r->get<int>() > 4)
      co_return error(422, "replicas: must be an integer from 0 to 4");
    replicas = r->get<int>();
  }
  auto caps = engine->capabilities();
  if (password && !caps.password_auth)
    co_return error(
        422, "password: " + engine->name() + " databases take no password here yet; leave it out");
  if (replicas > 0 && !caps.replication)
    co_return error(422,
                    "replicas: " + engine->name() + " has no replication (replicas must be 0)");
  std::map<std::string, std::string> constraints;
  if (auto c = body.find("constraints"); c != body.end() && !c->is_null()) {
    if (!c->is_object()) co_return error(422, "constraints: must be an object of label: value");
    for (auto& [k, v] : c->items()) {
      if (!v.is_string()) co_return error(422, "constraints: '" + k + "' must be a string");
      constraints[k] = v.get<std::string>();
    }
  }
  if (state_.find(keys::name(*name)))
    co_return error(409, "name: '" + *name + "' is already taken");
  auto* network_kv = state_.find(keys::kNetwork);
  if (!network_kv)
    co_return error(409, "network: no cluster network is configured (PUT /v1/network)");
  auto network = model::parse<model::NetworkConfig>(network_kv->value);

  model::Database db;
  db.id = util::random_hex(6);
  db.name = *name;
  db.engine = engine->name();
  db.version = engine->version();
  db.memory_mb = memory_mb;
  // An engine whose password is optional runs open unless the user asks for one.
  db.password = password ? *password : caps.password_optional ? "" : util::random_password(24);
  db.durable = caps.persistent;
  db.user = db.password.empty() ? "" : engine->user();
  db.created_at = model::now_rfc3339();

  db.replicas = replicas;
  db.constraints = constraints;
  int64_t committed_revision = 0;
  for (int attempt = 0; attempt < 50 && committed_revision == 0; ++attempt) {
    // Instance 0 is the primary; replicas go to other hosts, one instance per host.
    std::vector<std::string> placed_hosts;
    auto problem = place_instances(scheduler::live_hosts(state_), replicas + 1, memory_mb,
                                   constraints, {}, replicas, &placed_hosts);
    if (!problem.empty()) co_return error(409, problem);

    // Addresses: one per instance, plus the database's own when it has replicas.
    auto ips = reserve_addresses(network, replicas + 1 + (replicas > 0 ? 1 : 0));
    if (ips.empty())
      co_return error(409, "network: the address pool " + network.subnet + " is exhausted");
    db.address = replicas > 0 ? ips.back() : "";

    // One transaction: name, addresses, database and allocations, or nothing at all.
    std::vector<store::Compare> compares{store::Compare::absent(keys::name(db.name))};
    std::vector<store::Operation> ops{store::Operation::put(keys::database(db.id), model::dump(db)),
                                      store::Operation::put(keys::name(db.name), db.id)};
    for (int n = 0; n <= replicas; ++n) {
      auto a = new_allocation(db, n, placed_hosts[n], ips[n]);
      a.role = n == 0 ? model::Role::primary : model::Role::replica;
      a.primary_ip = n == 0 ? "" : ips[0];
      a.database_address = n == 0 ? db.address : "";
      compares.push_back(store::Compare::absent(keys::address(a.ip)));
      compares.push_back(store::Compare::present(keys::host(a.host)));
      ops.push_back(store::Operation::put(keys::address(a.ip), keys::instance_owner(db.id, n)));
      ops.push_back(store::Operation::put(keys::allocation(a.host, db.id, n), model::dump(a)));
    }
    if (!db.address.empty()) {
      compares.push_back(store::Compare::absent(keys::address(db.address)));
      ops.push_back(
          store::Operation::put(keys::address(db.address), keys::database_address_owner(db.id)));
    }
    auto result = co_await try_txn(compares, ops);
    release_addresses(ips);
    if (!result) co_return error(503, "etcd: the store does not answer; nothing was created");
    if (result->succeeded) {
      committed_revision = result->revision;
      break;
    }
    // Someone else won the name or an address, or a host went away: look again.
    co_await state_.wait_revision(result->revision, 2s);
    if (state_.find(keys::name(db.name)))
      co_return error(409, "name: '" + db.name + "' is already taken");
  }
  if (committed_revision == 0) co_return error(503, "could not reserve addresses; try again");
  co_await state_.wait_revision(committed_revision, 5s);
  util::log("server: created database {} ({}) with {} replicas", db.name, db.id, replicas);

  bool wait = request.query.count("wait") == 0 || request.query.at("wait") != "false";
  bool healthy = false;
  if (wait) {
    // Ready when every instance answers and the database address is held.
    healthy = co_await state_.wait_for(
        [&] {
          for (int n = 0; n <= replicas; ++n) {
            auto* s = state_.find(keys::status(db.id, n));
            if (!s) return false;
            auto status = model::parse<model::InstanceStatus>(s->value);
            if (status.state != model::InstanceState::healthy || (n > 0 && !status.link_up))
              return false;
            if (n == 0 && status.holds_address != db.address) return false;
          }
          return true;
        },
        options_.create_wait);
  }
  json view = database_view(db.id);
  if (!db.password.empty()) view["password"] = db.password;  // shown once, at creation
  view["connect"] = engine->connect_command(view["address"], view["port"], db.password);
  view["notes"] = engine->notes(!db.password.empty());
  co_return reply(healthy ? 201 : 202, view);
}

asio::awaitable<http::Response> Api::update_database(const std::string& ref,
                                                     const http::ServerRequest& request) {
  std::string id = resolve(ref);
  if (id.empty()) co_return error(404, "database: no database named or with id '" + ref + "'");
  http::Response failure;
  auto parsed = parse_body(request, &failure);
  if (!parsed) co_return failure;
  json body = std::move(*parsed);
  if (!body.is_object()) co_return error(400, "body: expected a JSON object");
  if (!body.contains("memory_mb") && !body.contains("replicas") &&
      !body.contains("backup_schedule") && !body.contains("backup_keep") &&
      !body.contains("backup_verify"))
    co_return error(
        422, "memory_mb: required (MiB), or replicas (0 to 4), backup_schedule, backup_keep");
  std::optional<std::string> backup_schedule;
  if (body.contains("backup_schedule")) {
    if (!body["backup_schedule"].is_string())
      co_return error(422, "backup_schedule: must be a cron string like \"0 3 * * *\" (UTC)");
    backup_schedule = body["backup_schedule"].get<std::string>();
    std::string problem;
    if (!backup_schedule->empty() && !cron::parse_cron(*backup_schedule, &problem))
      co_return error(422, "backup_schedule: " + problem);
  }
  std::optional<bool> backup_verify;
  if (body.contains("backup_verify")) {
    if (!body["backup_verify"].is_boolean())
      co_return error(422, "backup_verify: must be true or false");
    backup_verify = body["backup_verify"].get<bool>();
  }
  std::optional<int> backup_keep;
  if (body.contains("backup_keep")) {
    if (!body["backup_keep"].is_number_integer() || body["backup_keep"].get<int>() < 1 ||
        body["backup_keep"].get<int>() > 1000)
      co_return error(422, "backup_keep: must be an integer from 1 to 1000");
    backup_keep = body["backup_keep"].get<int>();
  }
  auto* engine = engines::find_engine(
      model::parse<model::Database>(state_.find(keys::database(id))->value).engine);
  std::optional<int64_t> memory_mb;
  if (body.contains("memory_mb")) {
    if (!body["memory_mb"].is_number_integer())
      co_return error(422, "memory_mb: must be an integer (MiB)");
    memory_mb = body["memory_mb"].get<int64_t>();
    if (*memory_mb < engine->min_memory_mb())
      co_return error(422, "memory_mb: at least " + std::to_string(engine->min_memory_mb()) +
                               " MiB, got " + std::to_string(*memory_mb));
  }
  std::optional<int> replicas;
  if (body.contains("replicas")) {
    if (!body["replicas"].is_number_integer() || body["replicas"].get<int>() < 0 ||
        body["replicas"].get<int>() > 4)
      co_return error(422, "replicas: must be an integer from 0 to 4");
    replicas = body["replicas"].get<int>();
    if (*replicas > 0 && !engine->capabilities().replication)
      co_return error(422,
                      "replicas: " + engine->name() + " has no replication (replicas must be 0)");
  }

  // Everything changes in one transaction guarded by the mod revisions it read: the database,
  // its instances' memory, new replicas with their addresses, removed replicas.
  std::vector<int> added, kept;
  std::vector<std::string> reserved;
  model::Database db;
  int64_t committed_revision = 0;
  for (int attempt = 0; attempt < 20 && committed_revision == 0; ++attempt) {
    auto* kv = state_.find(keys::database(id));
    if (!kv) co_return error(404, "database: no database named or with id '" + ref + "'");
    db = model::parse<model::Database>(kv->value);
    auto new_db = db;
    if (memory_mb && *memory_mb < db.memory_mb && !engine->capabilities().shrink_in_place)
      co_return error(409, "memory_mb: " + engine->name() + " cannot shrink in place (" +
                               std::to_string(db.memory_mb) +
                               " MiB now); only growing is possible");
    if (memory_mb) new_db.memory_mb = *memory_mb;
    if (replicas) new_db.replicas = *replicas;
    if (backup_schedule && *backup_schedule != db.backup_schedule) {
      if (!backup_schedule->empty() && !engine->capabilities().persistent)
        co_return error(422, "backup_schedule: " + engine->name() + " keeps no data to back up");
      new_db.backup_schedule = *backup_schedule;
      new_db.backup_next.clear();  // the leader works out the next time
    }
    if (backup_keep) new_db.backup_keep = *backup_keep;
    if (backup_verify) new_db.backup_verify = *backup_verify;
    std::vector<store::Compare> compares{
        store::Compare::mod_revision_is(keys::database(id), kv->mod_revision)};
    std::vector<store::Operation> ops;

    struct Existing {
      const store::KeyValue* kv;
      model::Allocation a;
    };
    std::vector<Existing> instances;
    for (auto* akv : state_.under(keys::kAllocations)) {
      auto a = model::parse<model::Allocation>(akv->value);
      if (a.database_id == id) instances.push_back({akv, a});
    }
    auto* primary = model::primary_of(instances, &Existing::a);
    if (!primary) co_return error(409, "database: it has no primary right now; try again shortly");

    // Fewer replicas: drop those on lost hosts first, then unhealthy ones, then the newest.
    auto hosts = scheduler::live_hosts(state_);
    int have = static_cast<int>(instances.size()) - 1;
    std::set<int> removed;
    if (replicas && *replicas < have) {
      std::vector<std::pair<int, int>> ranked;  // (badness, n)
      for (auto& e : instances) {
        if (e.a.role == model::Role::primary) continue;
        int badness = 0;
        auto* skv = state_.find(keys::status(id, e.a.n));
        if (!hosts.count(e.a.host))
          badness = 2;
        else if (!skv || model::parse<model::InstanceStatus>(skv->value).state !=
                             model::InstanceState::healthy)
          badness = 1;
        ranked.push_back({-badness, -e.a.n});
      }
      std::sort(ranked.begin(), ranked.end());
      for (int i = 0; i < have - *replicas; ++i) removed.insert(-ranked[i].second);
    }

    // Capacity first: every host that keeps an instance must have room for the difference.
    std::set<std::string> used_hosts;
    kept.clear();
    for (auto& e : instances) {
      compares.push_back(store::Compare::mod_revision_is(e.kv->key, e.kv->mod_revision));
      if (removed.count(e.a.n)) {
        ops.push_back(store::Operation::erase(e.kv->key));
        // The address returns to the pool with the instance.
        ops.push_back(store::Operation::erase(keys::address(e.a.ip)));
        continue;
      }
      used_hosts.insert(e.a.host);
      kept.push_back(e.a.n);
      auto it = hosts.find(e.a.host);
      if (it != hosts.end() && new_db.memory_mb > e.a.memory_mb) {
        int64_t free_mb = it->second.memory_mb - it->second.allocated_mb;
        if (free_mb < new_db.memory_mb - e.a.memory_mb)
          co_return error(409, "memory_mb: host " + e.a.host + " has " + std::to_string(free_mb) +
                                   " MiB free, " +
                                   std::to_string(new_db.memory_mb - e.a.memory_mb) +
                                   " MiB more are needed");
        it->second.allocated_mb += new_db.memory_mb - e.a.memory_mb;
      }
      auto a = e.a;
      a.memory_mb = new_db.memory_mb;
      if (a.role == model::Role::primary) {
        if (new_db.replicas == 0) a.min_replicas_to_write = 0;  // no replica left to wait for
        if (a.database_address.empty() && new_db.replicas > 0) {
          // A first replica: the database gets the address that follows the primary.
          reserved = reserve_addresses(
              model::parse<model::NetworkConfig>(state_.find(keys::kNetwork)->value), 1);
          if (reserved.empty()) co_return error(409, "network: the address pool is exhausted");
          new_db.address = reserved[0];
          a.database_address = new_db.address;
          compares.push_back(store::Compare::absent(keys::address(new_db.address)));
          ops.push_back(store::Operation::put(keys::address(new_db.address),
                                              keys::database_address_owner(id)));
        }
      }
      if (model::dump(a) != e.kv->value)
        ops.push_back(store::Operation::put(e.kv->key, model::dump(a)));
    }

    // More replicas: placed like at creation, on hosts without an instance of the database.
    added.clear();
    int missing = new_db.replicas + 1 - static_cast<int>(kept.size());
    if (missing > 0) {
      std::vector<std::string> placed;
      auto problem = place_instances(hosts, missing, new_db.memory_mb, db.constraints, used_hosts,
                                     new_db.replicas, &placed);
      if (!problem.empty()) {
        release_addresses(reserved);
        co_return error(409, problem);
      }
      auto ips = reserve_addresses(
          model::parse<model::NetworkConfig>(state_.find(keys::kNetwork)->value), missing);
      if (ips.empty()) {
        release_addresses(reserved);
        co_return error(409, "network: the address pool is exhausted");
      }
      reserved.insert(reserved.end(), ips.begin(), ips.end());
      std::set<int> numbers;
      for (auto& e : instances) numbers.insert(e.a.n);
      int n = 0;
      for (int i = 0; i < missing; ++i) {
        while (numbers.count(n)) ++n;
        numbers.insert(n);
        auto a = new_allocation(new_db, n, placed[i], ips[i]);
        a.role = model::Role::replica;
        a.primary_ip = primary->a.ip;
        compares.push_back(store::Compare::absent(keys::address(a.ip)));
        compares.push_back(store::Compare::present(keys::host(a.host)));
        ops.push_back(store::Operation::put(keys::address(a.ip), keys::instance_owner(id, n)));
        ops.push_back(store::Operation::put(keys::allocation(a.host, id, n), model::dump(a)));
        added.push_back(n);
      }
    }
    ops.push_back(store::Operation::put(keys::database(id), model::dump(new_db)));

    auto result = co_await try_txn(compares, ops);
    release_addresses(reserved);
    reserved.clear();
    if (!result) co_return error(503, "etcd: the store does not answer; nothing was changed");
    if (result->succeeded) {
      committed_revision = result->revision;
      db = new_db;
      break;
    }
    // A failover, a move or a concurrent create changed what we read: look again.
    co_await state_.wait_revision(result->revision, 2s);
  }
  if (committed_revision == 0) co_return error(409, "database: changed meanwhile; try again");
  co_await state_.wait_revision(committed_revision, 5s);
  util::log("server: updated database {}: {} MiB, {} replicas", db.name, db.memory_mb, db.replicas);
  // Answer once every instance runs with the new limit, new replicas are in sync and the
  // database address is held.
  bool applied = co_await state_.wait_for(
      [&] {
        for (int n : kept) {
          auto* s = state_.find(keys::status(id, n));
          if (!s || model::parse<model::InstanceStatus>(s->value).memory_limit_mb != db.memory_mb)
            return false;
        }
        for (int n : added) {
          auto* s = state_.find(keys::status(id, n));
          if (!s) return false;
          auto status = model::parse<model::InstanceStatus>(s->value);
          if (status.state != model::InstanceState::healthy || !status.link_up) return false;
        }
        if (!db.address.empty()) {
          bool held = false;
          for (int n : kept)
            if (auto* s = state_.find(keys::status(id, n)))
              held |= model::parse<model::InstanceStatus>(s->value).holds_address == db.address;
          if (!held) return false;
        }
        return true;
      },
      options_.create_wait);
  co_return reply(applied ? 200 : 202, database_view(id));
}

asio::awaitable<http::Response> Api::delete_database(const std::string& ref) {
  std::string id = resolve(ref);
  if (id.empty()) co_return error(404, "database: no database named or with id '" + ref + "'");
  auto* kv = state_.find(keys::database(id));
  if (!kv) co_return error(404, "database: no database named or with id '" + ref + "'");
  auto db = model::parse<model::Database>(kv->value);
  std::vector<store::Compare> compares{
      store::Compare::mod_revision_is(keys::database(id), kv->mod_revision)};
  std::vector<store::Operation> ops{store::Operation::erase(keys::database(id)),
                                    store::Operation::erase(keys::name(db.name)),
                                    store::Operation::erase_prefix(usage::database_prefix(id))};
  bool host_alive = false;
  for (auto* akv : state_.under(keys::kAllocations)) {
    auto a = model::parse<model::Allocation>(akv->value);
    if (a.database_id != id) continue;
    ops.push_back(store::Operation::erase(akv->key));
    if (state_.find(keys::host(a.host))) host_alive = true;
  }
  auto result = co_await store_.txn(compares, ops);
  if (!result.succeeded) co_return error(409, "database: changed meanwhile; try again");
  co_await state_.wait_revision(result.revision, 5s);
  util::log("server: deleted database {} ({})", db.name, id);
  // Answer once the agent has removed the container and returned the address, so a
  // deleted database is gone for real; a host that is down cleans up when it returns.
  if (host_alive) {
    std::string owner_prefix = id + "/";
    co_await state_.wait_for(
        [&] {
          for (auto* a : state_.under(keys::kAddresses))
            if (a->value.starts_with(owner_prefix)) return false;
          return true;
        },
        20s);
  }
  http::Response r;
  r.status = 204;
  co_return r;
}

}  // namespace berth::api
