#include "scheduler/snapshot.hpp"

#include "model/model.hpp"

namespace berth::scheduler {

namespace keys = model::keys;

std::map<std::string, HostSnapshot> live_hosts(const store::Mirror& state) {
  std::map<std::string, HostSnapshot> hosts;
  for (auto* kv : state.under(keys::kHosts)) {
    auto h = model::parse<model::Host>(kv->value);
    auto& snap = hosts[h.name];
    snap.name = h.name;
    snap.memory_mb = h.memory_bytes / 1024 / 1024;
    snap.labels = h.labels;
    if (auto* settings = state.find(keys::host_settings(h.name)))
      snap.draining = model::parse<model::HostSettings>(settings->value).draining;
  }
  for (auto* kv : state.under(keys::kAllocations)) {
    auto a = model::parse<model::Allocation>(kv->value);
    if (auto it = hosts.find(a.host); it != hosts.end()) {
      it->second.allocated_mb += a.memory_mb;
      it->second.instances += 1;
    }
  }
  return hosts;
}

}  // namespace berth::scheduler
