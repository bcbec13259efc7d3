// berth's own metrics: route patterns, operation names, the gauges computed from berth's state,
// service discovery and the failover clock. Pure: the state is built by hand.
#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "metrics/berth.hpp"

namespace berth::metrics {
namespace {

namespace keys = model::keys;

TEST(BerthMetricsRoutes, ApiRoutesArePatternsNeverRawPaths) {
  EXPECT_EQ(api_route("/v1/databases"), "/v1/databases");
  EXPECT_EQ(api_route("/v1/databases/cache"), "/v1/databases/{name}");
  EXPECT_EQ(api_route("/v1/databases/cache/backups"), "/v1/databases/{name}/backups");
  EXPECT_EQ(api_route("/v1/databases/cache/switchover"), "/v1/databases/{name}/switchover");
  EXPECT_EQ(api_route("/v1/tasks/abc123/cancel"), "/v1/tasks/{id}/cancel");
  EXPECT_EQ(api_route("/v1/backups/abc/data"), "/v1/backups/{id}/data");
  EXPECT_EQ(api_route("/v1/hosts/h1/drain"), "/v1/hosts/{name}/drain");
  EXPECT_EQ(api_route("/v1/engines/redis"), "/v1/engines/{name}");
  EXPECT_EQ(api_route("/v1/sd/prometheus"), "/v1/sd/prometheus");
  EXPECT_EQ(api_route("/v1/health"), "/v1/health");
  EXPECT_EQ(api_route("/metrics"), "/metrics");
  // Anything else is one series, whatever a scanner tries.
  EXPECT_EQ(api_route("/v1/databases/x/y/z"), "other");
  EXPECT_EQ(api_route("/v1/databases/x/random-junk"), "other");
  EXPECT_EQ(api_route("/v1/whatever"), "other");
  EXPECT_EQ(api_route("/wp-admin/login.php"), "other");
  EXPECT_EQ(api_route("/"), "other");
}

TEST(BerthMetricsRoutes, DockerOperations) {
  EXPECT_EQ(docker_op("GET", "/_ping"), "ping");
  EXPECT_EQ(docker_op("GET", "/v1.41/info"), "info");
  EXPECT_EQ(docker_op("GET", "/v1.41/containers/abc/json"), "container_inspect");
  EXPECT_EQ(docker_op("GET", "/v1.41/containers/json?all=true&filters=x"), "container_list");
  EXPECT_EQ(docker_op("POST", "/v1.41/containers/create?name=berth-x-0"), "container_create");
  EXPECT_EQ(docker_op("POST", "/v1.41/containers/abc/start"), "container_start");
  EXPECT_EQ(docker_op("POST", "/v1.41/containers/abc/stop?t=10"), "container_stop");
  EXPECT_EQ(docker_op("POST", "/v1.41/containers/abc/update"), "container_update");
  EXPECT_EQ(docker_op("DELETE", "/v1.41/containers/abc?force=true&v=true"), "container_remove");
  EXPECT_EQ(docker_op("GET", "/v1.41/containers/abc/archive?path=/data"), "archive_get");
  EXPECT_EQ(docker_op("PUT", "/v1.41/containers/abc/archive?path=/data"), "archive_put");
  EXPECT_EQ(docker_op("GET", "/v1.41/images/berth/redis:7.0.15/json"), "image_inspect");
  EXPECT_EQ(docker_op("POST", "/v1.41/images/create?fromImage=redis&tag=7"), "image_pull");
  EXPECT_EQ(docker_op("POST", "/v1.41/images/load"), "image_import");
  EXPECT_EQ(docker_op("GET", "/v1.41/networks/berth"), "network_inspect");
  EXPECT_EQ(docker_op("POST", "/v1.41/networks/create"), "network_create");
  EXPECT_EQ(docker_op("DELETE", "/v1.41/volumes/berth-x-0?force=true"), "volume_remove");
  EXPECT_EQ(docker_op("GET", "/v1.41/plugins"), "other");
}

// A little cluster: two live hosts and one that is down, a database with a replica, a cache
// whose host is down, and a few tasks.
class BerthMetricsState : public ::testing::Test {
 protected:
  void put(const std::string& key, const std::string& value) { state[key] = {key, value}; }

