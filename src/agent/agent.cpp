#include "agent/agent.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>

#include "engines/engine.hpp"
#include "util/encoding.hpp"
#include "util/log.hpp"
#include "util/subprocess.hpp"

namespace berth::agent {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using model::Allocation;

// What the agent tracks of one instance it runs.
struct Agent::Instance {
  Allocation allocation;
  std::string key;  // "id/n"
  model::InstanceStatus status;
  std::string published;  // the status JSON last written
  std::chrono::steady_clock::time_point published_at{};
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  bool ever_healthy = false;
  bool stopped = false;
  std::unique_ptr<util::Signal> wake;
};

std::string spec_hash(const Allocation& a) {
  nlohmann::json j = {{"image", a.image}, {"memory_mb", a.memory_mb}, {"password", a.password},
                      {"ip", a.ip},       {"port", a.port},           {"engine", a.engine}};
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
      registered_(executor) {
  allocations_.on_change = [this] { wake_.notify_all(); };
}

Agent::~Agent() = default;

asio::awaitable<void> Agent::run() {
  asio::co_spawn(executor_, allocations_.run(), asio::detached);
  co_await register_host();
  asio::co_spawn(executor_, keep_alive_loop(), asio::detached);
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
      lease_ = co_await store_.lease_grant(options_.lease_ttl_seconds);
      co_await store_.put(model::keys::host(options_.name), model::dump(host), lease_);
      // Statuses were bound to the old lease: publish them again under the new one.
      for (auto& [key, instance] : instances_) instance->published.clear();
      registered_.notify_all();
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
  auto interval = std::chrono::milliseconds(options_.lease_ttl_seconds * 1000 / 3);
  while (!stopping_) {
    timer.expires_after(interval);
    co_await timer.async_wait(asio::use_awaitable);
    if (stopping_) break;
    bool expired = false;
    try {
      expired = co_await store_.lease_keep_alive(lease_) <= 0;
    } catch (const std::exception& e) {
      util::log("agent {}: keep-alive failed: {}", options_.name, e.what());
      continue;  // etcd unreachable: keep trying; the lease may still be alive
    }
    if (expired) {
      util::log("agent {}: lease expired, registering again", options_.name);
      co_await register_host();
      wake_.notify_all();
    }
  }
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
    spec.driver = config.driver;
    spec.subnet = config.subnet;
    spec.gateway = config.gateway;
    spec.labels["berth"] = "1";
    // A known bridge name (not br-<random>) so tools and clean-up scripts can find it.
    if (spec.driver == "bridge" && spec.name.size() <= 15)
      spec.options["com.docker.network.bridge.name"] = spec.name;
    try {
      co_await docker_.network_create(spec);
    } catch (const docker::Error& e) {
      if (e.status != 409) throw;  // made by someone else meanwhile
    }
    util::log("agent {}: created docker network {} ({})", options_.name, spec.name, spec.subnet);
  }
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
  auto r = co_await store_.get(model::keys::kNetwork);
  spec.network = model::parse<model::NetworkConfig>(r.kvs.at(0).value).docker_network;
  spec.ip = a.ip;
  spec.labels[engines::labels::kInstance] = model::keys::instance_owner(a.database_id, a.n);
  spec.labels[engines::labels::kDatabase] = a.database_id;
  spec.labels[engines::labels::kHost] = options_.name;
  spec.labels[engines::labels::kSpec] = hash;
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
  co_await docker_.container_start(id);
  util::log("agent {}: started {} ({}) at {}", options_.name, spec.name, id.substr(0, 12), a.ip);
}

asio::awaitable<void> Agent::remove_container(const docker::ContainerInfo& c) {
  auto owner = c.labels.count(engines::labels::kInstance) ? c.labels.at(engines::labels::kInstance)
                                                          : std::string();
  co_await docker_.container_remove(c.id);
  util::log("agent {}: removed {}", options_.name, c.name);
  auto slash = owner.find('/');
  if (slash == std::string::npos) co_return;
  std::string db_id = owner.substr(0, slash);
  int n = std::stoi(owner.substr(slash + 1));
  // The data goes, the address returns to the pool and the status disappears only when the
  // database itself is gone; an instance that merely moved keeps its address.
  auto db = co_await store_.get(model::keys::database(db_id));
  if (!db.kvs.empty()) co_return;
  co_await docker_.volume_remove("berth-" + db_id + "-" + std::to_string(n));
  for (auto& [name, ip] : c.ips) {
    std::vector<store::Compare> owned{store::Compare::absent(model::keys::database(db_id)),
                                      store::Compare::value_is(model::keys::address(ip), owner)};
    std::vector<store::Operation> release{store::Operation::erase(model::keys::address(ip))};
    co_await store_.txn(owned, release);
  }
  co_await store_.erase(model::keys::status(db_id, n));
}

asio::awaitable<void> Agent::reconcile() {
  std::map<std::string, Allocation> desired;
  for (auto* kv : allocations_.under(model::keys::allocations_of(options_.name))) {
    auto a = model::parse<Allocation>(kv->value);
    desired[model::keys::instance_owner(a.database_id, a.n)] = a;
  }
  auto containers = co_await docker_.container_list(engines::labels::kHost, options_.name);
  std::map<std::string, docker::ContainerInfo> actual;
  for (auto& c : containers) {
    auto it = c.labels.find(engines::labels::kInstance);
    std::string owner = it == c.labels.end() ? "" : it->second;
    if (!desired.count(owner) || actual.count(owner)) {
      co_await remove_container(c);  // not wanted here, or a duplicate
      continue;
    }
    actual[owner] = c;
  }
  // Stop probing what is no longer ours.
  for (auto it = instances_.begin(); it != instances_.end();) {
    if (!desired.count(it->first)) {
      it->second->stopped = true;
      it->second->wake->notify_all();
      it = instances_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& [owner, a] : desired) {
    std::string hash = spec_hash(a);
    auto found = actual.find(owner);
    try {
      if (found == actual.end()) {
        co_await start_instance(a, hash);
      } else if (found->second.labels[engines::labels::kSpec] != hash) {
        co_await docker_.container_remove(found->second.id);
        co_await start_instance(a, hash);
      } else if (!found->second.running) {
        util::log("agent {}: {} is {}, starting it", options_.name, found->second.name,
                  found->second.state);
        co_await docker_.container_start(found->second.id);
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
      instance->status.state = "starting";
      asio::co_spawn(executor_, probe_loop(instance), asio::detached);
    }
    if (instance->allocation.password != a.password || instance->allocation.ip != a.ip)
      instance->ever_healthy = false;
    instance->allocation = a;
  }
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
      s.state = "healthy";
      s.role = result.role;
      s.memory_used_bytes = result.memory_used_bytes;
      s.message.clear();
      instance->ever_healthy = true;
    } else {
      // Before the first answer an instance is starting; afterwards a silence is a fault.
      s.state = instance->ever_healthy ? "unhealthy" : "starting";
      s.message = result.message;
    }
    try {
      co_await publish(*instance);
    } catch (const std::exception& e) {
      util::log("agent {}: publish {}: {}", options_.name, instance->key, e.what());
    }
    // Until the first healthy answer, probe often so a new database is announced at once.
    auto interval = instance->ever_healthy ? options_.probe_interval : 20ms;
    co_await instance->wake->wait(std::chrono::steady_clock::now() + interval);
  }
}

asio::awaitable<void> Agent::publish(Instance& instance) {
  auto& s = instance.status;
  // Memory figures drift all the time: rewrite them at most every 10 s; state changes at once.
  model::InstanceStatus comparable = s;
  comparable.memory_used_bytes = 0;
  comparable.updated_at.clear();
  std::string signature = model::dump(comparable);
  auto now = std::chrono::steady_clock::now();
  if (signature == instance.published && now - instance.published_at < 10s) co_return;
  s.updated_at = model::now_rfc3339();
  co_await store_.put(model::keys::status(instance.allocation.database_id, instance.allocation.n),
                      model::dump(s), lease_);
  instance.published = signature;
  instance.published_at = now;
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
