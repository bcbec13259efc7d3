#include "controller/prober.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "controller/scope.hpp"
#include "engines/engine.hpp"
#include "model/model.hpp"

namespace berth::controller {

namespace asio = boost::asio;
namespace keys = model::keys;
using namespace std::chrono_literals;

bool serves_writes(const engines::ProbeResult& r) {
  return r.healthy && r.role == "primary" && !r.writes_paused;
}

std::set<std::string> PrimaryProber::answering(std::chrono::steady_clock::duration within) const {
  std::set<std::string> out;
  auto now = std::chrono::steady_clock::now();
  for (auto& [owner, at] : answered_at_)
    if (now - at <= within) out.insert(owner);
  return out;
}

std::set<std::string> PrimaryProber::unreachable(std::chrono::steady_clock::duration after) const {
  std::set<std::string> out;
  auto now = std::chrono::steady_clock::now();
  for (auto& [owner, since] : down_since_)
    if (now - since >= after) out.insert(owner);
  return out;
}

asio::awaitable<void> PrimaryProber::run() {
  Scope probes(term_.executor, "controller: probe");
  asio::steady_timer timer(term_.executor);
  try {
    for (;;) {
      std::set<std::string> current;
      for (auto& [key, r] : term_.view.allocations()) {
        auto& a = r.value;
        if (a.role != model::Role::primary || a.database_address.empty()) continue;  // no replicas
        std::string owner = keys::instance_owner(a.database_id, a.n);
        // Only a primary its agent last saw healthy can be lost to a cut; one that is starting
        // or crashing is its agent's business. One whose agent is gone (its lease, and with it
        // the status, expired) is probed too: it may well answer on.
        auto* status = term_.view.status(a.database_id, a.n);
        bool agent_gone = !status && !term_.view.host(a.host);
        if (!agent_gone && (!status || status->value.state != model::InstanceState::healthy))
          continue;
        current.insert(owner);
        if (probing_.insert(owner).second)
          probes.spawn(probe_one(owner, a.engine, a.ip, a.port, a.password));
      }
      for (auto it = down_since_.begin(); it != down_since_.end();)
        it = current.count(it->first) ? std::next(it) : down_since_.erase(it);
      for (auto it = answered_at_.begin(); it != answered_at_.end();)
        it = current.count(it->first) ? std::next(it) : answered_at_.erase(it);
      timer.expires_after(100ms);
      co_await timer.async_wait(asio::use_awaitable);
    }
  } catch (const std::exception&) {
    // Stopped with its term (the wait was aborted).
  }
  // Stopped from above, this coroutine would throw at the next co_await of a coroutine and
  // leave its children running past their scope: join them first.
  co_await asio::this_coro::throw_if_cancelled(false);
  probes.cancel();
  co_await probes.join();
}

asio::awaitable<void> PrimaryProber::probe_one(std::string owner, std::string engine_name,
                                               std::string ip, int port, std::string password) {
  auto started = std::chrono::steady_clock::now();
  engines::ProbeResult result;
  if (auto* engine = engines::find_engine(engine_name))
    result = co_await engine->probe(term_.executor, ip, port, password, 300ms);
  if (serves_writes(result))
    reached(owner);
  else if (result.healthy)
    down_since_.erase(owner);  // reachable, but fenced or not yet told its role
  else if (!down_since_.count(owner))
    down_since_[owner] = started;
  probing_.erase(owner);
}

}  // namespace berth::controller
