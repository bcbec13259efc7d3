// /v1/databases/{name}/logs: an instance's engine log, fetched from the agent of its host (which
// checks the caller's token again); ?follow=1 waits up to 30 s for lines after ?after.
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "api/handlers.hpp"
#include "api/respond.hpp"
#include "api/scope.hpp"

namespace berth::api::logs {

namespace asio = boost::asio;
using nlohmann::json;
using namespace std::chrono_literals;

Reply get(Context& c, const Request& r, const DatabaseRef& ref) {
  std::string id = resolve(c, r, ref.value);
  if (id.empty()) co_return error(404, no_database(ref.value));
  auto param = [&](const char* name) {
    auto it = r.query.find(name);
    return it == r.query.end() ? std::string() : it->second;
  };
  auto digits = [](const std::string& s, size_t most) {
    return !s.empty() && s.size() <= most && s.find_first_not_of("0123456789") == std::string::npos;
  };
  std::string instance = param("instance"), tail = param("tail"), after = param("after");
  if (!instance.empty() && !digits(instance, 3))
    co_return error(400, "instance: '" + instance + "' is not an instance number");
  if (!tail.empty() && !digits(tail, 5))
    co_return error(400, "tail: '" + tail + "' is not a number");
  if (!after.empty() && !digits(after, 19))
    co_return error(400, "after: '" + after + "' is not what an earlier answer gave");
  const state::AllocationRecord* a =
      instance.empty() ? c.view.primary_of(id) : c.view.allocation(id, std::stoi(instance));
  if (!a) co_return error(404, "instance: database " + ref.value + " has no instance " + instance);
  auto* host = c.view.host(a->value.host);
  if (!host || host->value.metrics_address.empty())
    co_return error(503, "host " + a->value.host + ": its agent is down or serves no logs");
  http::Request ask;
  ask.target = "/v1/logs?database=" + id + "&instance=" + std::to_string(a->value.n) +
               "&tail=" + (tail.empty() ? "100" : tail) + (after.empty() ? "" : "&after=" + after);
  // The agent checks the caller's own token: its port is open to the LAN.
  ask.headers.push_back({"Authorization", r.header("authorization")});
  http::TlsOptions tls;
  tls.ca_file = c.options.cluster_ca_file;
  http::Client agent(
      c.executor, (host->value.metrics_tls ? "https://" : "http://") + host->value.metrics_address,
      tls);
  bool follow = param("follow") == "1" || param("follow") == "true";
  auto deadline = std::chrono::steady_clock::now() + 30s;
  asio::steady_timer timer(c.executor);
  for (;;) {
    http::Response answer;
    try {
      answer = co_await agent.request(ask, 10s);
    } catch (const std::exception& e) {
      co_return error(503, "host " + a->value.host + ": its agent does not answer: " + e.what());
    }
    if (answer.status != 200 || !follow || std::chrono::steady_clock::now() > deadline)
      co_return answer;
    auto page = json::parse(answer.body, nullptr, false);
    if (page.is_discarded() || !page["lines"].empty()) co_return answer;
    // Nothing new yet: the agent has no way to push, so it is asked again each second.
    timer.expires_after(1s);
    co_await timer.async_wait(asio::use_awaitable);
  }
}

}  // namespace berth::api::logs
