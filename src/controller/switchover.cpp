#include "controller/switchover.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "controller/tasks.hpp"
#include "engines/engine.hpp"
#include "model/model.hpp"
#include "util/encoding.hpp"
#include "util/log.hpp"

namespace berth::controller {

namespace asio = boost::asio;
namespace keys = model::keys;
using namespace std::chrono_literals;

namespace {

// The request with this id as the mirror has it now (nullptr: gone or replaced).
std::optional<std::pair<SwitchoverRequest, int64_t>> read_request(const store::Mirror& state,
                                                                  const std::string& key,
                                                                  const std::string& request_id) {
  auto* kv = state.find(key);
  if (!kv) return std::nullopt;
  auto r = nlohmann::json::parse(kv->value).get<SwitchoverRequest>();
  if (r.id != request_id) return std::nullopt;
  return std::pair{r, kv->mod_revision};
}

}  // namespace

asio::awaitable<SwitchoverResult> switchover(asio::any_io_executor, store::Store& store,
                                             store::Mirror& state, const std::string& id,
                                             int target_n) {
  if (!state.find(keys::database(id)))
    co_return SwitchoverResult{404, "database: no such database", -1};
  // One switchover of a database at a time: created only if there is none, or the last is over.
  std::string key = switchover_key(id);
  std::vector<store::Compare> vacant{store::Compare::absent(key)};
  if (auto* kv = state.find(key)) {
    if (!finished(nlohmann::json::parse(kv->value).get<SwitchoverRequest>()))
      co_return SwitchoverResult{409, "database: changed meanwhile; try again", -1};
    vacant = {store::Compare::mod_revision_is(key, kv->mod_revision)};
  }
  SwitchoverRequest request;
  request.id = util::random_hex(8);
  request.to = target_n;
  request.requested_at = format_time(std::time(nullptr));
  std::vector<store::Operation> put{store::Operation::put(key, nlohmann::json(request).dump())};
  auto written = co_await store.txn(vacant, put);
  if (!written.succeeded)
    co_return SwitchoverResult{409, "database: changed meanwhile; try again", -1};
  co_await state.wait_revision(written.revision, 5s);  // "gone" below means gone since

  // The leader claims it within moments; the switchover itself takes seconds at most (5 s of
  // paused writes, 3 s to catch up, 5 s for the new primary's agent).
  auto done = [&] {
    auto r = read_request(state, key, request.id);
    return !r || finished(r->first);
  };
  co_await state.wait_for(done, 30s);
  auto seen = read_request(state, key, request.id);
  if (seen && seen->first.state == "pending") {
    // No leader took it: withdraw it, unless one takes it this very moment.
    std::vector<store::Compare> untouched{store::Compare::mod_revision_is(key, seen->second)};
    std::vector<store::Operation> erase{store::Operation::erase(key)};
    if ((co_await store.txn(untouched, erase)).succeeded)
      co_return SwitchoverResult{503, "leader: no leader took the switchover in 30 s", -1};
  }
  if (!done()) co_await state.wait_for(done, 30s);
  seen = read_request(state, key, request.id);
  if (!seen) co_return SwitchoverResult{503, "leader: the switchover request went away", -1};
  if (!finished(seen->first))
    co_return SwitchoverResult{503, "leader: the switchover did not finish in 60 s", -1};
  // Read: the record has served its purpose.
  std::vector<store::Compare> unchanged{store::Compare::mod_revision_is(key, seen->second)};
  std::vector<store::Operation> erase{store::Operation::erase(key)};
  co_await store.txn(unchanged, erase);
  co_return outcome(seen->first);
}

asio::awaitable<SwitchoverResult> run_switchover(asio::any_io_executor executor,
                                                 store::Store& store, store::Mirror& state,
                                                 const state::View& view, const std::string& id,
                                                 const SwitchoverClaim& claim) {
  int target_n = claim.request.to;
  auto* db_record = view.database(id);
  if (!db_record) co_return SwitchoverResult{404, "database: no such database", -1};
  auto db = db_record->value;
  int64_t db_revision = db_record->mod_revision;
  struct Entry {
    std::string key;
    int64_t revision;
    model::Allocation a;
  };
  std::vector<Entry> entries;
  for (auto* r : view.allocations_of(id)) entries.push_back({r->key, r->mod_revision, r->value});
  const Entry* primary = model::primary_of(entries, &Entry::a);
  if (!primary) co_return SwitchoverResult{409, "database: it has no primary right now", -1};
  const Entry* target = nullptr;
  int64_t best = -1;
  for (auto& e : entries) {
    if (e.a.role != model::Role::replica) continue;
    auto* s = view.status(id, e.a.n);
    if (!s) continue;
    auto& st = s->value;
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
  // Only while this server leads and the request is the one it claimed; the request says
  // promoted in the same transaction, so that a next leader knows not to run it again.
  std::string request_key = switchover_key(id);
  auto promoted = claim.request;
  promoted.state = "promoted";
  promoted.promoted = t.n;
  std::vector<store::Compare> compares{
      store::Compare::mod_revision_is(keys::database(id), db_revision),
      store::Compare::value_is(keys::kLeader, claim.leader_id),
      {request_key,
       store::Compare::Target::Create,
       store::Compare::Op::Equal,
       claim.create_revision,
       {}}};
  std::vector<store::Operation> ops{
      store::Operation::put(keys::database(id), model::dump(db)),
      store::Operation::put(request_key, nlohmann::json(promoted).dump())};
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
        auto* s = view.status(id, t.n);
        return s && s->value.role == model::Role::primary;
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
