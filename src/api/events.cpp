// /v1/events: what happened, from the mirror, with a long poll to follow it.
#include "events/events.hpp"

#include <algorithm>

#include "api/handlers.hpp"
#include "api/respond.hpp"
#include "api/scope.hpp"

namespace berth::api::events {

using nlohmann::json;

Reply list(Context& c, const Request& request) {
  auto param = [&](const char* name) {
    auto it = request.query.find(name);
    return it == request.query.end() ? std::string() : it->second;
  };
  std::string database = param("database");
  std::string database_id;
  if (!database.empty()) database_id = resolve(c, request, database);
  if (database_id.empty()) database_id = database;  // a deleted one: by its id or name
  std::string after = param("after");
  std::string kind = param("kind");
  size_t limit = 100;
  if (auto l = param("limit"); !l.empty()) {
    if (l.size() > 5 || l.find_first_not_of("0123456789") != std::string::npos || l == "0")
      co_return error(400, "limit: '" + l + "' is not a number from 1 to 10000");
    limit = std::min<size_t>(std::stoul(l), berth::events::kMaxEvents);
  }
  int wait = 0;
  if (auto w = param("wait"); !w.empty()) wait = std::clamp(std::atoi(w.c_str()), 0, 60);
  // ?follow=1: what happens from now on (or after ?after), waiting up to ?wait (30 s) for it.
  if (auto f = param("follow"); f == "1" || f == "true") {
    if (param("wait").empty()) wait = 30;
    if (after.empty()) {
      auto all = c.state.under(berth::events::kPrefix);
      after = all.empty() ? "0" : all.back()->key.substr(berth::events::kPrefix.size());
    }
  }

  auto matching = [&] {
    std::vector<berth::events::Event> out;
    auto all = c.state.under(berth::events::kPrefix);
    // Newest first until the limit, then back to oldest first.
    for (auto it = all.rbegin(); it != all.rend() && out.size() < limit; ++it) {
      std::string id = (*it)->key.substr(berth::events::kPrefix.size());
      if (!after.empty() && id <= after) break;
      auto e = json::parse((*it)->value).get<berth::events::Event>();
      if (!database.empty() &&
          (e.database.empty() || (e.database != database_id && e.name != database)))
        continue;
      if (!kind.empty() && !e.kind.starts_with(kind)) continue;
      if (!shown(request, e.project)) continue;  // a host's events: operators only
      out.push_back(std::move(e));
    }
    std::reverse(out.begin(), out.end());
    return out;
  };
  auto found = matching();
  if (found.empty() && wait > 0) {
    std::function<bool()> arrived = [&] { return !matching().empty(); };
    co_await c.state.wait_for(arrived, std::chrono::seconds(wait));
    found = matching();
  }
  // "after": what to pass as ?after to follow on from here.
  std::string next = found.empty() ? after : found.back().id;
  co_return reply(200, json{{"events", found}, {"after", next}, {"revision", c.state.revision()}});
}

}  // namespace berth::api::events
