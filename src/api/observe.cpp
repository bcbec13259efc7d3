// What the API tells of the past: usage points (read from etcd on demand, outside the
// mirror) and events (from the mirror, with a long poll to follow them).
#include <boost/asio/use_awaitable.hpp>
#include <ctime>

#include "api/api.hpp"
#include "api/respond.hpp"
#include "controller/tasks.hpp"
#include "events/events.hpp"
#include "model/model.hpp"
#include "usage/usage.hpp"

namespace berth::api {

namespace asio = boost::asio;
using nlohmann::json;

asio::awaitable<http::Response> Api::get_usage(const std::string& ref,
                                               const http::ServerRequest& request) {
  std::string id = resolve(ref);
  if (id.empty()) co_return error(404, "database: no database named or with id '" + ref + "'");
  std::string range_text = "1h";
  if (auto r = request.query.find("range"); r != request.query.end()) range_text = r->second;
  auto range = usage::parse_range(range_text);
  if (!range || *range > usage::kCoarseKeep)
    co_return error(
        400, "range: '" + range_text + "' is not a span like 15m, 1h, 6h, 24h or 7d (at most 7d)");
  // Read before the wait: the database may be deleted meanwhile.
  std::string name =
      model::parse<model::Database>(state_.find(model::keys::database(id))->value).name;
  auto tier = usage::tier_for(*range, options_.usage_step);
  int64_t now = std::time(nullptr);
  auto result = co_await store_.get_range(usage::key(id, tier, now - *range),
                                          store::prefix_end(usage::tier_prefix(id, tier)));
  json points = json::array();
  for (auto& kv : result.kvs) {
    auto point = json::parse(kv.value).get<usage::Point>();
    json p = point;
    p["time"] = controller::format_time(point.time);
    points.push_back(std::move(p));
  }
  int64_t step =
      tier == usage::Tier::Fine ? options_.usage_step : options_.usage_step * usage::kRollupFactor;
  co_return reply(200, json{{"database", id},
                            {"name", name},
                            {"range", range_text},
                            {"step_seconds", step},
                            {"points", points}});
}

asio::awaitable<http::Response> Api::list_events(const http::ServerRequest& request) {
  auto param = [&](const char* name) {
    auto it = request.query.find(name);
    return it == request.query.end() ? std::string() : it->second;
  };
  std::string database = param("database");
  std::string database_id;
  if (!database.empty()) database_id = resolve(database);
  if (database_id.empty()) database_id = database;  // a deleted one: by its id or name
  std::string after = param("after");
  std::string kind = param("kind");
  size_t limit = 100;
  if (auto l = param("limit"); !l.empty()) {
    if (l.size() > 5 || l.find_first_not_of("0123456789") != std::string::npos || l == "0")
      co_return error(400, "limit: '" + l + "' is not a number from 1 to 10000");
    limit = std::min<size_t>(std::stoul(l), events::kMaxEvents);
  }
  int wait = 0;
  if (auto w = param("wait"); !w.empty()) wait = std::clamp(std::atoi(w.c_str()), 0, 60);
  // ?follow=1: what happens from now on (or after ?after), waiting up to ?wait (30 s) for it.
  if (auto f = param("follow"); f == "1" || f == "true") {
    if (param("wait").empty()) wait = 30;
    if (after.empty()) {
      auto all = state_.under(events::kPrefix);
      after = all.empty() ? "0" : all.back()->key.substr(events::kPrefix.size());
    }
  }

  auto matching = [&] {
    std::vector<events::Event> out;
    auto all = state_.under(events::kPrefix);
    // Newest first until the limit, then back to oldest first.
    for (auto it = all.rbegin(); it != all.rend() && out.size() < limit; ++it) {
      std::string id = (*it)->key.substr(events::kPrefix.size());
      if (!after.empty() && id <= after) break;
      auto e = json::parse((*it)->value).get<events::Event>();
      if (!database.empty() &&
          (e.database.empty() || (e.database != database_id && e.name != database)))
        continue;
      if (!kind.empty() && !e.kind.starts_with(kind)) continue;
      out.push_back(std::move(e));
    }
    std::reverse(out.begin(), out.end());
    return out;
  };
  auto found = matching();
  if (found.empty() && wait > 0) {
    std::function<bool()> arrived = [&] { return !matching().empty(); };
    co_await state_.wait_for(arrived, std::chrono::seconds(wait));
    found = matching();
  }
  // "after": what to pass as ?after to follow on from here.
  std::string next = found.empty() ? after : found.back().id;
  co_return reply(200, json{{"events", found}, {"after", next}, {"revision", state_.revision()}});
}

}  // namespace berth::api
