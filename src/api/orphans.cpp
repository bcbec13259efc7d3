// /v1/orphans: volumes kept on hosts after their instances left them, and removing one. The
// host's agent removes the volume; the API only asks it to.
#include <algorithm>

#include "api/handlers.hpp"
#include "api/respond.hpp"
#include "util/log.hpp"

namespace berth::api::orphans {

namespace keys = model::keys;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const store::KeyValue* find(const Context& c, const std::string& id) {
  for (auto* kv : c.state.under(keys::kOrphans))
    if (kv->key.ends_with("/" + id)) return kv;
  return nullptr;
}

}  // namespace

http::Response list(Context& c, const Request&) {
  std::vector<model::Orphan> all;
  for (auto* kv : c.state.under(keys::kOrphans))
    all.push_back(model::parse<model::Orphan>(kv->value));
  std::sort(all.begin(), all.end(), [](const model::Orphan& a, const model::Orphan& b) {
    return a.since != b.since ? a.since < b.since : a.id < b.id;
  });
  return reply(200, json(all));
}

Reply remove(Context& c, const Request&, const OrphanId& orphan) {
  auto* kv = find(c, orphan.value);
  if (!kv) co_return error(404, "orphan: no orphan with id '" + orphan.value + "'");
  auto o = model::parse<model::Orphan>(kv->value);
  std::string key = kv->key;
  if (!o.remove_requested) {
    o.remove_requested = true;
    std::vector<store::Compare> unchanged{store::Compare::mod_revision_is(key, kv->mod_revision)};
    std::vector<store::Operation> put{store::Operation::put(key, model::dump(o))};
    auto result = co_await c.store.txn(unchanged, put);
    if (!result.succeeded) co_return error(409, "orphan: changed meanwhile; try again");
    co_await c.state.wait_revision(result.revision, 5s);
    util::log("server: orphan {} ({} on {}) to be removed", o.id, o.volume, o.host);
  }
  // Gone once its host's agent has removed the volume; a host that is down does it when back.
  // (No co_await inside && : g++ 12 fails on it.)
  bool gone = false;
  if (c.state.find(keys::host(o.host)))
    gone = co_await c.state.wait_for([&] { return !c.state.find(key); }, 20s);
  http::Response response;
  response.status = gone ? 204 : 202;
  if (!gone) response.body = json(o).dump();
  co_return response;
}

}  // namespace berth::api::orphans
