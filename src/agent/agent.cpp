#include "agent/agent.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <csignal>
#include <cstdio>
#include <deque>
#include <set>

#include "agent/instance.hpp"
#include "engines/engine.hpp"
#include "netpool/netpool.hpp"
#include "util/encoding.hpp"
#include "util/log.hpp"
#include "util/subprocess.hpp"
#include "util/tcp_exchange.hpp"

namespace berth::agent {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using model::Allocation;

namespace {
// A container that restarts kCrashRestarts times within kCrashWindow keeps crashing: the
// controller moves it to another host.
constexpr int kCrashRestarts = 3;
constexpr auto kCrashWindow = std::chrono::seconds(60);
}  // namespace

std::string spec_hash(const Allocation& a) {
  // Memory is left out where it changes in place. Role and epoch change at run time too.
  nlohmann::json j = {{"image", a.image},
                      {"password", a.password},
                      {"ip", a.ip},
                      {"port", a.port},
                      {"engine", a.engine}};
  if (!a.data_generation.empty()) j["data"] = a.data_generation;
  if (auto* engine = engines::find_engine(a.engine); engine && engine->resize_restarts(a))
    j["memory_mb"] = a.memory_mb;
  return util::sha256_hex(j.dump()).substr(0, 16);
}

Agent::Agent(asio::any_io_executor executor, store::Store& store, docker::Client& docker,
             Options options)
    : executor_(executor),
      store_(store),
      docker_(docker),
      options_(std::move(options)),
      allocations_(executor, store, model::keys::allocations_of(options_.name)),
      wake_(executor),
      registered_(executor),
      tasks_(executor, store, model::keys::kTasks) {
  allocations_.on_change = [this] { wake_.notify_all(); };
  macvlan_ = options_.network.starts_with("macvlan:");
  hostnet_ = std::make_unique<HostNetwork>(executor, macvlan_ ? options_.network.substr(8) : "");
}

Agent::~Agent() = default;

asio::awaitable<void> Agent::run() {
  asio::co_spawn(executor_, allocations_.run(), asio::detached);
  co_await register_host();
  asio::co_spawn(executor_, keep_alive_loop(), asio::detached);
  asio::co_spawn(executor_, fence_watchdog(), asio::detached);
  asio::co_spawn(executor_, docker_watchdog(), asio::detached);
  asio::co_spawn(executor_, tasks_.run(), asio::detached);
  asio::co_spawn(executor_, task_loop(), asio::detached);
  co_await reconcile_loop();
}

asio::awaitable<void> Agent::register_host() {
  asio::steady_timer retry(executor_);
  for (;;) {
    std::string error;
    try {
      auto info = co_await docker_.info();
      model::Host host;
      host.name = options_.name;
      host.address = options_.advertise;
      host.memory_bytes = options_.memory_mb > 0 ? options_.memory_mb * 1024 * 1024
                                                 : info.value("MemTotal", int64_t{0});
      host.cpus = info.value("NCPU", 0);
      host.labels = options_.labels;
      host.started_at = model::now_rfc3339();
      host.version = "berth-agent";
      host.metrics_address = options_.metrics_address;
      // The host's settings (drain) live on after its lease: made once, if absent.
      model::HostSettings settings;
      settings.first_seen = model::now_rfc3339();
      std::vector<store::Compare> absent{
          store::Compare::absent(model::keys::host_settings(options_.name))};
      std::vector<store::Operation> create{
          store::Operation::put(model::keys::host_settings(options_.name), model::dump(settings))};
      co_await store_.txn(absent, create);
      // lease_ is set only once the host key exists: `berth up` waits on it to say ready.
      int64_t lease = co_await store_.lease_grant(options_.lease_ttl_seconds);
      co_await store_.put(model::keys::host(options_.name), model::dump(host), lease);
      lease_ = lease;
      // Statuses were bound to the old lease: publish them again under the new one.
      for (auto& [key, instance] : instances_) instance->published.clear();
      registered_.notify_all();
      last_keep_alive_ = std::chrono::steady_clock::now();
      util::log("agent {}: registered (lease {:x}, {} MiB, {} CPUs)", options_.name, lease_,
                host.memory_bytes / 1024 / 1024, host.cpus);
      co_return;
    } catch (const std::exception& e) {
      error = e.what();
    }
    util::log("agent {}: cannot register yet: {}", options_.name, error);
    retry.expires_after(500ms);
    co_await retry.async_wait(asio::use_awaitable);
  }
}

asio::awaitable<void> Agent::keep_alive_loop() {
  asio::steady_timer timer(executor_);
  auto interval = std::chrono::milliseconds(options_.lease_ttl_seconds * 1000 / 5);
  while (!stopping_) {
    timer.expires_after(interval);
    co_await timer.async_wait(asio::use_awaitable);
    if (stopping_) break;
    bool expired = false;
    try {
      expired = co_await store_.lease_keep_alive(lease_) <= 0;
      if (!expired) last_keep_alive_ = std::chrono::steady_clock::now();
    } catch (const std::exception& e) {
      util::log("agent {}: keep-alive failed: {}", options_.name, e.what());
      continue;  // etcd unreachable: keep trying; the lease may still be alive
    }
    if (expired) {
      util::log("agent {}: lease expired, registering again", options_.name);
      fenced_ = true;
      co_await register_host();
      last_keep_alive_ = std::chrono::steady_clock::now();
    }
    if (fenced_ && !expired) {
      // Back in touch. Before any primary serves again, the allocations must be current:
      // read them afresh, wait for the mirror to have them, and reconcile (which removes
      // what moved away and demotes what lost its role).
      try {
        auto fresh = co_await store_.get_prefix(model::keys::allocations_of(options_.name));
        // Current means: exactly the keys etcd has now, each at the version etcd has.
        auto prefix = model::keys::allocations_of(options_.name);
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
        if (!current) continue;
        co_await reconcile();
      } catch (const std::exception& e) {
        util::log("agent {}: catching up: {}", options_.name, e.what());
        continue;
      }
      fenced_ = false;
      util::log("agent {}: back in touch with etcd, unfenced", options_.name);
      for (auto& [k, i] : instances_) i->wake->notify_all();
    }
  }
}

asio::awaitable<void> Agent::fence_watchdog() {
  asio::steady_timer timer(executor_);
  // Fence well before the lease can expire in etcd, so that by the time a controller promotes
  // a replica elsewhere, our primaries have stopped taking writes.
  auto limit = std::chrono::milliseconds(options_.lease_ttl_seconds * 1000 * 6 / 10);
  while (!stopping_) {
    timer.expires_after(100ms);
    co_await timer.async_wait(asio::use_awaitable);
    if (!fenced_ && std::chrono::steady_clock::now() - last_keep_alive_ > limit) {
      fenced_ = true;
      util::log("agent {}: no word from etcd for {} ms: fencing primaries", options_.name,
                limit.count());
      for (auto& [k, i] : instances_) i->wake->notify_all();
    }
  }
}

asio::awaitable<void> Agent::docker_watchdog() {
  // A host whose dockerd does not answer cannot restart, move or remove anything: it leaves
  // the cluster (its lease is revoked, so the leader fails its primaries over at once) with
  // its primaries fenced, and registers again once dockerd answers (register_host needs it).
  asio::steady_timer timer(executor_);
  auto limit = std::max(std::chrono::milliseconds(1000),
                        std::chrono::milliseconds(options_.lease_ttl_seconds * 1000 / 2));
  auto last_ok = std::chrono::steady_clock::now();
  while (!stopping_) {
    timer.expires_after(std::min(options_.probe_interval, std::chrono::milliseconds(500)));
    co_await timer.async_wait(asio::use_awaitable);
    bool ok = false;
    try {
      ok = co_await docker_.ping(limit);
    } catch (const std::exception&) {
    }
    auto now = std::chrono::steady_clock::now();
    if (ok) {
      last_ok = now;
      docker_down_ = false;
      continue;
    }
    if (now - last_ok < limit || lease_ == 0 || stopping_) continue;
    int64_t lease = lease_;
    util::log(
        "agent {}: dockerd has not answered for {} ms: fencing primaries and leaving "
        "the cluster until it does",
        options_.name, limit.count());
    fenced_ = true;
    docker_down_ = true;
    for (auto& [k, i] : instances_) i->wake->notify_all();
    try {
      co_await store_.lease_revoke(lease);
    } catch (const std::exception& e) {
      util::log("agent {}: revoking the lease: {}", options_.name, e.what());
    }
    last_ok = now;  // once per outage: register_host waits for dockerd before a new lease
  }
}

asio::awaitable<void> Agent::ensure_shim(const model::NetworkConfig& config) {
  if (!macvlan_ || !shim_address_.empty()) co_return;
  // The shim takes an address from the pool like any instance, owned by this host.
  std::string owner = model::keys::host_address_owner(options_.name);
  auto taken = co_await store_.get_prefix(model::keys::kAddresses);
  std::set<std::string> used;
  std::string mine;
  for (auto& kv : taken.kvs) {
    std::string ip = kv.key.substr(model::keys::kAddresses.size());
    used.insert(ip);
    if (kv.value == owner) mine = ip;
  }
  while (mine.empty()) {
    auto candidate = netpool::choose(config, used);
    if (!candidate) throw std::runtime_error("address pool exhausted: no address for the shim");
    std::vector<store::Compare> absent{store::Compare::absent(model::keys::address(*candidate))};
    std::vector<store::Operation> take{
        store::Operation::put(model::keys::address(*candidate), owner)};
    if ((co_await store_.txn(absent, take)).succeeded) mine = *candidate;
    used.insert(*candidate);
  }
  co_await hostnet_->ensure_shim(mine);
  shim_address_ = mine;
  util::log("agent {}: shim {} reaches local containers", options_.name, mine);
}

asio::awaitable<void> Agent::hold_database_address(Instance& instance, bool want) {
  auto& a = instance.allocation;
  std::string address = want ? a.database_address : "";
  if (address == instance.held_address) co_return;
  if (!instance.held_address.empty()) {
    if (instance.pid) co_await (*hostnet_).drop_address(instance.pid, instance.held_address);
    if (macvlan_) co_await hostnet_->unroute(instance.held_address);
    instance.held_address.clear();
  }
  if (address.empty()) co_return;
  auto info = co_await docker_.container_inspect(engines::container_name(a));
  if (!info || !info->running || info->pid == 0) co_return;
  instance.pid = info->pid;
  co_await (*hostnet_).hold_address(instance.pid, address);
  if (macvlan_) co_await hostnet_->route(address);
  instance.held_address = address;
  util::log("agent {}: {} holds the database address {}", options_.name, instance.key, address);
}

asio::awaitable<void> Agent::reconcile_loop() {
  while (!stopping_) {
    if (allocations_.loaded()) {
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

asio::awaitable<void> Agent::ensure_network() {
  if (network_ready_) co_return;
  auto r = co_await store_.get(model::keys::kNetwork);
  if (r.kvs.empty()) throw std::runtime_error("no cluster network is configured yet");
  auto config = model::parse<model::NetworkConfig>(r.kvs[0].value);
  if (!co_await docker_.network_inspect(config.docker_network)) {
    docker::NetworkSpec spec;
    spec.name = config.docker_network;
    spec.driver = macvlan_ ? "macvlan" : config.driver;
    spec.subnet = config.subnet;
    spec.gateway = config.gateway;
    spec.labels["berth"] = "1";
    if (macvlan_) {
      spec.options["parent"] = options_.network.substr(8);
      spec.options["macvlan_mode"] = "bridge";
    }
    // A known bridge name (not br-<random>) so tools and clean-up scripts can find it.
    if (spec.driver == "bridge" && spec.name.size() <= 15)
      spec.options["com.docker.network.bridge.name"] = spec.name;
    try {
      co_await docker_.network_create(spec);
    } catch (const docker::Error& e) {
      if (e.status != 409) throw;  // made by someone else meanwhile
    }
    util::log("agent {}: created docker network {} ({}, {})", options_.name, spec.name, spec.driver,
              spec.subnet);
  }
  co_await ensure_shim(config);
  docker_network_ = config.docker_network;
  network_ready_ = true;
}

asio::awaitable<void> Agent::ensure_image(const Allocation& a) {
  if (!a.image.empty()) {
    // A registry image named in the engine settings: pull it when this host lacks it.
    if (!co_await docker_.image_inspect(a.image)) {
      util::log("agent {}: pulling {}", options_.name, a.image);
      co_await docker_.image_pull(a.image);
    }
    co_return;
  }
  auto* engine = engines::find_engine(a.engine);
  if (!engine) throw std::runtime_error("unknown engine " + a.engine);
  auto recipe = engine->image_recipe();
  if (co_await docker_.image_inspect(recipe.reference())) co_return;
  // Building reads tens of MB of binaries: a child process does it, so none of that memory
  // stays in the long-running agent.
  auto started = std::chrono::steady_clock::now();
  std::vector<std::string> argv{util::self_executable(), "image",           "build", a.engine,
                                "--docker-socket",       docker_.endpoint()};
  auto result = co_await util::run_process(executor_, argv);
  if (result.exit_code != 0) throw std::runtime_error("image build failed: " + result.output);
  util::log("agent {}: built image {} in {} ms", options_.name, recipe.reference(),
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  started)
                .count());
}

asio::awaitable<void> Agent::start_instance(const Allocation& a, const std::string& hash) {
  auto* engine = engines::find_engine(a.engine);
  if (!engine) throw std::runtime_error("unknown engine " + a.engine);
  co_await ensure_network();
  co_await ensure_image(a);
  auto spec = engine->container_spec(a);
  spec.network = docker_network_;
  spec.ip = a.ip;
  spec.labels[engines::labels::kInstance] = model::keys::instance_owner(a.database_id, a.n);
  spec.labels[engines::labels::kDatabase] = a.database_id;
  spec.labels[engines::labels::kHost] = options_.name;
  spec.labels[engines::labels::kSpec] = hash;
  spec.labels[engines::labels::kData] = a.data_generation;
  std::string id;
  bool name_taken = false;
  try {
    id = co_await docker_.container_create(spec);
  } catch (const docker::Error& e) {
    if (e.status != 409) throw;
    name_taken = true;
  }
  if (name_taken) {
    // A container of that name exists but was not listed with our labels a moment ago
    // (created concurrently or left half-made): remove it and create ours.
    co_await docker_.container_remove(spec.name);
    id = co_await docker_.container_create(spec);
  }
  auto owner = model::keys::instance_owner(a.database_id, a.n);
  if (auto restore = pending_restore_.find(owner); restore != pending_restore_.end()) {
    // A restore: the data goes into the volume before the engine first starts.
    co_await restore->second->put(docker_, id, engine->data_dir());
    pending_restore_.erase(owner);
    util::log("agent {}: {} starts from restored data", options_.name, owner);
  }
  co_await docker_.container_start(id);
  if (macvlan_) {
    co_await hostnet_->route(a.ip);
    if (auto info = co_await docker_.container_inspect(id); info && info->pid)
      co_await hostnet_->announce(info->pid, a.ip);
  }
  util::log("agent {}: started {} ({}) at {}", options_.name, spec.name, id.substr(0, 12), a.ip);
}

asio::awaitable<void> Agent::remove_container(const docker::ContainerInfo& c, bool wanted_here) {
  auto owner = c.labels.count(engines::labels::kInstance) ? c.labels.at(engines::labels::kInstance)
                                                          : std::string();
  co_await docker_.container_remove(c.id);
  util::log("agent {}: removed {}", options_.name, c.name);
  if (macvlan_)
    for (auto& [net, ip] : c.ips)
      if (!ip.empty()) co_await hostnet_->unroute(ip);
  auto slash = owner.find('/');
  if (slash == std::string::npos) co_return;
  std::string db_id = owner.substr(0, slash);
  int n = std::stoi(owner.substr(slash + 1));
  // A duplicate of an instance that stays here keeps the data it shares with the original.
  if (wanted_here) co_return;
  // An instance that moved away (or was scaled away) lives on from its replicas: its data
  // here goes. The address returns to the pool and the status disappears only when the
  // database itself is gone; an instance that merely moved keeps its address.
  co_await docker_.volume_remove(engines::volume_name(db_id, n));
  auto db = co_await store_.get(model::keys::database(db_id));
  if (!db.kvs.empty()) co_return;
  for (auto& [name, ip] : c.ips) {
    std::vector<store::Compare> owned{store::Compare::absent(model::keys::database(db_id)),
                                      store::Compare::value_is(model::keys::address(ip), owner)};
    std::vector<store::Operation> release{store::Operation::erase(model::keys::address(ip))};
    co_await store_.txn(owned, release);
  }
  co_await store_.erase(model::keys::status(db_id, n));
  co_await release_database_addresses(db_id);
}

asio::awaitable<void> Agent::release_database_addresses(const std::string& db_id) {
  auto owner = model::keys::database_address_owner(db_id);
  auto all = co_await store_.get_prefix(model::keys::kAddresses);
  for (auto& kv : all.kvs) {
    if (kv.value != owner) continue;
    std::vector<store::Compare> owned{store::Compare::absent(model::keys::database(db_id)),
                                      store::Compare::value_is(kv.key, owner)};
    std::vector<store::Operation> release{store::Operation::erase(kv.key)};
    co_await store_.txn(owned, release);
  }
}

asio::awaitable<void> Agent::reconcile() {
  std::map<std::string, Allocation> desired;
  for (auto* kv : allocations_.under(model::keys::allocations_of(options_.name))) {
    auto a = model::parse<Allocation>(kv->value);
    desired[model::keys::instance_owner(a.database_id, a.n)] = a;
  }
  // Stop probing what is no longer ours, first: this needs no dockerd, which may be down.
  for (auto it = instances_.begin(); it != instances_.end();) {
    if (!desired.count(it->first)) {
      auto instance = it->second;
      instance->stopped = true;
      instance->wake->notify_all();
      it = instances_.erase(it);
      // The database address goes with it, even while dockerd cannot remove the container.
      co_await hold_database_address(*instance, false);
      if (docker_down_ && instance->pid > 0) {
        // Without dockerd the container cannot be removed, and it runs on elsewhere now:
        // stop its process, which would otherwise answer at an address that moved.
        util::log("agent {}: dockerd is down: unplugging and killing {}'s process {}",
                  options_.name, instance->key, instance->pid);
        co_await hostnet_->unplug(instance->pid);
        ::kill(instance->pid, SIGKILL);
      }
      try {
        co_await withdraw_status(*instance);
      } catch (const std::exception& e) {
        util::log("agent {}: withdrawing the status of {}: {}", options_.name, instance->key,
                  e.what());
      }
    } else {
      ++it;
    }
  }
  auto containers = co_await docker_.container_list(engines::labels::kHost, options_.name);
  std::map<std::string, docker::ContainerInfo> actual;
  for (auto& c : containers) {
    auto it = c.labels.find(engines::labels::kInstance);
    std::string owner = it == c.labels.end() ? "" : it->second;
    if (!desired.count(owner) || actual.count(owner)) {
      co_await remove_container(c, desired.count(owner) > 0);  // not wanted here, or a duplicate
      continue;
    }
    actual[owner] = c;
  }
  std::set<std::string> new_containers, restarted_by_us;
  for (auto& [owner, a] : desired) {
    std::string hash = spec_hash(a);
    auto found = actual.find(owner);
    try {
      if (found == actual.end()) {
        co_await start_instance(a, hash);
        new_containers.insert(owner);
      } else if (found->second.labels[engines::labels::kSpec] != hash) {
        co_await docker_.container_remove(found->second.id);
        if (found->second.labels[engines::labels::kData] != a.data_generation) {
          co_await docker_.volume_remove(engines::volume_name(a));
          util::log("agent {}: {} starts over from an empty volume", options_.name, owner);
        }
        co_await start_instance(a, hash);
        new_containers.insert(owner);
      } else if (!found->second.running) {
        restarted_by_us.insert(owner);
        util::log("agent {}: {} is {}, starting it", options_.name, found->second.name,
                  found->second.state);
        co_await docker_.container_start(found->second.id);
        if (macvlan_)
          if (auto info = co_await docker_.container_inspect(found->second.id); info && info->pid)
            co_await hostnet_->announce(info->pid, a.ip);
      }
    } catch (const std::exception& e) {
      util::log("agent {}: instance {}: {}", options_.name, owner, e.what());
      network_ready_ = false;  // the daemon may have lost its network: check it again
    }
    auto& instance = instances_[owner];
    if (!instance) {
      instance = std::make_shared<Instance>();
      instance->key = owner;
      instance->wake = std::make_unique<util::Signal>(executor_);
      instance->allocation = a;
      instance->status.host = options_.name;
      instance->status.state = model::InstanceState::starting;
      asio::co_spawn(executor_, probe_loop(instance), asio::detached);
    }
    if (instance->allocation.password != a.password || instance->allocation.ip != a.ip)
      instance->ever_healthy = false;
    if (new_containers.count(owner)) instance->last_restart_count = -1;
    bool role_changed = instance->allocation.role != a.role ||
                        instance->allocation.epoch != a.epoch ||
                        instance->allocation.primary_ip != a.primary_ip ||
                        instance->allocation.memory_mb != a.memory_mb ||
                        instance->allocation.min_replicas_to_write != a.min_replicas_to_write;
    {
      // The container's process: its network namespace, and what to stop should dockerd die.
      // A restarted container has a new namespace, without the database address.
      auto info = co_await docker_.container_inspect(engines::container_name(a));
      int pid = info && info->running ? info->pid : 0;
      if (pid != instance->pid) instance->held_address.clear();
      instance->pid = pid;
      note_restarts(*instance, info ? info->restart_count : -1, restarted_by_us.count(owner) > 0);
    }
    instance->allocation = a;
    if (role_changed) instance->wake->notify_all();  // act on a promotion at once
  }
}

void Agent::note_restarts(Instance& instance, int restart_count, bool restarted_by_us) {
  auto now = std::chrono::steady_clock::now();
  int seen = 0;
  if (instance.last_restart_count >= 0 && restart_count > instance.last_restart_count)
    seen = restart_count - instance.last_restart_count;
  if (restarted_by_us) seen = std::max(seen, 1);
  for (int i = 0; i < seen; ++i) instance.restarts.push_back(now);
  if (restart_count >= 0) instance.last_restart_count = restart_count;
  while (!instance.restarts.empty() && now - instance.restarts.front() > kCrashWindow)
    instance.restarts.pop_front();
  bool looping = static_cast<int>(instance.restarts.size()) >= kCrashRestarts;
  if (looping && !instance.crash_looping)
    util::log("agent {}: {} keeps crashing ({} restarts within {} s)", options_.name, instance.key,
              instance.restarts.size(), kCrashWindow.count());
  instance.crash_looping = looping;
  instance.status.restarts += seen;
}

asio::awaitable<void> Agent::probe_loop(std::shared_ptr<Instance> instance) {
  auto* engine = engines::find_engine(instance->allocation.engine);
  if (!engine) co_return;
  while (!instance->stopped && !stopping_) {
    auto& a = instance->allocation;
    auto result = co_await engine->probe(executor_, a.ip, a.port, a.password);
    if (instance->stopped) break;
    auto& s = instance->status;
    if (result.healthy) {
      try {
        co_await converge(*instance, *engine, result);
      } catch (const std::exception& e) {
        util::log("agent {}: {}: {}", options_.name, instance->key, e.what());
      }
      if (instance->stopped) break;
      s.state = model::InstanceState::healthy;
      s.role = model::from_name<model::Role>(result.role);
      s.memory_used_bytes = result.memory_used_bytes;
      s.connections = result.connections;
      s.operations = result.operations;
      s.keys = result.keys;
      s.offset = result.offset;
      s.link_up = result.link_up;
      s.epoch = a.epoch;
      s.memory_limit_mb = instance->applied_memory_mb;
      s.holds_address = instance->held_address;
      s.message = fenced_ && a.role == model::Role::primary ? "fenced: writes paused" : "";
      instance->ever_healthy = true;
      if (instance->crash_looping) {
        s.state = model::InstanceState::failed;
        s.message = "keeps crashing: " + std::to_string(instance->restarts.size()) +
                    " restarts within a minute";
      } else if (instance->lost_writes && result.awaiting_role) {
        s.state = model::InstanceState::failed;
        s.message = "restarted: a replica with every acknowledged write takes over";
      }
      // A second opinion for the controller: can this replica's host reach the primary?
      s.primary_down = false;
      if (a.role == model::Role::replica && !a.primary_ip.empty()) {
        try {
          co_await util::tcp_exchange(
              executor_, a.primary_ip, a.port, "", [](const std::string&) { return true; }, 300ms);
        } catch (const util::ExchangeError&) {
          s.primary_down = true;
        }
      }
    } else {
      // Before the first answer an instance is starting; afterwards a silence is a fault.
      s.state = instance->crash_looping  ? model::InstanceState::failed
                : instance->ever_healthy ? model::InstanceState::unhealthy
                                         : model::InstanceState::starting;
      s.message = instance->crash_looping
                      ? "keeps crashing: " + std::to_string(instance->restarts.size()) +
                            " restarts within a minute; " + result.message
                      : result.message;
    }
    // Publishing waits on etcd, which may be out of reach: never let it hold up probing
    // and fencing. One publication in flight per instance; the next round catches up.
    if (!instance->publishing) {
      instance->publishing = true;
      asio::co_spawn(executor_, publish_in_background(instance), asio::detached);
    }
    // Until the first healthy answer, probe often so a new database is announced at once.
    auto interval = instance->ever_healthy ? options_.probe_interval : 20ms;
    co_await instance->wake->wait(std::chrono::steady_clock::now() + interval);
  }
}

asio::awaitable<void> Agent::converge(Instance& instance, const engines::Engine& engine,
                                      const engines::ProbeResult& current) {
  auto& a = instance.allocation;
  bool primary = a.role == model::Role::primary;
  if (primary && current.awaiting_role && instance.ever_healthy && !a.database_address.empty() &&
      !instance.lost_writes) {
    instance.lost_writes = true;
    instance.lost_writes_since = std::chrono::steady_clock::now();
    util::log("agent {}: primary {} restarted: holding it read-only for a replica to take over",
              options_.name, instance.key);
  }
  if (!primary || !current.awaiting_role) instance.lost_writes = false;
  if (instance.lost_writes &&
      std::chrono::steady_clock::now() - instance.lost_writes_since < std::chrono::seconds(15)) {
    co_await hold_database_address(instance, false);
    co_return;
  }
  // The database address moves first: the old holder lets go before any new one takes it.
  bool hold = primary && !fenced_ && !a.database_address.empty();
  if (!hold) co_await hold_database_address(instance, false);
  engines::RoleConfig role{model::to_string(a.role), a.primary_ip, a.port, a.min_replicas_to_write,
                           fenced_ && primary};
  auto observed = current;
  // Engines that can tell (a read-only Tarantool) say so; Redis cannot, so the agent recalls.
  observed.writes_paused = current.writes_paused || instance.writes_paused;
  co_await engine.apply_role(executor_, a.ip, a.port, a.password, role, observed);
  instance.writes_paused = role.fenced;
  if (a.memory_mb != instance.applied_memory_mb) {
    // Resize in place: the container's limit and the engine's own, no restart. Growing, the
    // container grows first; shrinking, the engine shrinks first.
    auto container = engines::container_name(a);
    if (a.memory_mb > instance.applied_memory_mb) {
      co_await docker_.container_update_memory(container, a.memory_mb * 1024 * 1024);
      co_await engine.resize(executor_, a.ip, a.port, a.password, a.memory_mb);
    } else {
      co_await engine.resize(executor_, a.ip, a.port, a.password, a.memory_mb);
      co_await docker_.container_update_memory(container, a.memory_mb * 1024 * 1024);
    }
    instance.applied_memory_mb = a.memory_mb;
  }
  if (hold) co_await hold_database_address(instance, true);
}

asio::awaitable<void> Agent::publish_in_background(std::shared_ptr<Instance> instance) {
  try {
    co_await publish(*instance);
  } catch (const std::exception& e) {
    util::log("agent {}: publish {}: {}", options_.name, instance->key, e.what());
  }
  instance->publishing = false;
}

asio::awaitable<void> Agent::publish(Instance& instance) {
  auto& s = instance.status;
  // Memory and traffic figures drift all the time: rewrite them at most every 10 s; state changes
  // at once.
  model::InstanceStatus comparable = s;
  comparable.memory_used_bytes = comparable.connections = comparable.operations = 0;
  comparable.keys = 0;
  comparable.updated_at.clear();
  std::string signature = model::dump(comparable);
  auto now = std::chrono::steady_clock::now();
  if (signature == instance.published && now - instance.published_at < 10s) co_return;
  s.updated_at = model::now_rfc3339();
  auto key = model::keys::status(instance.allocation.database_id, instance.allocation.n);
  auto value = model::dump(s);
  co_await store_.put(key, value, lease_);
  instance.published = signature;
  instance.published_value = value;
  instance.published_at = now;
  if (instance.stopped) co_await withdraw_status(instance);  // removed while we wrote
}

asio::awaitable<void> Agent::withdraw_status(Instance& instance) {
  // Only our own word goes: if the instance runs elsewhere now, its new host's status stays.
  if (instance.published_value.empty()) co_return;
  auto key = model::keys::status(instance.allocation.database_id, instance.allocation.n);
  std::vector<store::Compare> ours{store::Compare::value_is(key, instance.published_value)};
  std::vector<store::Operation> erase{store::Operation::erase(key)};
  co_await store_.txn(ours, erase);
}

asio::awaitable<bool> Agent::wait_registered(std::chrono::steady_clock::duration timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (lease_ == 0 && std::chrono::steady_clock::now() < deadline)
    co_await registered_.wait(deadline);
  co_return lease_ != 0;
}

asio::awaitable<void> Agent::shutdown() {
  stopping_ = true;
  wake_.notify_all();
  for (auto& [k, i] : instances_) {
    i->stopped = true;
    i->wake->notify_all();
  }
  if (lease_) {
    try {
      co_await store_.lease_revoke(lease_);
    } catch (const std::exception&) {
    }
  }
}

}  // namespace berth::agent
