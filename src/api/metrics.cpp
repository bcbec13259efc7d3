// What the API tells of itself: health, Prometheus' scrape (/metrics) and its service
// discovery (/v1/sd/prometheus).
#include "api/handlers.hpp"
#include "api/respond.hpp"
#include "metrics/berth.hpp"
#include "model/model.hpp"

namespace berth::api::observe {

http::Response health(Context& c, const Request&) {
  nlohmann::json out{{"status", "ok"}, {"revision", c.state.revision()}};
  // Degraded, still serving: etcd fills up and will soon refuse every write.
  if (auto* kv = c.state.find(model::keys::kEtcdHealth)) {
    auto etcd = model::parse<model::EtcdHealth>(kv->value);
    out["etcd"] = etcd;
    if (etcd.filling) out["status"] = "degraded";
  }
  return reply(200, out);
}

http::Response metrics(Context& c, const Request&) {
  return berth::metrics::server_exposition(c.view);
}

http::Response service_discovery(Context& c, const Request&) {
  return reply(200, berth::metrics::service_discovery(c.state.items()));
}

}  // namespace berth::api::observe
