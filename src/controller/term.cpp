#include "controller/term.hpp"

#include "controller/events.hpp"
#include "controller/leadership.hpp"
#include "controller/prober.hpp"
#include "controller/reconciler.hpp"
#include "controller/scope.hpp"
#include "controller/switchovers.hpp"
#include "controller/upkeep.hpp"
#include "controller/usage.hpp"
#include "model/model.hpp"
#include "util/log.hpp"

namespace berth::controller {

namespace asio = boost::asio;
namespace keys = model::keys;

asio::awaitable<void> run_term(const TermContext& term, const TermSettings& settings,
                               Leadership& leadership, int64_t* failovers) {
  PrimaryProber prober(term);
  EventRecorder events(term);
  Reconciler reconciler(term, settings, prober, events);
  UsageRecorder usage(term, settings.usage_step);
  SwitchoverRunner switchovers(term);
  EtcdUpkeep upkeep(term, {settings.compact_interval, settings.etcd_quota_bytes});
  Scope owners(term.executor, "controller " + term.leader_id);
  owners.spawn(prober.run());
  owners.spawn(reconciler.run());
  owners.spawn(events.run());
  owners.spawn(usage.run());
  owners.spawn(switchovers.run());
  owners.spawn(upkeep.run());
  try {
    co_await leadership.keep();  // returns when the lease is lost
  } catch (const std::exception&) {
    // The server resigns: this term is stopped from above.
  }
  // Stopped from above, this coroutine would throw at the next co_await of a coroutine and
  // leave its children running past their scope: join them first.
  co_await asio::this_coro::throw_if_cancelled(false);
  owners.cancel();
  co_await owners.join();
  *failovers += reconciler.failovers();
  util::log("controller {}: no longer leader", term.leader_id);
}

asio::awaitable<int64_t> leader_txn_batched(const TermContext& term,
                                            const std::vector<store::Operation>& ops) {
  // etcd takes at most 128 operations in one transaction; a deposed leader writes nothing.
  int64_t revision = 0;
  for (size_t start = 0; start < ops.size(); start += 100) {
    std::vector<store::Operation> batch(ops.begin() + start,
                                        ops.begin() + std::min(ops.size(), start + 100));
    std::vector<store::Compare> leading{store::Compare::value_is(keys::kLeader, term.leader_id)};
    auto result = co_await term.store.txn(leading, batch);
    if (!result.succeeded) co_return 0;
    revision = result.revision;
  }
  co_return revision;
}

}  // namespace berth::controller
