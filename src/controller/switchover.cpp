#include "controller/switchover.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "engines/engine.hpp"
#include "model/model.hpp"
#include "util/log.hpp"

namespace berth::controller {

namespace asio = boost::asio;
namespace keys = model::keys;
using namespace std::chrono_literals;

asio::awaitable<SwitchoverResult> switchover(asio::any_io_executor executor, store::Store& store,
                                             store::Mirror& state, const std::string& id,
                                             int target_n) {
  auto* db_kv = state.find(keys::database(id));
  if (!db_kv) co_return SwitchoverResult{404, "database: no such database", -1};
  auto db = model::parse<model::Database>(db_kv->value);
  int64_t db_revision = db_kv->mod_revision;
  struct Entry {
    std::string key;
    int64_t revision;
    model::Allocation a;
  };
  std::vector<Entry> entries;
  const Entry* primary = nullptr;
  for (auto* kv : state.under(keys::kAllocations)) {
    auto a = model::parse<model::Allocation>(kv->value);
    if (a.database_id == id) entries.push_back({kv->key, kv->mod_revision, a});
  }
  primary = model::primary_of(entries, &Entry::a);
  if (!primary) co_return SwitchoverResult{409, "database: it has no primary right now", -1};
  const Entry* target = nullptr;
  int64_t best = -1;
  for (auto& e : entries) {
    if (e.a.role != model::Role::replica) continue;
    auto* s = state.find(keys::status(id, e.a.n));
    if (!s) continue;
    auto st = model::parse<model::InstanceStatus>(s->value);
    if (st.state != model::InstanceState::healthy || !st.link_up) continue;
    if (target_n >= 0 ? e.a.n == target_n : st.offset > best) {
      target = &e;
      best = st.offset;
    }
  }
  if (!target)
    co_return SwitchoverResult{
        409,
        target_n >= 0 ? "to: instance " + std::to_string(target_n) + " is not a replica in sync"
                      : "replicas: no replica is in sync to take over",
        -1};
  auto* engine = engines::find_engine(db.engine);
  if (!engine || !engine->capabilities().replication)
    co_return SwitchoverResult{422, "engine: switchover is not available for " + db.engine, -1};

  // 1. Hold writes on the primary, for 5 s at most.
  auto& p = primary->a;
  int64_t primary_offset = 0;
  std::string failure;
  try {
    primary_offset = co_await engine->pause_writes(executor, p.ip, p.port, p.password, 5000ms);
  } catch (const std::exception& e) {
    failure = e.what();
  }
  if (!failure.empty())
    co_return SwitchoverResult{503, "primary: cannot pause writes: " + failure, -1};
  // 2. Wait until the replica has everything the primary has.
  auto& t = target->a;
  auto deadline = std::chrono::steady_clock::now() + 3s;
  asio::steady_timer pause_timer(executor);
  bool caught_up = false;
  while (!caught_up && std::chrono::steady_clock::now() < deadline) {
    auto probe = co_await engine->probe(executor, t.ip, t.port, t.password, 500ms);
    caught_up = probe.healthy && probe.offset >= primary_offset;
    if (caught_up) break;
    pause_timer.expires_after(5ms);
    co_await pause_timer.async_wait(asio::use_awaitable);
  }
  if (!caught_up) {
    try {
      co_await engine->resume_writes(executor, p.ip, p.port, p.password);
    } catch (const std::exception&) {
    }
    co_return SwitchoverResult{503, "replicas: the replica did not catch up in 3 s", -1};
  }
  // 3. Promote under a new epoch; the old primary becomes a replica of the new one.
  int64_t epoch = db.epoch + 1;
  db.epoch = epoch;
  std::vector<store::Compare> compares{
      store::Compare::mod_revision_is(keys::database(id), db_revision)};
  std::vector<store::Operation> ops{store::Operation::put(keys::database(id), model::dump(db))};
  for (auto& e : entries) {
    auto a = e.a;
    a.epoch = epoch;
    if (&e == target) {
      a.role = model::Role::primary;
      a.primary_ip.clear();
      a.database_address = db.address;
      a.min_replicas_to_write = entries.size() > 1 ? 1 : 0;
    } else {
      a.role = model::Role::replica;
      a.primary_ip = t.ip;
      a.database_address.clear();
      a.min_replicas_to_write = 0;
    }
    compares.push_back(store::Compare::mod_revision_is(e.key, e.revision));
    ops.push_back(store::Operation::put(e.key, model::dump(a)));
  }
  auto result = co_await store.txn(compares, ops);
  if (!result.succeeded)
    co_return SwitchoverResult{409, "database: changed meanwhile; try again", -1};
  co_await state.wait_revision(result.revision, 2s);
  util::log("switchover {}: instance {} is primary (epoch {})", db.name, t.n, epoch);
  // The new primary's agent takes the database address; the paused writes on the old primary
  // then fail as READONLY and their clients reconnect to the address.
  co_await state.wait_for(
      [&] {
        auto* s = state.find(keys::status(id, t.n));
        return s && model::parse<model::InstanceStatus>(s->value).role == model::Role::primary;
      },
      5s);
  // Let the held writes go: the old primary now replicates from the new one, so they fail
  // (never acknowledged) and their clients reconnect to the database address.
  try {
    co_await engine->follow(executor, p.ip, p.port, p.password, t.ip, t.port);
  } catch (const std::exception&) {
  }
  co_return SwitchoverResult{200, "", t.n};
}

}  // namespace berth::controller
