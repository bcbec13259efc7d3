#include "metrics/berth.hpp"

#include <set>
#include <vector>

#include "api/routes.hpp"
#include "state/view.hpp"

namespace berth::metrics {

namespace keys = model::keys;
using nlohmann::json;

namespace {

constexpr double kMiB = 1024.0 * 1024.0;

std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    auto slash = path.find('/');
    auto part = path.substr(0, slash);
    if (!part.empty()) out.push_back(part);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

using store::find;
using store::under;

bool one_of(std::string_view s, std::initializer_list<std::string_view> set) {
  for (auto x : set)
    if (s == x) return true;
  return false;
}

}  // namespace

std::string api_route(std::string_view path) {
  // The API's route table is the one list of routes: its patterns are the labels.
  return std::string(api::route_label(path));
}

std::string_view api_method(std::string_view method) {
  // A client can send any token as a method: only HTTP's own become labels.
  static constexpr std::string_view known[] = {"GET",    "HEAD",    "POST",  "PUT",
                                               "DELETE", "OPTIONS", "PATCH", "TRACE"};
  for (auto k : known)
    if (k == method) return k;
  return "other";
}

void observe_api_request(const std::string& method, const std::string& path, int status,
                         double seconds) {
  global()
      .histogram("berth_api_request_duration_seconds",
                 "Time to answer an API request, by route pattern and status code.",
                 latency_buckets(),
                 {{"method", std::string(api_method(method))},
                  {"route", api_route(path)},
                  {"code", std::to_string(status)}})
      .observe(seconds);
}

namespace {
class EtcdTimings : public store::Observer {
 public:
  void operation(std::string_view op, double seconds) override {
    global()
        .histogram("berth_etcd_request_duration_seconds",
                   "Time of one etcd request (through its gateway), by operation.",
                   latency_buckets(), {{"op", std::string(op)}})
        .observe(seconds);
  }
};
}  // namespace

store::Observer& etcd_timings() {
  static EtcdTimings timings;
  return timings;
}

std::string docker_op(std::string_view method, std::string_view target) {
  target = target.substr(0, target.find('?'));
  if (target.starts_with("/v1.")) {
    auto slash = target.find('/', 1);
    target = slash == std::string_view::npos ? std::string_view() : target.substr(slash);
  }
  auto parts = segments(target);
  if (parts.empty()) return "other";
  std::string_view kind = parts[0];
  if (parts.size() == 1) {
    if (one_of(kind, {"_ping", "version", "info", "events"}))
      return kind == "_ping" ? "ping" : std::string(kind);
    return "other";
  }
  std::string noun = kind == "containers" ? "container"
                     : kind == "images"   ? "image"
                     : kind == "networks" ? "network"
                     : kind == "volumes"  ? "volume"
                                          : "";
  if (noun.empty()) return "other";
  if (noun == "image") {
    // Image names hold slashes: only the first and last segments say what the call is.
    if (parts[1] == "create") return "image_pull";
    if (parts.size() == 2 && one_of(parts[1], {"load", "json"}))
      return parts[1] == "load" ? "image_import" : "image_list";
    if (parts.size() >= 3 && parts.back() == "json") return "image_inspect";
    if (method == "DELETE") return "image_remove";
    return "image_other";
  }
  if (parts.size() == 2) {
    if (parts[1] == "create") return noun + "_create";
    if (parts[1] == "json" && noun == "container") return "container_list";
    if (method == "DELETE") return noun + "_remove";
    if (method == "GET") return noun + "_inspect";
    return noun + "_other";
  }
  std::string_view verb = parts[2];
  if (verb == "json") return noun + "_inspect";
  if (verb == "archive") return method == "GET" ? "archive_get" : "archive_put";
  if (one_of(verb, {"start", "stop", "kill", "wait", "update", "logs", "restart", "exec", "connect",
                    "disconnect"}))
    return noun + "_" + std::string(verb);
  return noun + "_other";
}

Histogram& docker_request_histogram(std::string_view method, std::string_view target) {
  return global().histogram("berth_docker_request_duration_seconds",
                            "Time of one Docker Engine API request, by operation.",
                            latency_buckets(), {{"op", docker_op(method, target)}});
}

// ---- Failovers ---------------------------------------------------------------------------

namespace {

struct PendingFailover {
  int64_t epoch_before = 0;
  std::chrono::steady_clock::time_point decided;
};

std::map<std::string, PendingFailover>& pending_failovers() {
  static std::map<std::string, PendingFailover> pending;
  return pending;
}

Histogram& failover_histogram() {
  static const std::vector<double> buckets{0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 30, 60, 120};
  return global().histogram(
      "berth_failover_duration_seconds",
      "Time from the leader's decision that a primary is lost to its replica serving as primary.",
      buckets);
}

Counter& failover_counter() {
  return global().counter("berth_failovers_total",
                          "Failovers committed by this server while it led (a replica promoted).");
}

}  // namespace

void failover_committed(const std::string& database_id, int64_t epoch_before,
                        std::chrono::steady_clock::time_point decided) {
  failover_counter().inc();
  pending_failovers()[database_id] = {epoch_before, decided};
}

void failovers_progress(const std::map<std::string, model::InstanceStatus>& statuses) {
  auto& pending = pending_failovers();
  auto now = std::chrono::steady_clock::now();
  for (auto it = pending.begin(); it != pending.end();) {
    bool done = false;
    std::string prefix = it->first + "/";
    for (auto s = statuses.lower_bound(prefix); s != statuses.end() && s->first.starts_with(prefix);
         ++s)
      if (s->second.role == model::Role::primary &&
          s->second.state == model::InstanceState::healthy &&
          s->second.epoch > it->second.epoch_before)
        done = true;
    if (done) failover_histogram().observe(ScopedTimer::seconds_since(it->second.decided));
    if (done || now - it->second.decided > std::chrono::minutes(10))
      it = pending.erase(it);
    else
      ++it;
  }
}

// ---- Scrape time -------------------------------------------------------------------------

void collect_instance(Registry& out, const model::Allocation& a, const model::InstanceStatus& s,
                      int64_t primary_offset) {
  Labels labels{{"database", a.database_name},
                {"database_id", a.database_id},
                {"project", a.project},
                {"instance", std::to_string(a.n)},
                {"host", a.host},
                {"engine", a.engine},
                {"role", model::to_string(a.role)}};
  out.gauge("berth_instance_up", "1 when the instance's agent finds it healthy.", labels)
      .set(s.state == model::InstanceState::healthy ? 1 : 0);
  out.gauge("berth_instance_memory_used_bytes", "Memory the engine reports in use.", labels)
      .set(static_cast<double>(s.memory_used_bytes));
  int64_t limit_mb = s.memory_limit_mb > 0 ? s.memory_limit_mb : a.memory_mb;
  out.gauge("berth_instance_memory_limit_bytes",
            "The instance's memory limit (container and engine).", labels)
      .set(static_cast<double>(limit_mb) * kMiB);
  out.gauge("berth_instance_connections", "Clients connected, as the engine counts them.", labels)
      .set(static_cast<double>(s.connections));
  out.counter("berth_instance_operations_total",
              "Commands served since the engine started (resets when it restarts).", labels)
      .inc(static_cast<double>(std::max<int64_t>(0, s.operations)));
  out.counter("berth_instance_restarts_total", "Container restarts its agent has seen.", labels)
      .inc(static_cast<double>(std::max(0, s.restarts)));
  out.gauge("berth_instance_replication_offset", "Replication offset the engine reports.", labels)
      .set(static_cast<double>(s.offset));
  if (primary_offset >= 0)
    out.gauge("berth_instance_replication_lag_bytes",
              "How far a replica is behind its primary's offset (0 for the primary).", labels)
        .set(a.role == model::Role::primary
                 ? 0
                 : static_cast<double>(std::max<int64_t>(0, primary_offset - s.offset)));
}

void collect_cluster(Registry& out, const State& items) {
  state::View view;
  view.reset(items);
  collect_cluster(out, view);
}

void collect_cluster(Registry& out, const state::View& state) {
  // Every state a query may look for is there, at zero when nothing is in it.
  std::map<std::string, int> databases{
      {"pending", 0}, {"starting", 0}, {"running", 0}, {"degraded", 0}};
  std::map<std::pair<std::string, std::string>, int> instances;  // (state, role)
  for (auto* st : {"pending", "starting", "healthy", "unhealthy", "failed", "unknown"})
    for (auto* role : {"primary", "replica"}) instances[{st, role}] = 0;

  for (auto& [id, db] : state.databases()) {
    auto own = state.allocations_of(id);
    int healthy = 0;
    bool bad = false;
    int64_t primary_offset = -1;
    if (auto* primary = state.primary_of(id))
      if (auto* s = state.status(id, primary->value.n)) primary_offset = s->value.offset;
    for (auto* record : own) {
      auto& a = record->value;
      std::string instance_state = "pending";
      if (auto* s = state.status(id, a.n)) {
        instance_state = s->value.state == model::InstanceState::none
                             ? "starting"
                             : model::to_string(s->value.state);
        collect_instance(out, a, s->value, primary_offset);
      } else if (!state.host(a.host)) {
        instance_state = "unknown";  // its host is not reporting
      }
      ++instances[{instance_state, model::to_string(a.role)}];
      if (instance_state == "healthy") ++healthy;
      if (instance_state == "unhealthy" || instance_state == "failed" ||
          instance_state == "unknown")
        bad = true;
    }
    int total = static_cast<int>(own.size());
    ++databases[total == 0         ? "pending"
                : healthy == total ? "running"
                : bad              ? "degraded"
                                   : "starting"];
  }
  for (auto& [st, n] : databases)
    out.gauge("berth_databases", "Databases by state.", {{"state", st}}).set(n);
  for (auto& [key, n] : instances)
    out.gauge("berth_instances", "Instances by state and role.",
              {{"state", key.first}, {"role", key.second}})
        .set(n);

  std::map<std::pair<std::string, std::string>, int> tasks;  // (kind, state)
  for (auto* kind : {"backup", "restore"})
    for (auto* st : {"pending", "running", "done", "failed", "cancelled"}) tasks[{kind, st}] = 0;
  for (auto& [id, t] : state.tasks())
    ++tasks[{model::to_string(t.value.kind), model::to_string(t.value.state)}];
  for (auto& [key, n] : tasks)
    out.gauge("berth_tasks", "Tasks by kind and state.",
              {{"kind", key.first}, {"state", key.second}})
        .set(n);

  // Hosts: those registered now and those known from their settings (down when unregistered).
  std::set<std::string> hosts;
  for (auto& [name, h] : state.hosts()) hosts.insert(name);
  for (auto& [name, settings] : state.host_settings()) hosts.insert(name);
  for (auto& name : hosts) {
    auto* settings = state.host_settings(name);
    auto* host = state.host(name);
    std::string st = model::host_state(host != nullptr, settings && settings->value.draining);
    out.gauge("berth_host_up", "1 while the host's agent holds its registration.",
              {{"host", name}, {"state", st}})
        .set(host ? 1 : 0);
    int64_t allocated_mb = 0;
    auto placed = state.allocations_on(name);
    for (auto* a : placed) allocated_mb += a->value.memory_mb;
    out.gauge("berth_host_memory_used_bytes", "Memory allocated to instances on the host.",
              {{"host", name}})
        .set(static_cast<double>(allocated_mb) * kMiB);
    out.gauge("berth_host_instances", "Instances placed on the host.", {{"host", name}})
        .set(static_cast<double>(placed.size()));
    if (host)
      out.gauge("berth_host_memory_capacity_bytes", "Memory the host offers to databases.",
                {{"host", name}})
          .set(static_cast<double>(host->value.memory_bytes));
  }
  out.gauge("berth_servers", "berth servers announcing themselves.")
      .set(static_cast<double>(state.servers().size()));
}

http::Response exposition(const Registry& registry) {
  http::Response r;
  r.status = 200;
  r.content_type = kContentType;
  r.body = registry.render();
  return r;
}

http::Response server_exposition(const state::View& state) {
  // Failovers show at zero before the first, so rates and alerts have a series to work on.
  failover_counter();
  failover_histogram();
  Registry scrape = global();
  collect_cluster(scrape, state);
  return exposition(scrape);
}

json service_discovery(const State& state) {
  json groups = json::array();
  for (auto* kv : under(state, keys::kHosts)) {
    auto host = model::parse<model::Host>(kv->value);
    if (host.metrics_address.empty()) continue;
    json labels = {{"berth_role", "agent"}, {"berth_host", host.name}};
    for (auto& [k, v] : host.labels) labels["berth_label_" + sanitize_label_name(k)] = v;
    // A joined host's agent speaks HTTPS (Prometheus' tls_config names the cluster CA).
    if (host.metrics_tls) labels["__scheme__"] = "https";
    groups.push_back({{"targets", json::array({host.metrics_address})}, {"labels", labels}});
  }
  for (auto* kv : under(state, keys::kServers)) {
    auto server = model::parse<model::Server>(kv->value);
    if (server.address.empty()) continue;
    groups.push_back({{"targets", json::array({server.address})},
                      {"labels", {{"berth_role", "server"}, {"berth_server", server.address}}}});
  }
  return groups;
}

}  // namespace berth::metrics
