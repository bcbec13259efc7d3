// The reconciler's hands on Docker: the cluster network (and the macvlan shim), engine
// images, and creating an instance's container. A failure says which step failed, for the
// instance's status message.
#include <set>

#include "agent/reconciler.hpp"
#include "netpool/netpool.hpp"
#include "util/log.hpp"
#include "util/subprocess.hpp"

namespace berth::agent {

namespace asio = boost::asio;
using model::Allocation;

asio::awaitable<void> Reconciler::ensure_network() {
  if (network_ready_) co_return;
  auto r = co_await store_.get(model::keys::kNetwork);
  if (r.kvs.empty()) throw std::runtime_error("no cluster network is configured yet");
  auto config = model::parse<model::NetworkConfig>(r.kvs[0].value);
  bool macvlan = options_.macvlan();
  if (!co_await docker_.network_inspect(config.docker_network)) {
    docker::NetworkSpec spec;
    spec.name = config.docker_network;
    spec.driver = macvlan ? "macvlan" : config.driver;
    spec.subnet = config.subnet;
    spec.gateway = config.gateway;
    spec.labels["berth"] = "1";
    if (macvlan) {
      spec.options["parent"] = options_.parent_interface();
      spec.options["macvlan_mode"] = "bridge";
    }
    // A known bridge name (not br-<random>) so tools and clean-up scripts can find it.
    if (spec.driver == "bridge" && spec.name.size() <= 15)
      spec.options["com.docker.network.bridge.name"] = spec.name;
    try {
      co_await docker_.network_create(spec);
    } catch (const docker::Error& e) {
      if (e.status != 409)  // 409: made by someone else meanwhile
        throw std::runtime_error("cannot create the docker network " + spec.name + " (" +
                                 spec.driver + ", " + spec.subnet + "): " + e.what());
    }
    util::log("agent {}: created docker network {} ({}, {})", options_.name, spec.name, spec.driver,
              spec.subnet);
  }
  co_await ensure_shim(config);
  docker_network_ = config.docker_network;
  network_ready_ = true;
}

asio::awaitable<void> Reconciler::ensure_shim(const model::NetworkConfig& config) {
  if (!options_.macvlan() || !shim_address_.empty()) co_return;
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
  co_await hostnet_.ensure_shim(mine);
  shim_address_ = mine;
  util::log("agent {}: shim {} reaches local containers", options_.name, mine);
}

asio::awaitable<void> Reconciler::release_retired_addresses() {
  if (!addresses_.loaded()) co_return;
  // Copied: the mirror may change while we wait on Docker and etcd below.
  std::vector<std::pair<std::string, std::string>> retired;  // (key, owner)
  for (auto* kv : addresses_.under(model::keys::kAddresses))
    if (model::keys::retired_on(kv->value) == options_.name)
      retired.emplace_back(kv->key, kv->value);
  if (retired.empty()) co_return;
  // Listed after this round's removals: any container of ours, running or not (a stopped one
  // takes its address back when it starts).
  std::set<std::string> held;
  for (auto& c : co_await docker_.container_list(engines::labels::kHost, options_.name))
    for (auto& [net, ip] : c.ips) held.insert(ip);
  for (auto& [key, owner] : retired) {
    std::string ip = key.substr(model::keys::kAddresses.size());
    if (held.count(ip)) continue;
    std::vector<store::Compare> still{store::Compare::value_is(key, owner)};
    std::vector<store::Operation> release{store::Operation::erase(key)};
    if ((co_await store_.txn(still, release)).succeeded)
      util::log("agent {}: address {} is free again (no container here holds it)", options_.name,
                ip);
  }
}

asio::awaitable<void> Reconciler::ensure_image(const Allocation& a) {
  if (!a.image.empty()) {
    // A registry image named in the engine settings: pull it when this host lacks it.
    if (!co_await docker_.image_inspect(a.image)) {
      util::log("agent {}: pulling {}", options_.name, a.image);
      try {
        co_await docker_.image_pull(a.image);
      } catch (const std::exception& e) {
        throw std::runtime_error("cannot pull the image " + a.image + ": " + e.what());
      }
    }
    co_return;
  }
  auto* engine = options_.find_engine(a.engine);
  if (!engine) throw std::runtime_error("unknown engine " + a.engine);
  auto recipe = engine->image_recipe();
  if (co_await docker_.image_inspect(recipe.reference())) co_return;
  // Building reads tens of MB of binaries: a child process does it, so none of that memory
  // stays in the long-running agent.
  auto started = std::chrono::steady_clock::now();
  std::vector<std::string> argv{util::self_executable(), "image",           "build", a.engine,
                                "--docker-socket",       docker_.endpoint()};
  auto result = co_await util::run_process(executor_, argv);
  if (result.exit_code != 0)
    throw std::runtime_error("cannot build the image " + recipe.reference() + ": " + result.output);
  util::log("agent {}: built image {} in {} ms", options_.name, recipe.reference(),
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  started)
                .count());
}

