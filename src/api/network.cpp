// /v1/network: the cluster network whose pool every instance's address comes from.
#include "api/handlers.hpp"
#include "api/respond.hpp"
#include "netpool/netpool.hpp"

namespace berth::api::network {

namespace keys = model::keys;
using nlohmann::json;
using namespace std::chrono_literals;

http::Response get(Context& c, const Request&) {
  auto* kv = c.state.find(keys::kNetwork);
  if (!kv) return error(404, "network: no cluster network is configured");
  return reply(200, json::parse(kv->value));
}

Reply set(Context& c, const Request& r) {
  http::Response failure;
  auto body = parse_body(r, &failure);
  if (!body) co_return failure;
  model::NetworkConfig config;
  try {
    config = body->get<model::NetworkConfig>();
  } catch (const json::exception& e) {
    co_return error(422, std::string("network: ") + e.what());
  }
  if (auto problem = netpool::validate(config); !problem.empty()) co_return error(422, problem);
  // Changing the subnet under addresses in use would strand them.
  for (auto* kv : c.state.under(keys::kAddresses)) {
    auto ip = netpool::parse_ipv4(kv->key.substr(keys::kAddresses.size()));
    if (ip && !netpool::assignable(config, *ip))
      co_return error(409, "subnet: address " + kv->key.substr(keys::kAddresses.size()) +
                               " is in use and would fall outside the new settings");
  }
  auto rev = co_await c.store.put(keys::kNetwork, model::dump(config));
  co_await c.state.wait_revision(rev, 5s);
  co_return reply(200, json(config));
}

}  // namespace berth::api::network
