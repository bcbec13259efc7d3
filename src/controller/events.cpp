#include "controller/events.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <chrono>

#include "controller/scope.hpp"
#include "model/model.hpp"
#include "util/log.hpp"

namespace berth::controller {

namespace asio = boost::asio;
namespace keys = model::keys;
using namespace std::chrono_literals;

events::View EventRecorder::view_of_state() {
  auto& state = term_.view;
  events::View view;
  for (auto& [id, r] : state.databases()) {
    auto& db = r.value;
    view.databases[id] = {db.name, db.engine, db.memory_mb, db.replicas, db.project};
  }
  for (auto& [key, r] : state.allocations()) {
    auto& a = r.value;
    auto& instance = view.instances[keys::instance_owner(a.database_id, a.n)];
    instance.database = a.database_id;
    instance.host = a.host;
    instance.role = model::to_string(a.role);
    if (auto* status = state.status(a.database_id, a.n); status && status->value.host == a.host) {
      instance.state = model::to_string(status->value.state);
      instance.message = status->value.message;
    }
  }
  // Every host known from its settings or its registration.
  for (auto& [name, r] : state.host_settings())
    view.hosts[name] = model::host_state(state.host(name) != nullptr, r.value.draining);
  for (auto& [name, r] : state.hosts()) {
    if (!view.hosts.count(name)) view.hosts[name] = model::host_state(true, false);
    view.agents[name] = r.value.started_at;
  }
  if (auto* kv = term_.state.find(keys::kEtcdHealth)) {
    auto etcd = model::parse<model::EtcdHealth>(kv->value);
    view.etcd = !etcd.filling ? "ok"
                : !etcd.alarms.empty()
                    ? etcd.alarms.front()
                    : std::to_string(
                          etcd.quota_bytes > 0 ? etcd.db_size_bytes * 100 / etcd.quota_bytes : 0) +
                          "% of its quota";
  }
  for (auto& [id, r] : state.tasks()) {
    auto& t = r.value;
    // A log line starts with its time; the event has its own.
    std::string detail = t.error;
    if (t.state == model::TaskState::done && !t.log.empty())
      detail = t.log.back().substr(t.log.back().find(' ') + 1);
    view.tasks[id] = {model::to_string(t.kind), model::to_string(t.state), t.database_id,
                      t.database_name, detail};
  }
  return view;
}

asio::awaitable<void> EventRecorder::run() {
  auto stop = co_await asio::this_coro::cancellation_state;
  for (;;) {
    try {
      co_await record_once();
    } catch (const std::exception& e) {
      if (stopped(stop)) co_return;
      util::log("controller {}: events: {}", term_.leader_id, e.what());
    }
    // React to every change of state at once; look again every 250 ms regardless.
    co_await term_.state.wait_change(250ms);
  }
}

void EventRecorder::failover_written(const std::string& database_id, int64_t revision) {
  if (revision == 0)
    failed_over_.erase(database_id);
  else
    failed_over_[database_id] = revision;
}

asio::awaitable<void> EventRecorder::record_once() {
  int64_t seen = term_.state.revision();
  auto view = view_of_state();
  auto now = std::chrono::system_clock::now();
  int64_t micros =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  // Followers ask for what comes after the last id they saw: ids must grow even when this
  // leader's clock is behind the last one's.
  auto all = term_.state.under(events::kPrefix);
  if (!all.empty())
    last_micros_ = std::max<int64_t>(last_micros_,
                                     std::atoll(all.back()->key.c_str() + events::kPrefix.size()));
  micros = std::max(micros, last_micros_ + 1);
  std::vector<store::Operation> ops;
  if (last_view_) {
    std::set<std::string> failed_over;
    for (auto& [id, revision] : failed_over_) failed_over.insert(id);
    auto found = events::diff(*last_view_, view, failed_over);
    std::string time = fmt::format("{:%FT%T}Z", std::chrono::floor<std::chrono::milliseconds>(now));
    for (size_t i = 0; i < found.size(); ++i) {
      auto& e = found[i];
      auto key = events::key(micros, int(i));
      e.id = key.substr(events::kPrefix.size());
      e.time = time;
      ops.push_back(store::Operation::put(key, nlohmann::json(e).dump()));
      util::log("event {}: {}", e.kind, e.message);
    }
    if (!found.empty()) last_micros_ = micros;
  }
  // Prune once a minute: what is older than the retention, and beyond the count.
  if (micros - pruned_at_ > 60'000'000) {
    pruned_at_ = micros;
    std::string cut = events::key_before(micros - events::kRetentionSeconds * 1'000'000);
    if (all.size() > events::kMaxEvents)
      cut = std::max(cut, all[all.size() - events::kMaxEvents]->key);
    if (!all.empty() && all.front()->key < cut)
      ops.push_back(store::Operation::erase_range(events::kPrefix, cut));
  }
  co_await leader_txn_batched(term_, ops);
  // A failover this view has seen is told; one still being written waits for its view.
  for (auto it = failed_over_.begin(); it != failed_over_.end();)
    it = it->second <= seen ? failed_over_.erase(it) : std::next(it);
  last_view_ = std::move(view);
}

}  // namespace berth::controller
