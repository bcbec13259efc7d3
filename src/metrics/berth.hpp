// berth's own metrics: their names, the hooks the API, the etcd and Docker clients and the
// controller call to measure as they go (into metrics::global()), and the gauges computed at
// scrape time from berth's state. Everything Prometheus reads of berth is named here.
#pragma once

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "http/http.hpp"
#include "metrics/metrics.hpp"
#include "model/model.hpp"
#include "store/mirror.hpp"

namespace berth::state {
class View;
}

namespace berth::metrics {

// ---- Measured as it happens ------------------------------------------------------------

// The route pattern of an API path, never the raw path: "/v1/databases/{name}". Paths the
// router does not know are "other", so a scanner cannot make series without end.
std::string api_route(std::string_view path);
// The metrics label of a request method: the method when HTTP defines it, else "other".
std::string_view api_method(std::string_view method);
// berth_api_request_duration_seconds{method,route,code}.
void observe_api_request(const std::string& method, const std::string& path, int status,
                         double seconds);

// berth_etcd_request_duration_seconds{op}: given to every etcd client (EtcdStore::set_observer).
store::Observer& etcd_timings();

// The Docker Engine API call a request makes: container_inspect, container_start, image_pull...
// (target without the /v1.41 prefix is fine too).
std::string docker_op(std::string_view method, std::string_view target);
// berth_docker_request_duration_seconds{op} for that request.
Histogram& docker_request_histogram(std::string_view method, std::string_view target);

// Failovers, counted (berth_failovers_total) when the leader commits one and timed
// (berth_failover_duration_seconds) from its decision that the primary is lost until an agent
// reports the promoted replica as a healthy primary under the new epoch. epoch_before is the
// database's epoch the decision was made on.
void failover_committed(const std::string& database_id, int64_t epoch_before,
                        std::chrono::steady_clock::time_point decided);
// Called with the instance statuses ("id/n" -> status) whenever the leader looks at them:
// ends the clocks of the failovers whose new primary serves. Gives up on one after 10 minutes.
void failovers_progress(const std::map<std::string, model::InstanceStatus>& statuses);

// ---- Computed at scrape time -----------------------------------------------------------

// Databases, instances, tasks, hosts and every instance's figures, from berth's state (a
// mirror's items: key -> record).
using State = store::Items;
void collect_cluster(Registry& out, const state::View& state);
void collect_cluster(Registry& out, const State& items);  // decodes items into a View first
// One instance's gauges (berth_instance_*), labelled database, database_id, instance, host,
// engine, role. primary_offset >= 0 adds berth_instance_replication_lag_bytes.
void collect_instance(Registry& out, const model::Allocation& allocation,
                      const model::InstanceStatus& status, int64_t primary_offset = -1);

// A /metrics answer: the body in the text format with its content type.
http::Response exposition(const Registry& registry);
// A server's /metrics: the process's registry and the cluster's gauges.
http::Response server_exposition(const state::View& state);

// Prometheus HTTP service discovery: a target group for every live agent with a metrics
// address and for every server that announces itself.
nlohmann::json service_discovery(const State& state);

}  // namespace berth::metrics