asio::awaitable<void> Reconciler::create_container(const Allocation& a, const std::string& hash,
                                                   std::string volume) {
  auto* engine = options_.find_engine(a.engine);
  if (!engine) throw std::runtime_error("unknown engine " + a.engine);
  co_await ensure_network();
  co_await ensure_image(a);
  auto owner = model::keys::instance_owner(a.database_id, a.n);
  auto restore = pending_restore_.find(owner);
  // An instance moved off a live host keeps its address: until its old container is gone (the
  // drained host's agent removes it), a second one at that address would split the LAN's
  // traffic between two machines. Wait for the next pass instead. (Re-created away from a lost
  // host, it has a new address: the controller never hands out one a lost host may hold.) A
  // restore's old container was this host's, removed by this agent: no need to ask the LAN
  // (the asking takes 0.4 s when nothing answers).
  if (options_.macvlan() && restore == pending_restore_.end() &&
      co_await hostnet_.answered_on_lan(a.ip))
    throw std::runtime_error("address " + a.ip +
                             " still answers on the LAN (the instance's old container is not "
                             "gone yet): waiting for it");
  if (restore != pending_restore_.end()) volume = restore->second->volume;
  if (volume.empty()) volume = co_await live_volume(a);
  auto spec = engine->container_spec(a);
  spec.network = docker_network_;
  spec.ip = a.ip;
  // The engine mounts its data at the plain volume name; the data may live in another.
  if (auto mount = spec.volumes.find(engines::volume_name(a)); mount != spec.volumes.end()) {
    std::string path = mount->second;
    spec.volumes.erase(mount);
    spec.volumes[volume] = path;
  }
  spec.labels[engines::labels::kVolume] = volume;
  spec.labels[engines::labels::kInstance] = owner;
  spec.labels[engines::labels::kDatabase] = a.database_id;
  spec.labels[engines::labels::kHost] = options_.name;
  spec.labels[engines::labels::kSpec] = hash;
  spec.labels[engines::labels::kData] = a.data_generation;
  spec.labels[engines::labels::kCluster] = cluster_id_;
  std::string id;
  try {
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
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("cannot create the container: ") + e.what());
  }
  // The password, in files only the engine's user reads, before the engine starts.
  if (auto secrets = engine->secret_files(a); !secrets.empty())
    co_await docker_.archive_put(id, engines::kSecretDir, engines::secrets_tar(secrets));
  next_volume_.erase(owner);  // in use now: found as the live volume from here on
  if (restore != pending_restore_.end()) {
    // A restore: the restore task filled the fresh volume. A named copy: dropping the entry
    // frees it.
    auto data = restore->second;
    restore_drop(owner, data);
    // Told before the engine starts, so that no probe of it can take it for a restart.
    if (auto s = supervisors_.find(owner); s != supervisors_.end()) s->second->starts_over();
    util::log("agent {}: {} starts from restored data", options_.name, owner);
  }
  try {
    co_await docker_.container_start(id);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("cannot start the container: ") + e.what());
  }
  if (options_.macvlan()) {
    co_await hostnet_.route(a.ip);
    if (auto info = co_await docker_.container_inspect(id); info && info->pid)
      co_await hostnet_.announce(info->pid, a.ip);
  }
  util::log("agent {}: started {} ({}) at {}", options_.name, spec.name, id.substr(0, 12), a.ip);
}

}  // namespace berth::agent
