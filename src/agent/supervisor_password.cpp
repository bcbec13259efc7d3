// Supervisor: a password rotation, applied live on the instance this agent runs.
#include "agent/supervisor.hpp"
#include "engines/rootfs.hpp"
#include "util/log.hpp"

namespace berth::agent {

namespace asio = boost::asio;

namespace {
// The container's host name (SASL's realm, for one), from its /etc/hostname.
asio::awaitable<std::string> container_hostname(docker::Docker& docker, const std::string& name) {
  auto tar = co_await docker.archive_get(name, "/etc/hostname");
  std::string hostname;
  if (tar)
    for (auto& [path, content] : engines::read_tar(*tar)) hostname = content;
  while (!hostname.empty() && (hostname.back() == '\n' || hostname.back() == ' '))
    hostname.pop_back();
  co_return hostname;
}
}  // namespace

asio::awaitable<engines::ProbeResult> Supervisor::rotate_password(engines::ProbeResult refused) {
  // A copy: the allocation may change while this waits.
  model::Allocation a = allocation_;
  auto old = co_await engine_.probe(edges_.executor, a.ip, a.port, a.previous_password);
  if (!old.healthy) co_return refused;
  try {
    // The files first (the secret files, for the next start), then the engine: a restart in
    // between starts with the new password, which is what etcd says.
    auto name = engines::container_name(a);
    std::string hostname = co_await container_hostname(edges_.docker, name);
    auto files = co_await engine_.password_files(edges_.executor, a, hostname);
    if (!files.empty())
      co_await edges_.docker.archive_put(name, engines::kSecretDir, engines::secrets_tar(files));
    co_await engine_.set_password(edges_.executor, a.ip, a.port, a.previous_password, a.password);
  } catch (const std::exception& e) {
    // It serves on with the old password; the next round tries again.
    util::log("agent {}: {}: setting the new password: {}", edges_.options.name, key_, e.what());
    co_return old;
  }
  auto now = co_await engine_.probe(edges_.executor, a.ip, a.port, a.password);
  if (!now.healthy) co_return old;  // a replica whose primary's change has not reached it yet
  util::log("agent {}: {}: the password is rotated (generation {})", edges_.options.name, key_,
            a.password_generation);
  answered_generation_ = a.password_generation;
  co_return now;
}

}  // namespace berth::agent
