// How an agent is configured (berth agent's flags), and the edges it is built with.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

namespace berth::backup {
class ObjectStore;
}
namespace berth::engines {
class Engine;
}

namespace berth::agent {

struct Options {
  std::string name;       // host name, unique in the cluster
  std::string advertise;  // the host's address
  int lease_ttl_seconds = 5;
  std::chrono::milliseconds probe_interval{1000};
  // How often an unchanged status is looked at in etcd (a read) to see it is still there.
  std::chrono::milliseconds status_check_interval{30000};
  std::map<std::string, std::string> labels;
  int64_t memory_mb = 0;  // 0: what dockerd reports
  // "" (a bridge network, one machine) or "macvlan:IF" (containers on the LAN behind IF).
  std::string network;
  std::shared_ptr<backup::ObjectStore> backups;  // the backup store, built at start-up
  std::string metrics_address;  // where its /metrics listens, recorded in the host record
  bool metrics_tls = false;     // whether it speaks HTTPS there
  // How long a volume no instance uses (an orphan) is kept before it is removed.
  std::chrono::seconds orphan_retention{24 * 3600};
  // The engines by name (engines::find_engine); tests put a fake engine here.
  std::function<const engines::Engine*(const std::string&)> find_engine;

  bool macvlan() const { return network.starts_with("macvlan:"); }
  std::string parent_interface() const { return macvlan() ? network.substr(8) : ""; }
};

}  // namespace berth::agent