  void SetUp() override {
    model::Host h1{"h1", "10.0.0.1", 8LL << 30, 4, {{"zone", "a"}, {"rack.id", "r1"}}};
    h1.metrics_address = "10.0.0.1:7071";
    model::Host h2{"h2", "10.0.0.2", 4LL << 30, 2, {}};
    h2.metrics_address = "10.0.0.2:7071";
    put(keys::host("h1"), model::dump(h1));
    put(keys::host("h2"), model::dump(h2));
    model::HostSettings drain;
    drain.draining = true;
    put(keys::host_settings("h2"), model::dump(drain));
    put(keys::host_settings("h3"), model::dump(model::HostSettings{}));  // down

    model::Database db;
    db.id = "d1";
    db.name = "cache";
    db.engine = "redis";
    put(keys::database("d1"), model::dump(db));
    model::Allocation p{"d1", "cache", "default", 0, "h1", "10.1.0.2", 6379, "redis", "", 256};
    model::Allocation r = p;
    r.n = 1;
    r.host = "h2";
    r.role = model::Role::replica;
    put(keys::allocation("h1", "d1", 0), model::dump(p));
    put(keys::allocation("h2", "d1", 1), model::dump(r));
    model::InstanceStatus ps;
    ps.state = model::InstanceState::healthy;
    ps.role = model::Role::primary;
    ps.memory_used_bytes = 1234567;
    ps.memory_limit_mb = 256;
    ps.connections = 3;
    ps.operations = 42;
    ps.offset = 1000;
    model::InstanceStatus rs = ps;
    rs.role = model::Role::replica;
    rs.offset = 900;
    put(keys::status("h1", "d1", 0), model::dump(ps));
    put(keys::status("h2", "d1", 1), model::dump(rs));

    model::Database lost;
    lost.id = "d2";
    lost.name = "gone";
    lost.engine = "memcached";
    put(keys::database("d2"), model::dump(lost));
    model::Allocation l{"d2", "gone", "default", 0, "h3", "10.1.0.9", 11211, "memcached", "", 64};
    put(keys::allocation("h3", "d2", 0), model::dump(l));

    for (auto [id, kind, st] :
         {std::tuple{"t1", "backup", "done"}, std::tuple{"t2", "backup", "running"},
          std::tuple{"t3", "restore", "done"}}) {
      model::Task t;
      t.id = id;
      t.kind = model::from_name<model::TaskKind>(kind);
      t.state = model::from_name<model::TaskState>(st);
      put(keys::task(id), model::dump(t));
    }
    put(keys::server("10.0.0.1:7070"), model::dump(model::Server{"10.0.0.1:7070", ""}));
  }

  double gauge(const Registry& r, const std::string& name, const Labels& labels) {
    auto* g = r.find_gauge(name, labels);
    EXPECT_TRUE(g) << name;
    return g ? g->value() : -1;
  }

