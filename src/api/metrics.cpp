// What the API tells of itself: health, Prometheus' scrape (/metrics) and its service
// discovery (/v1/sd/prometheus).
#include "api/handlers.hpp"
#include "api/respond.hpp"
#include "metrics/berth.hpp"

namespace berth::api::observe {

http::Response health(Context& c, const Request&) {
  return reply(200, {{"status", "ok"}, {"revision", c.state.revision()}});
}

http::Response metrics(Context& c, const Request&) {
  return berth::metrics::server_exposition(c.view);
}

http::Response service_discovery(Context& c, const Request&) {
  return reply(200, berth::metrics::service_discovery(c.state.items()));
}

}  // namespace berth::api::observe
