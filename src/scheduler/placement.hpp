// Placement: which host gets a new instance. A pure function over a snapshot of hosts and
// what is already allocated on them, so every rule is tested without I/O.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace berth::scheduler {

struct HostSnapshot {
  std::string name;
  int64_t memory_mb = 0;     // what the host offers to databases
  int64_t allocated_mb = 0;  // sum of the memory of the instances placed on it
  int instances = 0;
  bool draining = false;
  std::map<std::string, std::string> labels;
};

struct PlacementRequest {
  int64_t memory_mb = 0;
  std::set<std::string> avoid_hosts;  // hosts that already run an instance of this database
  std::map<std::string, std::string> constraints;  // labels a host must carry
};

struct PlacementResult {
  std::string host;   // empty when no host fits
  std::string error;  // why not, naming what is missing
  bool ok() const { return !host.empty(); }
};

// Picks the feasible host with the most free memory (spreading load), ties broken by fewest
// instances then by name, so the choice is deterministic.
PlacementResult place(const std::vector<HostSnapshot>& hosts, const PlacementRequest& request);

}  // namespace berth::scheduler
