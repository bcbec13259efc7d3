#include "scheduler/placement.hpp"

#include <algorithm>

namespace berth::scheduler {

PlacementResult place(const std::vector<HostSnapshot>& hosts, const PlacementRequest& request) {
  if (hosts.empty()) return {"", "no host is alive: start a berth agent"};
  const HostSnapshot* best = nullptr;
  int64_t most_free = -1;
  int eligible = 0, labelled = 0;
  for (auto& h : hosts) {
    bool labels_match =
        std::all_of(request.constraints.begin(), request.constraints.end(), [&](auto& c) {
          auto it = h.labels.find(c.first);
          return it != h.labels.end() && it->second == c.second;
        });
    if (!labels_match) continue;
    ++labelled;
    if (h.draining || request.avoid_hosts.count(h.name)) continue;
    ++eligible;
    int64_t free = h.memory_mb - h.allocated_mb;
    most_free = std::max(most_free, free);
    if (free < request.memory_mb) continue;
    if (!best) {
      best = &h;
      continue;
    }
    int64_t best_free = best->memory_mb - best->allocated_mb;
    if (free > best_free ||
        (free == best_free && (h.instances < best->instances ||
                               (h.instances == best->instances && h.name < best->name))))
      best = &h;
  }
  if (best) return {best->name, ""};
  if (labelled == 0) {
    std::string wanted;
    for (auto& [k, v] : request.constraints) wanted += (wanted.empty() ? "" : ", ") + k + "=" + v;
    return {"", "constraints: no live host carries the labels " + wanted};
  }
  if (eligible == 0)
    return {"", request.constraints.empty() && request.avoid_hosts.empty()
                    ? "no host can take an instance (all are draining)"
                    : "no host meets the constraints (distinct hosts, labels, not draining)"};
  return {"", "memory_mb: " + std::to_string(request.memory_mb) +
                  " MiB requested but the most free on any host is " + std::to_string(most_free) +
                  " MiB"};
}

}  // namespace berth::scheduler
