// DatabaseService::create: a new database in one transaction, then a wait until it runs.
#include "api/database_service.hpp"
#include "api/quota.hpp"
#include "api/update_plan.hpp"
#include "engines/engine.hpp"
#include "scheduler/snapshot.hpp"
#include "util/encoding.hpp"
#include "util/log.hpp"

namespace berth::api {

namespace asio = boost::asio;
namespace keys = model::keys;
using nlohmann::json;
using namespace std::chrono_literals;

model::Allocation DatabaseService::new_allocation(const model::Database& db, int n,
                                                  const std::string& host,
                                                  const std::string& ip) const {
  model::Allocation a;
  a.database_id = db.id;
  a.database_name = db.name;
  a.project = db.project;
  a.n = n;
  a.host = host;
  a.ip = ip;
  a.port = engines::find_engine(db.engine)->port();
  a.engine = db.engine;
  if (auto* kv = c_.state.find(keys::engine_settings(db.engine)))
    a.image = model::parse<model::EngineSettings>(kv->value).image;
  a.memory_mb = db.memory_mb;
  a.password = db.password;
  a.password_generation = db.password_generation;
  a.epoch = db.epoch;
  return a;
}

std::string DatabaseService::not_running(const std::string& id) const {
  auto* dkv = c_.state.find(keys::database(id));
  if (!dkv) return "it has been deleted";
  auto db = model::parse<model::Database>(dkv->value);
  std::string out;
  for (int n = 0; n <= db.replicas; ++n) {
    auto* s = c_.view.status(id, n);
    std::string what;
    if (!s) {
      what = "no report from its host yet";
    } else {
      auto& status = s->value;
      bool ready = n == 0 ? status.holds_address == db.address : status.link_up;
      if (status.state == model::InstanceState::healthy && ready) continue;
      what = model::to_string(status.state) + (status.message.empty() ? "" : ": " + status.message);
      if (status.state == model::InstanceState::healthy)
        what += n == 0 ? " (does not hold the database address yet)"
                       : " (not in sync with its primary yet)";
    }
    out += (out.empty() ? "" : "; ") + std::string("instance ") + std::to_string(n) + ": " + what;
  }
  return out;
}

DatabaseService::Created DatabaseService::created(const std::string& id, bool wait,
                                                  bool healthy) const {
  Created out;
  out.id = id;
  out.healthy = healthy;
  auto* kv = c_.state.find(keys::database(id));
  if (!kv) {
    // Committed, but this server's copy of the state has not caught up (etcd was out of reach
    // for it): say so rather than guess.
    out.healthy = false;
    out.view = {{"id", id}, {"message", "created; this server does not see it yet"}};
    return out;
  }
  auto db = model::parse<model::Database>(kv->value);
  auto* engine = engines::find_engine(db.engine);
  out.view = database_view(c_.state, db.id);
  if (!db.password.empty()) out.view["password"] = db.password.plain();  // at creation only
  std::string dbname = engine->sql_database(db.name);
  if (!dbname.empty()) out.view["dbname"] = dbname;
  out.view["connect"] =
      engine->connect_command(out.view["address"], out.view["port"], db.password, dbname);
  out.view["notes"] = engine->notes(!db.password.empty());
  // What the agents report goes to the user: a create that did not come up says why.
  if (wait && !healthy) out.view["message"] = "not running yet: " + not_running(db.id);
  return out;
}

DatabaseService::Created DatabaseService::replay(const model::IdempotentOutcome& earlier) const {
  if (earlier.database_id.empty() || !c_.state.find(keys::database(earlier.database_id))) {
    Created gone;
    gone.problem = {409, "Idempotency-Key: the database this request created has been deleted"};
    return gone;
  }
  auto out = created(earlier.database_id, true, not_running(earlier.database_id).empty());
  out.task_id = earlier.task_id;
  return out;
}

asio::awaitable<DatabaseService::Created> DatabaseService::create(const CreateRequest& request,
                                                                  bool wait,
                                                                  const Idempotency& idem,
                                                                  const std::string& planned_task) {
  Created out;
  auto refuse = [&](int status, std::string message) {
    out.problem = {status, std::move(message)};
    return out;
  };
  Invalid reused;
  if (auto earlier = earlier_outcome(c_, idem, &reused)) co_return replay(*earlier);
  if (reused) co_return refuse(reused.status, reused.message);
  auto* engine = request.engine;
  auto caps = engine->capabilities();
  if (c_.state.find(keys::name(request.project, request.name)))
    co_return refuse(409,
                     "name: '" + request.name + "' is already taken in project " + request.project);
  auto* network_kv = c_.state.find(keys::kNetwork);
  if (!network_kv)
    co_return refuse(409, "network: no cluster network is configured (PUT /v1/network)");
  auto network = model::parse<model::NetworkConfig>(network_kv->value);

  model::Database db;
  db.id = util::random_hex(6);
  db.name = request.name;
  db.project = request.project;
  db.engine = engine->name();
  db.version = engine->version();
  db.memory_mb = request.memory_mb;
  // An engine whose password is optional runs open unless the user asks for one.
  db.password = request.password         ? *request.password
                : caps.password_optional ? ""
                                         : util::random_password(24);
  db.durable = caps.persistent;
  db.user = db.password.empty() ? "" : engine->user();
  db.created_at = model::now_rfc3339();
  db.replicas = request.replicas;
  db.constraints = request.constraints;
  int replicas = request.replicas;

  int64_t committed_revision = 0;
  for (int attempt = 0; attempt < 50 && committed_revision == 0; ++attempt) {
    if (auto quota = quota_refusal(c_.view, db.project, db.memory_mb * (request.replicas + 1), 1))
      co_return refuse(409, *quota);
    // Instance 0 is the primary; replicas go to other hosts, one instance per host.
    std::vector<std::string> placed_hosts;
    auto problem = place_instances(scheduler::live_hosts(c_.state), replicas + 1, db.memory_mb,
                                   db.constraints, {}, replicas, &placed_hosts);
    if (!problem.empty()) co_return refuse(409, problem);

    // Addresses: one per instance, plus the database's own when it has replicas.
    auto ips = c_.reserve_addresses(network, replicas + 1 + (replicas > 0 ? 1 : 0));
    if (ips.empty())
      co_return refuse(409, "network: the address pool " + network.subnet + " is exhausted");
    db.address = replicas > 0 ? ips.back() : "";

    // One transaction: name, addresses, database and allocations, or nothing at all.
    std::vector<store::Compare> compares{store::Compare::absent(keys::name(db.project, db.name))};
    std::vector<store::Operation> ops{
        store::Operation::put(keys::database(db.id), model::dump(db)),
        store::Operation::put(keys::name(db.project, db.name), db.id)};
    guard_project(c_.view, db.project, compares, ops);
    for (int n = 0; n <= replicas; ++n) {
      auto a = new_allocation(db, n, placed_hosts[n], ips[n]);
      a.role = n == 0 ? model::Role::primary : model::Role::replica;
      a.primary_ip = n == 0 ? "" : ips[0];
      a.database_address = n == 0 ? db.address : "";
      compares.push_back(store::Compare::absent(keys::address(a.ip)));
      compares.push_back(store::Compare::present(keys::host(a.host)));
      ops.push_back(store::Operation::put(keys::address(a.ip), keys::instance_owner(db.id, n)));
      ops.push_back(store::Operation::put(keys::allocation(a.host, db.id, n), model::dump(a)));
    }
    if (!db.address.empty()) {
      compares.push_back(store::Compare::absent(keys::address(db.address)));
      ops.push_back(
          store::Operation::put(keys::address(db.address), keys::database_address_owner(db.id)));
    }
    if (idem) {
      compares.push_back(unused(idem));
      ops.push_back(record(idem, {.database_id = db.id, .task_id = planned_task}));
    }
    auto result = co_await c_.try_txn(compares, ops);
    c_.release_addresses(ips);
    if (!result) co_return refuse(503, "etcd: the store does not answer; nothing was created");
    if (result->succeeded) {
      committed_revision = result->revision;
      break;
    }
    // Someone else won the name or an address, or a host went away, or the same request
    // came twice at once: look again.
    co_await c_.state.wait_revision(result->revision, 2s);
    if (auto earlier = earlier_outcome(c_, idem, &reused)) co_return replay(*earlier);
    if (c_.state.find(keys::name(db.project, db.name)))
      co_return refuse(409, "name: '" + db.name + "' is already taken in project " + db.project);
  }
  if (committed_revision == 0) co_return refuse(503, "could not reserve addresses; try again");
  co_await c_.state.wait_revision(committed_revision, 5s);
  util::log("server: created database {} ({}) with {} replicas", db.name, db.id, replicas);

  bool healthy = false;
  if (wait) {
    // Ready when every instance answers and the database address is held. A status that says
    // failed is not the end: an instance can fail while its replication starts and then recover
    // (a Tarantool replica before its primary answers), so the wait goes on to the deadline.
    healthy = co_await c_.view.wait_for([&] { return not_running(db.id).empty(); },
                                        c_.options.create_wait);
  }
  co_return created(db.id, wait, healthy);
}

}  // namespace berth::api