  State state;
};

TEST_F(BerthMetricsState, DatabasesInstancesTasksAndHosts) {
  Registry r;
  collect_cluster(r, state);
  EXPECT_EQ(gauge(r, "berth_databases", {{"state", "running"}}), 1);
  EXPECT_EQ(gauge(r, "berth_databases", {{"state", "degraded"}}), 1);
  EXPECT_EQ(gauge(r, "berth_databases", {{"state", "pending"}}), 0);
  EXPECT_EQ(gauge(r, "berth_instances", {{"state", "healthy"}, {"role", "primary"}}), 1);
  EXPECT_EQ(gauge(r, "berth_instances", {{"state", "healthy"}, {"role", "replica"}}), 1);
  EXPECT_EQ(gauge(r, "berth_instances", {{"state", "unknown"}, {"role", "primary"}}), 1);
  EXPECT_EQ(gauge(r, "berth_instances", {{"state", "failed"}, {"role", "replica"}}), 0);
  EXPECT_EQ(gauge(r, "berth_tasks", {{"kind", "backup"}, {"state", "done"}}), 1);
  EXPECT_EQ(gauge(r, "berth_tasks", {{"kind", "backup"}, {"state", "running"}}), 1);
  EXPECT_EQ(gauge(r, "berth_tasks", {{"kind", "restore"}, {"state", "failed"}}), 0);
  EXPECT_EQ(gauge(r, "berth_host_up", {{"host", "h1"}, {"state", "alive"}}), 1);
  EXPECT_EQ(gauge(r, "berth_host_up", {{"host", "h2"}, {"state", "draining"}}), 1);
  EXPECT_EQ(gauge(r, "berth_host_up", {{"host", "h3"}, {"state", "down"}}), 0);
  EXPECT_EQ(gauge(r, "berth_host_memory_capacity_bytes", {{"host", "h1"}}), 8LL << 30);
  EXPECT_EQ(gauge(r, "berth_host_memory_used_bytes", {{"host", "h1"}}), 256LL << 20);
  EXPECT_EQ(gauge(r, "berth_host_memory_used_bytes", {{"host", "h3"}}), 64LL << 20);
  EXPECT_EQ(r.find_gauge("berth_host_memory_capacity_bytes", {{"host", "h3"}}), nullptr);
  EXPECT_EQ(gauge(r, "berth_servers", {}), 1);
}

TEST_F(BerthMetricsState, InstanceFiguresWithEveryLabel) {
  Registry r;
  collect_cluster(r, state);
  Labels primary{{"database", "cache"}, {"database_id", "d1"}, {"project", "default"},
                 {"instance", "0"},     {"host", "h1"},        {"engine", "redis"},
                 {"role", "primary"}};
  Labels replica = primary;
  replica["instance"] = "1";
  replica["host"] = "h2";
  replica["role"] = "replica";
  EXPECT_EQ(gauge(r, "berth_instance_memory_used_bytes", primary), 1234567);
  EXPECT_EQ(gauge(r, "berth_instance_memory_limit_bytes", primary), 256LL << 20);
  EXPECT_EQ(gauge(r, "berth_instance_connections", primary), 3);
  EXPECT_EQ(r.find_counter("berth_instance_operations_total", primary)->value(), 42);
  EXPECT_EQ(gauge(r, "berth_instance_replication_offset", replica), 900);
  EXPECT_EQ(gauge(r, "berth_instance_replication_lag_bytes", replica), 100);
  EXPECT_EQ(gauge(r, "berth_instance_replication_lag_bytes", primary), 0);
  EXPECT_EQ(gauge(r, "berth_instance_up", primary), 1);
}

// Every line of the exposition is a comment or NAME{LABELS} VALUE, every family has its HELP
// and TYPE before its samples, and no series appears twice.
TEST_F(BerthMetricsState, RendersValidExposition) {
  Registry r;
  observe_api_request("GET", "/v1/databases/cache", 200, 0.01);
  r = global();
  collect_cluster(r, state);
  std::string text = r.render();
  std::regex sample(
      R"re(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? (-?[0-9.e+]+|\+Inf|-Inf|NaN))re");
  std::regex comment(R"(# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) .*)");
  std::set<std::string> typed, seen;
  std::istringstream lines(text);
  std::string line;
  int samples = 0;
  while (std::getline(lines, line)) {
    std::smatch m;
    if (std::regex_match(line, m, comment)) {
      if (m[1] == "TYPE") typed.insert(m[2]);
      continue;
    }
    ASSERT_TRUE(std::regex_match(line, m, sample)) << line;
    std::string family = m[1];
    for (auto suffix : {"_bucket", "_sum", "_count"})
      if (!typed.count(family) && family.ends_with(suffix))
        family = family.substr(0, family.size() - std::string(suffix).size());
    EXPECT_TRUE(typed.count(family)) << line;
    EXPECT_TRUE(seen.insert(line.substr(0, line.rfind(' '))).second) << "twice: " << line;
    ++samples;
  }
  EXPECT_GT(samples, 40);
  EXPECT_NE(text.find("berth_api_request_duration_seconds_count{code=\"200\",method=\"GET\","
                      "route=\"/v1/databases/{name}\"}"),
            std::string::npos);
}

TEST_F(BerthMetricsState, ServiceDiscoveryListsAgentsAndServers) {
  auto groups = service_discovery(state);
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0]["targets"], nlohmann::json::array({"10.0.0.1:7071"}));
  EXPECT_EQ(groups[0]["labels"]["berth_role"], "agent");
  EXPECT_EQ(groups[0]["labels"]["berth_host"], "h1");
  EXPECT_EQ(groups[0]["labels"]["berth_label_zone"], "a");
  EXPECT_EQ(groups[0]["labels"]["berth_label_rack_id"], "r1");
  EXPECT_EQ(groups[1]["labels"]["berth_host"], "h2");
  EXPECT_EQ(groups[2]["targets"], nlohmann::json::array({"10.0.0.1:7070"}));
  EXPECT_EQ(groups[2]["labels"]["berth_role"], "server");
  // An agent without a metrics listener is left out.
  auto h2 = model::parse<model::Host>(state[keys::host("h2")].value);
  h2.metrics_address.clear();
  put(keys::host("h2"), model::dump(h2));
  EXPECT_EQ(service_discovery(state).size(), 2u);
}

TEST(BerthMetricsFailover, TimedFromDecisionUntilTheNewPrimaryServes) {
  auto count = [] {
    auto* h = global().find_histogram("berth_failover_duration_seconds");
    return h ? h->count() : 0;
  };
  auto* counter = &global().counter("berth_failovers_total", "");
  double failovers = counter->value();
  uint64_t before = count();
  double sum_before = global().find_histogram("berth_failover_duration_seconds")
                          ? global().find_histogram("berth_failover_duration_seconds")->sum()
                          : 0;
  failover_committed("dbx", 4, std::chrono::steady_clock::now() - std::chrono::seconds(2));
  EXPECT_EQ(counter->value(), failovers + 1);

  std::map<std::string, model::InstanceStatus> statuses;
  model::InstanceStatus old_primary;
  old_primary.state = model::InstanceState::healthy;
  old_primary.role = model::Role::primary;
  old_primary.epoch = 4;  // still the old epoch: not yet
  statuses["dbx/0"] = old_primary;
  model::InstanceStatus replica = old_primary;
  replica.role = model::Role::replica;
  replica.epoch = 5;  // the new epoch, but not promoted yet
  statuses["dbx/1"] = replica;
  failovers_progress(statuses);
  EXPECT_EQ(count(), before);

  statuses["dbx/1"].role = model::Role::primary;
  failovers_progress(statuses);
  EXPECT_EQ(count(), before + 1);
  double took = global().find_histogram("berth_failover_duration_seconds")->sum() - sum_before;
  EXPECT_GE(took, 2.0);
  EXPECT_LT(took, 60.0);
  failovers_progress(statuses);  // observed once only
  EXPECT_EQ(count(), before + 1);
}

}  // namespace
}  // namespace berth::metrics
