#include "support/fake_docker.hpp"

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace berth::test {

using docker::ContainerInfo;

void FakeDocker::fail(const std::string& call, int status, const std::string& message) {
  if (message.empty())
    failing_.erase(call);
  else
    failing_[call] = {status, message};
}

void FakeDocker::enter(const std::string& call, const std::string& argument) {
  calls_.push_back(argument.empty() ? call : call + " " + argument);
  if (down_) throw std::runtime_error("fake dockerd: connection refused");
  if (auto it = failing_.find(call); it != failing_.end())
    throw docker::Error(it->second.first, it->second.second);
}

FakeDocker::Container* FakeDocker::lookup(const std::string& name_or_id) {
  if (auto it = containers_.find(name_or_id); it != containers_.end()) return &it->second;
  for (auto& [id, c] : containers_)
    if (c.info.name == name_or_id) return &c;
  return nullptr;
}

const FakeDocker::Container* FakeDocker::find(const std::string& name_or_id) const {
  return const_cast<FakeDocker*>(this)->lookup(name_or_id);
}

int FakeDocker::count(const std::string& call) const {
  return static_cast<int>(std::count_if(calls_.begin(), calls_.end(), [&](const std::string& c) {
    return c == call || c.starts_with(call + " ");
  }));
}

void FakeDocker::crash(const std::string& name_or_id) {
  if (auto* c = lookup(name_or_id)) c->info.restart_count += 1;
}

asio::awaitable<bool> FakeDocker::ping(std::chrono::milliseconds) {
  calls_.push_back("ping");
  co_return !down_;
}

asio::awaitable<json> FakeDocker::info() {
  enter("info", "");
  co_return json{{"MemTotal", int64_t{8} << 30}, {"NCPU", 4}};
}

asio::awaitable<std::optional<json>> FakeDocker::image_inspect(const std::string& name) {
  enter("image_inspect", name);
  if (!images_.count(name)) co_return std::nullopt;
  co_return json{{"Id", name}};
}

asio::awaitable<void> FakeDocker::image_import(const std::string&, const std::string& repo,
                                               const std::string& tag,
                                               const std::vector<std::string>&) {
  enter("image_import", repo + ":" + tag);
  images_.insert(repo + ":" + tag);
  co_return;
}

asio::awaitable<void> FakeDocker::image_pull(const std::string& reference) {
  enter("image_pull", reference);
  images_.insert(reference);
  co_return;
}

asio::awaitable<std::string> FakeDocker::container_create(const docker::ContainerSpec& spec) {
  enter("container_create", spec.name);
  if (lookup(spec.name)) throw docker::Error(409, "Conflict. The container name is in use");
  if (!images_.count(spec.image)) throw docker::Error(404, "No such image: " + spec.image);
  if (!spec.network.empty() && spec.network != "none" && !networks_.count(spec.network))
    throw docker::Error(404, "network " + spec.network + " not found");
  Container c;
  c.spec = spec;
  c.info.id = "c" + std::to_string(next_id_++);
  c.info.name = spec.name;
  c.info.image = spec.image;
  c.info.state = "created";
  c.info.labels = spec.labels;
  c.info.memory_bytes = spec.memory_bytes;
  if (!spec.network.empty()) c.info.ips[spec.network] = spec.ip;
  for (auto& [volume, path] : spec.volumes)
    if (volumes_.insert(volume).second) volume_order_.push_back(volume);
  auto id = c.info.id;
  containers_[id] = std::move(c);
  co_return id;
}

asio::awaitable<void> FakeDocker::container_start(const std::string& id) {
  enter("container_start", id);
  if (start_delay_.count() > 0) {
    asio::steady_timer slow(co_await asio::this_coro::executor, start_delay_);
    co_await slow.async_wait(asio::use_awaitable);
  }
  auto* c = lookup(id);
  if (!c) throw docker::Error(404, "No such container: " + id);
  c->info.running = true;
  c->info.state = "running";
  co_return;
}

asio::awaitable<void> FakeDocker::container_stop(const std::string& id, int) {
  enter("container_stop", id);
  auto* c = lookup(id);
  if (!c) throw docker::Error(404, "No such container: " + id);
  c->info.running = false;
  c->info.state = "exited";
  co_return;
}

asio::awaitable<void> FakeDocker::container_kill(const std::string& id, const std::string&) {
  enter("container_kill", id);
  auto* c = lookup(id);
  if (!c) throw docker::Error(404, "No such container: " + id);
  if (!c->info.running) throw docker::Error(409, "Container " + id + " is not running");
  c->info.running = false;
  c->info.state = "exited";
  c->info.exit_code = 137;
  co_return;
}

asio::awaitable<void> FakeDocker::container_remove(const std::string& id) {
  enter("container_remove", id);
  if (auto* c = lookup(id)) {
    archives_.erase(c->info.id);
    containers_.erase(c->info.id);
  }
  co_return;
}

asio::awaitable<std::optional<ContainerInfo>> FakeDocker::container_inspect(const std::string& id) {
  enter("container_inspect", id);
  auto* c = lookup(id);
  if (!c) co_return std::nullopt;
  co_return c->info;
}

asio::awaitable<std::vector<ContainerInfo>> FakeDocker::container_list(
    const std::string& label_key, const std::string& label_value) {
  enter("container_list", label_key + "=" + label_value);
  std::vector<ContainerInfo> out;
  for (auto& [id, c] : containers_) {
    auto it = c.info.labels.find(label_key);
    if (it == c.info.labels.end()) continue;
    if (!label_value.empty() && it->second != label_value) continue;
    out.push_back(c.info);
  }
  co_return out;
}

asio::awaitable<std::optional<std::string>> FakeDocker::archive_get(const std::string& id,
                                                                    const std::string& path) {
  enter("archive_get", id + " " + path);
  auto* c = lookup(id);
  if (!c) throw docker::Error(404, "No such container: " + id);
  auto& archives = archives_[c->info.id];
  auto it = archives.find(path);
  if (it == archives.end()) co_return std::nullopt;
  co_return it->second;
}

asio::awaitable<void> FakeDocker::archive_put(const std::string& id, const std::string& path,
                                              const std::string& tar) {
  enter("archive_put", id + " " + path);
  auto* c = lookup(id);
  if (!c) throw docker::Error(404, "No such container: " + id);
  archives_[c->info.id][path] = tar;
  co_return;
}

asio::awaitable<void> FakeDocker::archive_put_stream(
    const std::string& id, const std::string& path, int64_t size,
    std::function<asio::awaitable<std::string>()> next) {
  enter("archive_put", id + " " + path);
  auto* c = lookup(id);
  if (!c) throw docker::Error(404, "No such container: " + id);
  std::string tar;
  for (;;) {
    std::string piece = co_await next();
    if (piece.empty()) break;
    tar += piece;
  }
  if (static_cast<int64_t>(tar.size()) != size)
    throw std::runtime_error("archive_put_stream: " + std::to_string(tar.size()) +
                             " bytes, announced " + std::to_string(size));
  // Looked up again: the container may have gone while the source was drained.
  c = lookup(id);
  if (!c) throw docker::Error(404, "No such container: " + id);
  archives_[c->info.id][path] = std::move(tar);
}

asio::awaitable<int> FakeDocker::container_wait(const std::string& id, std::chrono::seconds) {
  enter("container_wait", id);
  auto* c = lookup(id);
  if (!c) throw docker::Error(404, "No such container: " + id);
  c->info.running = false;
  c->info.state = "exited";
  co_return c->info.exit_code;
}

asio::awaitable<std::string> FakeDocker::container_logs(const std::string& id) {
  enter("container_logs", id);
  co_return "";
}

asio::awaitable<std::string> FakeDocker::container_log_lines(const std::string& id, int, int64_t) {
  enter("container_log_lines", id);
  co_return "";
}

asio::awaitable<void> FakeDocker::container_update_memory(const std::string& id,
                                                          int64_t memory_bytes) {
  enter("container_update_memory", id);
  auto* c = lookup(id);
  if (!c) throw docker::Error(404, "No such container: " + id);
  c->info.memory_bytes = memory_bytes;
  co_return;
}

asio::awaitable<std::optional<json>> FakeDocker::network_inspect(const std::string& name) {
  enter("network_inspect", name);
  auto it = networks_.find(name);
  if (it == networks_.end()) co_return std::nullopt;
  co_return json{{"Name", name}, {"Driver", it->second.driver}};
}

asio::awaitable<void> FakeDocker::network_create(const docker::NetworkSpec& spec) {
  enter("network_create", spec.name);
  if (networks_.count(spec.name)) throw docker::Error(409, "network " + spec.name + " exists");
  networks_[spec.name] = spec;
  co_return;
}

asio::awaitable<void> FakeDocker::volume_create(const std::string& name) {
  enter("volume_create", name);
  if (volumes_.insert(name).second) volume_order_.push_back(name);
  co_return;
}

asio::awaitable<std::string> FakeDocker::volume_mountpoint(const std::string& name) {
  enter("volume_mountpoint", name);
  co_return "";
}

asio::awaitable<std::vector<std::string>> FakeDocker::volume_list(const std::string& part) {
  enter("volume_list", part);
  std::vector<std::string> out;
  for (auto& v : volume_order_)
    if (volumes_.count(v) && v.find(part) != std::string::npos) out.push_back(v);
  co_return out;
}

asio::awaitable<std::map<std::string, int64_t>> FakeDocker::volume_sizes() {
  enter("volume_sizes", "");
  std::map<std::string, int64_t> out;
  for (auto& v : volumes_) out[v] = 4096;
  co_return out;
}

asio::awaitable<void> FakeDocker::volume_remove(const std::string& name) {
  enter("volume_remove", name);
  for (auto& [id, c] : containers_)
    if (c.spec.volumes.count(name))
      throw docker::Error(409, "remove " + name + ": volume is in use");
  volumes_.erase(name);
  co_return;
}

}  // namespace berth::test
