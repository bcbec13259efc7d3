// /v1/hosts: the hosts, and draining one (its instances move away) or taking it back.
#include "api/handlers.hpp"
#include "api/respond.hpp"
#include "util/log.hpp"

namespace berth::api::hosts {

namespace asio = boost::asio;
namespace keys = model::keys;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

Reply set_draining(Context& c, std::string name, bool drain) {
  auto* kv = c.state.find(keys::host_settings(name));
  if (!kv && !c.state.find(keys::host(name)))
    co_return error(404, "host: no host named '" + name + "'");
  model::HostSettings settings;
  if (kv) settings = model::parse<model::HostSettings>(kv->value);
  settings.draining = drain;
  std::vector<store::Compare> unchanged;
  if (kv) unchanged.push_back(store::Compare::mod_revision_is(kv->key, kv->mod_revision));
  std::vector<store::Operation> put{
      store::Operation::put(keys::host_settings(name), model::dump(settings))};
  auto result = co_await c.store.txn(unchanged, put);
  if (!result.succeeded) co_return error(409, "host: changed meanwhile; try again");
  co_await c.state.wait_revision(result.revision, 5s);
  util::log("server: host {} {}", name, drain ? "draining" : "undrained");
  if (drain) {
    // Answer once the controllers have moved everything away (or after two minutes).
    co_await c.state.wait_for([&] { return host_view(c.state, name)["instances"] == 0; }, 120s);
  }
  co_return reply(200, host_view(c.state, name));
}

}  // namespace

http::Response list(Context& c, const Request&) {
  std::set<std::string> names;
  for (auto* kv : c.state.under(keys::kHosts)) names.insert(kv->key.substr(keys::kHosts.size()));
  for (auto* kv : c.state.under(keys::kHostSettings))
    names.insert(kv->key.substr(keys::kHostSettings.size()));
  json out = json::array();
  for (auto& name : names) out.push_back(host_view(c.state, name));
  return reply(200, out);
}

Reply drain(Context& c, const Request&, const HostName& name) {
  return set_draining(c, name.value, true);
}

Reply undrain(Context& c, const Request&, const HostName& name) {
  return set_draining(c, name.value, false);
}

}  // namespace berth::api::hosts
