#include "controller/switchovers.hpp"

#include "controller/scope.hpp"
#include "controller/switchover.hpp"
#include "controller/tasks.hpp"
#include "model/model.hpp"
#include "util/log.hpp"

namespace berth::controller {

namespace asio = boost::asio;
namespace keys = model::keys;
using namespace std::chrono_literals;

asio::awaitable<void> SwitchoverRunner::run() {
  auto stop = co_await asio::this_coro::cancellation_state;
  Scope runs(term_.executor, "controller " + term_.leader_id + ": switchover");
  runs_ = &runs;
  try {
    for (;;) {
      try {
        co_await look();
      } catch (const std::exception& e) {
        if (stopped(stop)) break;
        util::log("controller {}: switchovers: {}", term_.leader_id, e.what());
      }
      co_await term_.state.wait_change(250ms);
    }
  } catch (const std::exception&) {
    // Stopped with its term: a switchover under way is left to the next leader.
  }
  // Stopped from above, this coroutine would throw at the next co_await of a coroutine and
  // leave its children running past their scope: join them first.
  co_await asio::this_coro::throw_if_cancelled(false);
  runs.cancel();
  co_await runs.join();
  runs_ = nullptr;
}

asio::awaitable<void> SwitchoverRunner::look() {
  std::map<std::string, SwitchoverRequest> records;
  std::map<std::string, int64_t> revisions;
  for (auto* kv : term_.state.under(kSwitchovers)) {
    std::string id = kv->key.substr(kSwitchovers.size());
    records[id] = nlohmann::json::parse(kv->value).get<SwitchoverRequest>();
    revisions[id] = kv->mod_revision;
  }
  if (records.empty()) co_return;
  std::set<std::string> databases;
  for (auto& [id, r] : records)
    if (term_.view.database(id)) databases.insert(id);
  for (auto& action : plan_switchovers(records, running_, databases, std::time(nullptr))) {
    auto& id = action.database_id;
    switch (action.step) {
      case SwitchoverStep::Run:
        running_.insert(id);
        runs_->spawn(run_one(id, revisions[id], records[id]));
        break;
      case SwitchoverStep::Finish:
        util::log("controller {}: switchover of {} left by another leader: {}", term_.leader_id, id,
                  action.result.state == "done" ? "done" : action.result.error);
        co_await replace(id, revisions[id], &action.result);
        break;
      case SwitchoverStep::Remove:
        co_await replace(id, revisions[id], nullptr);
        break;
    }
  }
}

asio::awaitable<void> SwitchoverRunner::run_one(std::string id, int64_t revision,
                                                SwitchoverRequest request) {
  auto stop = co_await asio::this_coro::cancellation_state;
  std::string error;
  try {
    co_await claim_and_run(id, revision, std::move(request));
  } catch (const std::exception& e) {
    error = e.what();
  }
  if (!error.empty()) {
    if (stopped(stop)) co_return;  // stopped with its term
    // Looked at again on the next change: still open, it runs again.
    util::log("controller {}: switchover {}: {}", term_.leader_id, id, error);
  }
  running_.erase(id);
}

asio::awaitable<void> SwitchoverRunner::claim_and_run(const std::string& id, int64_t revision,
                                                      SwitchoverRequest request) {
  request.state = "running";
  request.leader = term_.leader_id;
  int64_t claimed = co_await replace(id, revision, &request);
  SwitchoverResult result;
  if (claimed) {
    co_await term_.state.wait_revision(claimed, 2s);
    auto* kv = term_.state.find(switchover_key(id));
    SwitchoverClaim claim{term_.leader_id, kv ? kv->create_revision : 0, request};
    result =
        co_await run_switchover(term_.executor, term_.store, term_.state, term_.view, id, claim);
    util::log("controller {}: switchover {} ({}): {}", term_.leader_id, id, request.origin,
              result.error.empty() ? "done" : result.error);
    // The outcome, in place of the running (or promoted) record.
    request.state = result.status == 200 ? "done" : "failed";
    request.status = result.status;
    request.error = result.error;
    request.promoted = result.promoted;
    request.finished_at = format_time(std::time(nullptr));
    if ((kv = term_.state.find(switchover_key(id))))
      if (int64_t written = co_await replace(id, kv->mod_revision, &request))
        co_await term_.state.wait_revision(written, 2s);
  }
}

asio::awaitable<int64_t> SwitchoverRunner::replace(const std::string& id, int64_t revision,
                                                   const SwitchoverRequest* record) {
  std::string key = switchover_key(id);
  std::vector<store::Compare> compares{store::Compare::value_is(keys::kLeader, term_.leader_id),
                                       store::Compare::mod_revision_is(key, revision)};
  std::vector<store::Operation> ops{record
                                        ? store::Operation::put(key, nlohmann::json(*record).dump())
                                        : store::Operation::erase(key)};
  auto result = co_await term_.store.txn(compares, ops);
  co_return result.succeeded ? result.revision : 0;
}

}  // namespace berth::controller
