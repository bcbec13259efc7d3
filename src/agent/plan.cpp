#include "agent/plan.hpp"

#include <algorithm>
#include <set>

namespace berth::agent {

using Kind = Action::Kind;

const char* to_string(Action::Kind kind) {
  switch (kind) {
    case Kind::Create:
      return "create";
    case Kind::Recreate:
      return "recreate";
    case Kind::Start:
      return "start";
    case Kind::Adopt:
      return "adopt";
    case Kind::Update:
      return "update";
    case Kind::Ignore:
      return "ignore";
    case Kind::Remove:
      return "remove";
    case Kind::Release:
      return "release";
  }
  return "?";
}

namespace {
std::string label(const docker::ContainerInfo& c, const std::string& key) {
  auto it = c.labels.find(key);
  return it == c.labels.end() ? "" : it->second;
}
}  // namespace

std::vector<Action> plan(const std::map<std::string, Desired>& desired,
                         const std::optional<std::vector<docker::ContainerInfo>>& observed,
                         const std::map<std::string, int64_t>& supervised,
                         const Knowledge& knowledge) {
  std::vector<Action> actions;
  // An etcd without a cluster id is not one this host can trust (emptied, restored from
  // nothing, the wrong one): nothing is made, released or removed until it has one.
  if (knowledge.cluster_id.empty()) return actions;
  for (auto& [instance, epoch] : supervised)
    if (!desired.count(instance)) actions.push_back({Kind::Release, instance});

  // One container per wanted instance: the first listed; any other, and any container not
  // wanted here, goes.
  std::map<std::string, docker::ContainerInfo> actual;
  if (observed && knowledge.docker_up) {
    for (auto& c : *observed) {
      auto owner = label(c, engines::labels::kInstance);
      auto cluster = label(c, engines::labels::kCluster);
      if (!cluster.empty() && cluster != knowledge.cluster_id) continue;  // not ours to judge
      bool wanted = desired.count(owner) > 0;
      if (!wanted || actual.count(owner)) {
        Action remove{Kind::Remove, owner};
        remove.container = c;
        bool deleted = knowledge.deleted.count(label(c, engines::labels::kDatabase)) > 0;
        remove.drop_volume = !wanted && deleted;
        remove.orphan_volume = !wanted && !deleted;
        actions.push_back(std::move(remove));
        continue;
      }
      actual[owner] = c;
    }
  }

  for (auto& [instance, want] : desired) {
    auto& a = want.allocation;
    auto watched = supervised.find(instance);
    if (watched != supervised.end() && a.epoch < watched->second) {
      // An older word than the one applied (a stale read): never act on it.
      actions.push_back({Kind::Ignore, instance, a});
      continue;
    }
    if (observed && knowledge.docker_up) {
      auto found = actual.find(instance);
      Action step{Kind::Create, instance, a, want.spec_hash};
      if (found == actual.end()) {
        actions.push_back(step);
      } else if (auto spec = label(found->second, engines::labels::kSpec);
                 spec != want.spec_hash &&
                 std::find(want.legacy_spec_hashes.begin(), want.legacy_spec_hashes.end(), spec) ==
                     want.legacy_spec_hashes.end()) {
        step.kind = Kind::Recreate;
        step.container = found->second;
        step.orphan_volume = label(found->second, engines::labels::kData) != a.data_generation;
        actions.push_back(step);
      } else if (!found->second.running) {
        step.kind = Kind::Start;
        step.spec_hash.clear();
        step.container = found->second;
        actions.push_back(step);
      } else if (watched == supervised.end()) {
        step.kind = Kind::Adopt;
        step.spec_hash.clear();
        step.container = found->second;
        actions.push_back(step);
      }
    }
    if (watched != supervised.end()) actions.push_back({Kind::Update, instance, a});
  }
  return actions;
}

std::vector<model::Orphan> orphans_to_remove(const std::vector<model::Orphan>& orphans,
                                             const std::set<std::string>& deleted, std::time_t now,
                                             std::chrono::seconds retention, size_t max_expired) {
  std::vector<model::Orphan> out, expired;
  for (auto& o : orphans) {
    if (o.remove_requested || deleted.count(o.database_id)) {
      out.push_back(o);
      continue;
    }
    std::time_t since = model::parse_time(o.since);
    if (since > 0 && now - since >= retention.count()) expired.push_back(o);
  }
  // A handful at a time: however many look expired, a wrong clock or a wrong etcd does not
  // empty a host in one pass.
  std::sort(expired.begin(), expired.end(),
            [](const model::Orphan& a, const model::Orphan& b) { return a.since < b.since; });
  if (expired.size() > max_expired) expired.resize(max_expired);
  out.insert(out.end(), expired.begin(), expired.end());
  return out;
}

double operations_rate(const model::InstanceStatus& before, const model::InstanceStatus& now,
                       double seconds) {
  if (seconds <= 0 || now.operations < before.operations) return 0;
  return double(now.operations - before.operations) / seconds;
}

bool figures_moved(const model::InstanceStatus& published, const model::InstanceStatus& now,
                   double seconds, double published_rate) {
  auto moved = [](int64_t a, int64_t b, int64_t floor, int64_t percent) {
    int64_t d = a > b ? a - b : b - a;
    return d > std::max(floor, std::max(a, b) * percent / 100);
  };
  if (moved(published.memory_used_bytes, now.memory_used_bytes, int64_t{1} << 20, 5)) return true;
  if (moved(published.keys, now.keys, 10, 2)) return true;
  if (moved(published.connections, now.connections, 1, 0)) return true;
  double rate = operations_rate(published, now, seconds);
  double change = rate > published_rate ? rate - published_rate : published_rate - rate;
  return change > std::max(10.0, 0.25 * std::max(rate, published_rate));
}

bool writes_fenced(const model::Allocation& a, const Knowledge& knowledge) {
  return knowledge.fenced && a.role == model::Role::primary && !a.database_address.empty();
}

RoleStep decide_role(const model::Allocation& a, const Knowledge& knowledge,
                     const engines::ProbeResult& current, bool holding_lost_writes) {
  RoleStep step;
  bool primary = a.role == model::Role::primary;
  if (holding_lost_writes) {
    step.kind = RoleStep::Kind::HoldReadOnly;
    return step;
  }
  step.config = {model::to_string(a.role), a.primary_ip, a.port, a.min_replicas_to_write,
                 writes_fenced(a, knowledge)};
  if (knowledge.fenced && primary && current.role != "primary") {
    // Out of touch, the allocation that made it primary may already be stale: promote only
    // once etcd confirms the lease again.
    step.kind = RoleStep::Kind::Wait;
    return step;
  }
  step.hold_address = primary && !knowledge.fenced && !a.database_address.empty();
  return step;
}

}  // namespace berth::agent
