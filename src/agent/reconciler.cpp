#include "agent/reconciler.hpp"

#include <set>

#include "agent/session.hpp"
#include "netpool/netpool.hpp"
#include "util/encoding.hpp"
#include "util/log.hpp"
#include "util/subprocess.hpp"

namespace berth::agent {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using model::Allocation;

std::string spec_hash(const Allocation& a, const engines::Engine* engine,
                      const std::string* legacy_password) {
  // Memory is left out where it changes in place; the password (rotated live) too. Role and
  // epoch change at run time.
  nlohmann::json j = {{"image", a.image}, {"ip", a.ip}, {"port", a.port}, {"engine", a.engine}};
  // Containers made before rotation have the password in their hash: still current.
  if (legacy_password) j["password"] = *legacy_password;
  if (!a.data_generation.empty()) j["data"] = a.data_generation;
  if (engine && engine->resize_restarts(a)) j["memory_mb"] = a.memory_mb;
  return util::sha256_hex(j.dump()).substr(0, 16);
}

Reconciler::Reconciler(asio::any_io_executor executor, store::Store& store, docker::Docker& docker,
                       HostSession& session, const Options& options)
    : executor_(executor),
      store_(store),
      docker_(docker),
      session_(session),
      options_(options),
      hostnet_(executor, options.parent_interface()),
      allocations_(executor, store, model::keys::allocations_of(options.name)),
      tombstones_(executor, store, model::keys::kTombstones),
      orphans_(executor, store, model::keys::orphans_of(options.name)),
      addresses_(executor, store, model::keys::kAddresses),
      scope_(executor),
      wake_(executor),
      round_ended_(executor) {
  allocations_.on_change = [this] { wake_.notify_all(); };
}

Reconciler::~Reconciler() = default;

void Reconciler::start() {
  auto name = "agent " + options_.name;
  scope_.spawn(allocations_.run(), name + ": allocations");
  scope_.spawn(tombstones_.run(), name + ": tombstones");
  scope_.spawn(orphans_.run(), name + ": orphans");
  scope_.spawn(addresses_.run(), name + ": addresses");
  scope_.spawn(reconcile_loop(), name + ": reconcile");
}

asio::awaitable<void> Reconciler::stop() {
  co_await scope_.stop();
  for (auto& s : retiring_) co_await s->stop();
  retiring_.clear();
  // The containers run on: only the agent's watch over them ends (their statuses go with
  // the lease, or stay for the next agent to take over).
  for (auto& [key, s] : supervisors_) co_await s->stop();
  supervisors_.clear();
}

void Reconciler::fence_changed() {
  for (auto& [key, s] : supervisors_) s->wake();
}

void Reconciler::registered() {
  for (auto& [key, s] : supervisors_) s->republish();
}

const Supervisor* Reconciler::find(const std::string& instance) const {
  auto it = supervisors_.find(instance);
  return it == supervisors_.end() ? nullptr : it->second.get();
}

void Reconciler::restore_next(const std::string& instance, std::shared_ptr<RestoreData> data) {
  pending_restore_[instance] = std::move(data);
}

void Reconciler::restore_drop(const std::string& instance,
                              const std::shared_ptr<RestoreData>& data) {
  if (auto it = pending_restore_.find(instance); it != pending_restore_.end() && it->second == data)
    pending_restore_.erase(it);
}

asio::awaitable<bool> Reconciler::catch_up() {
  // Current means: exactly the keys etcd has now, each at the version etcd has.
  auto prefix = model::keys::allocations_of(options_.name);
  auto fresh = co_await store_.get_prefix(prefix);
  bool current = co_await allocations_.wait_for(
      [&] {
        auto mine = allocations_.under(prefix);
        if (mine.size() != fresh.kvs.size()) return false;
        for (size_t i = 0; i < mine.size(); ++i)
          if (mine[i]->key != fresh.kvs[i].key ||
              mine[i]->mod_revision != fresh.kvs[i].mod_revision)
            return false;
        return true;
      },
      5s);
  if (!current) co_return false;
  co_await reconcile();
  co_return true;
}

asio::awaitable<void> Reconciler::reconcile_loop() {
  for (;;) {
    if (allocations_.loaded() && tombstones_.loaded() && orphans_.loaded()) {
      try {
        co_await reconcile();
      } catch (const std::exception& e) {
        util::log("agent {}: reconcile: {}", options_.name, e.what());
      }
    }
    // Reconcile again on any change to our allocations, and every 2 s to catch Docker-side
    // changes (a crashed or removed container, a restarted dockerd).
    co_await wake_.wait(std::chrono::steady_clock::now() + 2s);
  }
}

Supervisor& Reconciler::supervise(const Allocation& a) {
  auto key = model::keys::instance_owner(a.database_id, a.n);
  auto& s = supervisors_[key];
  if (!s) {
    auto* engine = options_.find_engine(a.engine);
    if (!engine) throw std::runtime_error("unknown engine " + a.engine);
    s = std::make_unique<Supervisor>(
        Supervisor::Edges{executor_, store_, docker_, hostnet_, session_, options_,
                          [this](const Allocation& a) { return still_wanted(a); },
                          [this](const Allocation& a) {
                            return allocations_.find(model::keys::allocation(
                                       options_.name, a.database_id, a.n)) != nullptr;
                          },
                          [this](const Allocation& a) { return peers(a); }},
        *engine, a);
    s->start();
  }
  return *s;
}

std::vector<std::string> Reconciler::peers(const Allocation& a) const {
  // The pool knows every instance's address by its owner, "id/n" ("id/db" is the database's).
  std::vector<std::string> out;
  std::string prefix = a.database_id + "/";
  for (auto* kv : addresses_.under(model::keys::kAddresses))
    if (kv->value.starts_with(prefix) &&
        kv->value != model::keys::instance_owner(a.database_id, a.n) &&
        kv->value != model::keys::database_address_owner(a.database_id))
      out.push_back(kv->key.substr(model::keys::kAddresses.size()));
  return out;
}

bool Reconciler::still_wanted(const Allocation& a) const {
  auto* kv = allocations_.find(model::keys::allocation(options_.name, a.database_id, a.n));
  if (!kv) return false;
  auto wanted = model::parse<Allocation>(kv->value);
  return wanted.role == a.role && wanted.epoch == a.epoch &&
         wanted.database_address == a.database_address;
}

asio::awaitable<void> Reconciler::reconcile() {
  while (reconciling_) co_await round_ended_.wait(std::chrono::steady_clock::now() + 1s);
  reconciling_ = true;
  struct EndOfRound {
    Reconciler* self;
    ~EndOfRound() {
      self->reconciling_ = false;
      self->round_ended_.notify_all();
    }
  } end{this};
  co_await reconcile_round();
}

asio::awaitable<std::string> Reconciler::cluster_id() {
  std::string now;
  try {
    auto kv = co_await store_.get(model::keys::kClusterId);
    now = kv.kvs.empty() ? "" : kv.kvs[0].value;
  } catch (const store::Unavailable&) {
    co_return cluster_id_;
  }
  if (now != cluster_id_) {
    if (now.empty())
      util::log(
          "agent {}: etcd has no cluster id (emptied, restored from nothing, or not this "
          "cluster's etcd): nothing is made or removed until it has one",
          options_.name);
    else if (!known_cluster_.empty() && now != known_cluster_)
      util::log("agent {}: etcd is cluster {}, not {}: containers of {} are left alone",
                options_.name, now, known_cluster_, known_cluster_);
    else
      util::log("agent {}: cluster {}", options_.name, now);
    cluster_id_ = now;
    if (!now.empty()) known_cluster_ = now;
  }
  co_return now;
}

asio::awaitable<void> Reconciler::reconcile_round() {
  std::map<std::string, Desired> desired;
  for (auto* kv : allocations_.under(model::keys::allocations_of(options_.name))) {
    auto a = model::parse<Allocation>(kv->value);
    auto key = model::keys::instance_owner(a.database_id, a.n);
    auto* engine = options_.find_engine(a.engine);
    auto hash = spec_hash(a, engine);
    std::vector<std::string> legacy{spec_hash(a, engine, &a.password.plain())};
    if (!a.previous_password.empty())
      legacy.push_back(spec_hash(a, engine, &a.previous_password.plain()));
    desired[key] = {std::move(a), std::move(hash), std::move(legacy)};
  }
  std::map<std::string, int64_t> supervised;
  for (auto& [key, s] : supervisors_) supervised[key] = s->allocation().epoch;
  // A named local: g++ 12 mishandles a co_await inside a braced initializer.
  std::string cluster = co_await cluster_id();
  Knowledge knowledge{session_.fenced(), session_.docker_up(), cluster, deleted_databases()};

  // Stop watching what is no longer ours, first: this needs no dockerd, which may be down.
  auto releases = plan(desired, std::nullopt, supervised, knowledge);
  for (auto& action : releases) {
    if (action.kind != Action::Kind::Release) continue;
    util::log("agent {}: release {}", options_.name, action.instance);
    auto it = supervisors_.find(action.instance);
    if (it == supervisors_.end()) continue;
    auto retired = retiring_.insert(retiring_.end(), std::move(it->second));
    supervisors_.erase(it);
    co_await (*retired)->release(!knowledge.docker_up);
    retiring_.erase(retired);
  }
  supervised.clear();
  for (auto& [key, s] : supervisors_) supervised[key] = s->allocation().epoch;

  std::optional<std::vector<docker::ContainerInfo>> observed;
  if (knowledge.docker_up)
    observed = co_await docker_.container_list(engines::labels::kHost, options_.name);
  auto actions = plan(desired, observed, supervised, knowledge);
  for (auto& action : actions) {
    if (action.kind != Action::Kind::Update && action.kind != Action::Kind::Adopt)
      util::log("agent {}: {} {}", options_.name, to_string(action.kind), action.instance);
    if (action.kind == Action::Kind::Remove) {
      co_await remove_container(action);
      continue;
    }
    if (action.kind == Action::Kind::Release || action.kind == Action::Kind::Ignore) continue;
    if (action.kind == Action::Kind::Update) {
      supervisors_.at(action.instance)->update(action.allocation);
      continue;
    }
    // One step that makes the container right, then a supervisor to watch it.
    bool new_container = false, restarted_by_us = false;
    std::string error;
    try {
      co_await apply(action, new_container, restarted_by_us);
    } catch (const std::exception& e) {
      error = e.what();
      util::log("agent {}: instance {}: {}", options_.name, action.instance, error);
      network_ready_ = false;  // the daemon may have lost its network: check it again
    }
    auto& s = supervise(action.allocation);
    s.set_agent_error(error);
  }
  if (!observed) co_return;
  co_await remove_orphans(knowledge);
  if (!knowledge.cluster_id.empty()) co_await release_retired_addresses();
  std::vector<std::string> keys;
  for (auto& [key, s] : supervisors_) keys.push_back(key);
  for (auto& key : keys) {
    auto found = supervisors_.find(key);
    if (found == supervisors_.end()) continue;
    auto& s = found->second;
    // The container's process (its network namespace, what to stop should dockerd die) and
    // Docker's restart count (a crash loop).
    auto info = co_await docker_.container_inspect(engines::container_name(s->allocation()));
    bool made = false, started = false;
    for (auto& a : actions)
      if (a.instance == key) {
        made |= a.kind == Action::Kind::Create || a.kind == Action::Kind::Recreate;
        started |= a.kind == Action::Kind::Start;
      }
    s->container_seen(info && info->running ? info->pid : 0, info ? info->restart_count : -1,
                      started, made);
    if (!made && !started && info && info->running) s->set_agent_error("");
  }
}

asio::awaitable<void> Reconciler::apply(const Action& action, bool& new_container,
                                        bool& restarted_by_us) {
  auto& a = action.allocation;
  auto& c = action.container;
  switch (action.kind) {
    case Action::Kind::Create:
      co_await create_container(a, action.spec_hash, "");
      new_container = true;
      break;
    case Action::Kind::Recreate: {
      std::string volume = volume_of(c);
      if (action.orphan_volume) {
        // A new data generation (replicas re-seeded after a restore) starts from an empty
        // volume; the old data stays until the retention says otherwise.
        co_await keep_as_orphan(volume, a.database_id, a.n, "replaced by a new data generation");
        volume = fresh_volume(a);
        util::log("agent {}: {} starts over from an empty volume", options_.name, action.instance);
      }
      co_await docker_.container_remove(c.id);
      co_await create_container(a, action.spec_hash, volume);
      new_container = true;
      break;
    }
    case Action::Kind::Start:
      restarted_by_us = true;
      util::log("agent {}: {} is {}, starting it", options_.name, c.name, c.state);
      try {
        co_await docker_.container_start(c.id);
      } catch (const std::exception& e) {
        throw std::runtime_error(std::string("cannot start the container: ") + e.what());
      }
      if (options_.macvlan())
        if (auto info = co_await docker_.container_inspect(c.id); info && info->pid)
          co_await hostnet_.announce(info->pid, a.ip);
      break;
    default:  // Adopt: the container runs as wanted; a supervisor takes it over
      break;
  }
}

asio::awaitable<void> Reconciler::forget_deleted_instance(const std::string& db_id, int n) {
  // Only for a database etcd no longer has: its instance's and its own addresses return to
  // the pool, and this host's status of the instance goes.
  if (!(co_await store_.get(model::keys::database(db_id))).kvs.empty()) co_return;
  auto mine = model::keys::instance_owner(db_id, n);
  auto shared = model::keys::database_address_owner(db_id);
  auto all = co_await store_.get_prefix(model::keys::kAddresses);
  for (auto& kv : all.kvs) {
    if (kv.value != mine && kv.value != shared) continue;
    std::vector<store::Compare> owned{store::Compare::absent(model::keys::database(db_id)),
                                      store::Compare::value_is(kv.key, kv.value)};
    std::vector<store::Operation> release{store::Operation::erase(kv.key)};
    co_await store_.txn(owned, release);
  }
  co_await store_.erase(model::keys::status(options_.name, db_id, n));
}

asio::awaitable<void> Reconciler::remove_container(const Action& action) {
  auto& c = action.container;
  auto owner = c.labels.count(engines::labels::kInstance) ? c.labels.at(engines::labels::kInstance)
                                                          : std::string();
  auto slash = owner.find('/');
  std::string db_id = slash == std::string::npos ? "" : owner.substr(0, slash);
  int n = slash == std::string::npos ? 0 : std::stoi(owner.substr(slash + 1));
  // The tombstone and the allocation's removal are one write, but this host's two mirrors of
  // them may hear it apart: etcd itself says whether the database is deleted.
  bool drop_volume = action.drop_volume;
  if (action.orphan_volume && !db_id.empty())
    drop_volume = !(co_await store_.get(model::keys::tombstone(db_id))).kvs.empty();
  // The record first: if etcd does not take it, the container stays and nothing is lost.
  if (action.orphan_volume && !drop_volume && !db_id.empty())
    co_await keep_as_orphan(volume_of(c), db_id, n, "its instance left this host");
  co_await docker_.container_remove(c.id);
  util::log("agent {}: removed {}", options_.name, c.name);
  if (options_.macvlan())
    for (auto& [net, ip] : c.ips)
      if (!ip.empty()) co_await hostnet_.unroute(ip);
  if (!drop_volume || db_id.empty()) co_return;
  // The database is deleted (its tombstone says so): its data here goes, the addresses return
  // to the pool and the status disappears.
  co_await docker_.volume_remove(volume_of(c));
  co_await forget_deleted_instance(db_id, n);
}

}  // namespace berth::agent
