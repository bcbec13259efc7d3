// /v1/databases/{name}/usage: usage points, read from etcd on demand (outside the mirror).
#include "usage/usage.hpp"

#include <ctime>

#include "api/handlers.hpp"
#include "api/respond.hpp"
#include "api/scope.hpp"
#include "controller/tasks.hpp"

namespace berth::api::usage {

using nlohmann::json;

Reply get(Context& c, const Request& request, const DatabaseRef& ref) {
  std::string id = resolve(c, request, ref.value);
  if (id.empty()) co_return error(404, no_database(ref.value));
  std::string range_text = "1h";
  if (auto r = request.query.find("range"); r != request.query.end()) range_text = r->second;
  auto range = berth::usage::parse_range(range_text);
  if (!range || *range > berth::usage::kCoarseKeep)
    co_return error(
        400, "range: '" + range_text + "' is not a span like 15m, 1h, 6h, 24h or 7d (at most 7d)");
  // Read before the wait: the database may be deleted meanwhile.
  std::string name =
      model::parse<model::Database>(c.state.find(model::keys::database(id))->value).name;
  auto tier = berth::usage::tier_for(*range, c.options.usage_step);
  int64_t now = std::time(nullptr);
  auto result = co_await c.store.get_range(berth::usage::key(id, tier, now - *range),
                                           store::prefix_end(berth::usage::tier_prefix(id, tier)));
  json points = json::array();
  for (auto& kv : result.kvs) {
    auto point = json::parse(kv.value).get<berth::usage::Point>();
    json p = point;
    p["time"] = controller::format_time(point.time);
    points.push_back(std::move(p));
  }
  int64_t step = tier == berth::usage::Tier::Fine
                     ? c.options.usage_step
                     : c.options.usage_step * berth::usage::kRollupFactor;
  co_return reply(200, json{{"database", id},
                            {"name", name},
                            {"range", range_text},
                            {"step_seconds", step},
                            {"points", points}});
}

}  // namespace berth::api::usage
