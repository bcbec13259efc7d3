#include "api/update_plan.hpp"

#include <algorithm>
#include <set>

namespace berth::api {

std::string place_instances(std::map<std::string, scheduler::HostSnapshot> hosts, int count,
                            int64_t memory_mb,
                            const std::map<std::string, std::string>& constraints,
                            std::set<std::string> avoid, int replicas_wanted,
                            std::vector<std::string>* placed) {
  for (int i = 0; i < count; ++i) {
    scheduler::PlacementRequest request{memory_mb, avoid, constraints};
    std::vector<scheduler::HostSnapshot> snapshot;
    for (auto& [name, h] : hosts) snapshot.push_back(h);
    auto placement = scheduler::place(snapshot, request);
    if (!placement.ok()) {
      if (avoid.empty() || placement.error.find("memory_mb") != std::string::npos)
        return placement.error;
      int could = static_cast<int>(avoid.size());
      return "replicas: " + std::to_string(replicas_wanted) + " replicas need " +
             std::to_string(replicas_wanted + 1) + " hosts that can take an instance of " +
             std::to_string(memory_mb) + " MiB; only " + std::to_string(could) + " can";
    }
    hosts[placement.host].allocated_mb += memory_mb;
    avoid.insert(placement.host);
    placed->push_back(placement.host);
  }
  return {};
}

std::vector<int> replicas_to_remove(const UpdateSnapshot& snapshot, int count) {
  auto* primary = model::primary_of(snapshot.instances);
  int primary_n = primary ? primary->n : -1;
  std::vector<std::pair<int, int>> ranked;  // (-badness, -n): worst first, then newest
  for (auto& a : snapshot.instances) {
    if (a.n == primary_n) continue;
    auto state = snapshot.states.find(a.n);
    int badness = !snapshot.hosts.count(a.host) ? 2
                  : state == snapshot.states.end() || state->second != model::InstanceState::healthy
                      ? 1
                      : 0;
    ranked.push_back({-badness, -a.n});
  }
  std::sort(ranked.begin(), ranked.end());
  std::vector<int> out;
  for (int i = 0; i < count && i < static_cast<int>(ranked.size()); ++i)
    out.push_back(-ranked[i].second);
  return out;
}

UpdatePlan plan_update(UpdateSnapshot snapshot, const UpdateRequest& request) {
  UpdatePlan plan;
  auto& db = snapshot.db;
  auto& next = plan.db;
  next = db;
  auto refuse = [&](int status, std::string message) {
    plan.problem = {status, std::move(message)};
    return plan;
  };
  if (request.memory_mb && *request.memory_mb < db.memory_mb && !snapshot.shrink_in_place)
    return refuse(409, "memory_mb: " + snapshot.engine + " cannot shrink in place (" +
                           std::to_string(db.memory_mb) + " MiB now); only growing is possible");
  if (request.memory_mb) next.memory_mb = *request.memory_mb;
  if (request.replicas) next.replicas = *request.replicas;
  if (request.backup_schedule && *request.backup_schedule != db.backup_schedule) {
    if (!request.backup_schedule->empty() && !snapshot.persistent)
      return refuse(422, "backup_schedule: " + snapshot.engine + " keeps no data to back up");
    next.backup_schedule = *request.backup_schedule;
    next.backup_next.clear();  // the leader works out the next time
  }
  if (request.backup_keep) next.backup_keep = *request.backup_keep;
  if (request.backup_verify) next.backup_verify = *request.backup_verify;

  auto* primary = model::primary_of(snapshot.instances);
  if (!primary) return refuse(409, "database: it has no primary right now; try again shortly");
  plan.primary_n = primary->n;
  plan.primary_ip = primary->ip;

  // Fewer replicas: those that go are ranked by replicas_to_remove.
  int have = static_cast<int>(snapshot.instances.size()) - 1;
  std::set<int> removed;
  if (request.replicas && *request.replicas < have)
    for (int n : replicas_to_remove(snapshot, have - *request.replicas)) removed.insert(n);

  // Capacity first: every host that keeps an instance must have room for the difference.
  auto& hosts = snapshot.hosts;
  std::set<std::string> used_hosts;
  for (auto& a : snapshot.instances) {
    if (removed.count(a.n)) {
      plan.removed.push_back(a);
      continue;
    }
    used_hosts.insert(a.host);
    auto it = hosts.find(a.host);
    if (it != hosts.end() && next.memory_mb > a.memory_mb) {
      int64_t more = next.memory_mb - a.memory_mb;
      int64_t free_mb = it->second.memory_mb - it->second.allocated_mb;
      if (free_mb < more)
        return refuse(409, "memory_mb: host " + a.host + " has " + std::to_string(free_mb) +
                               " MiB free, " + std::to_string(more) + " MiB more are needed");
      it->second.allocated_mb += more;
    }
    auto kept = a;
    kept.memory_mb = next.memory_mb;
    if (&a == primary) {
      if (next.replicas == 0) kept.min_replicas_to_write = 0;  // no replica left to wait for
      plan.needs_database_address |= kept.database_address.empty() && next.replicas > 0;
    }
    plan.kept.push_back(std::move(kept));
  }

  // More replicas: placed like at creation, on hosts without an instance of the database,
  // numbered with the lowest numbers free.
  int missing = next.replicas + 1 - static_cast<int>(plan.kept.size());
  if (missing > 0) {
    std::vector<std::string> placed;
    auto problem = place_instances(hosts, missing, next.memory_mb, db.constraints, used_hosts,
                                   next.replicas, &placed);
    if (!problem.empty()) return refuse(409, problem);
    std::set<int> numbers;
    for (auto& a : snapshot.instances) numbers.insert(a.n);
    int n = 0;
    for (auto& host : placed) {
      while (numbers.count(n)) ++n;
      numbers.insert(n);
      plan.added.push_back({n, host});
    }
  }
  return plan;
}

}  // namespace berth::api
