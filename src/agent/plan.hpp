// The agent's decisions: from the allocations wanted on this host, the containers Docker shows
// and what the agent knows (fenced, dockerd up), the steps that make the host match; and, for
// one healthy instance, the role to apply. Pure: no I/O. The reconciler and supervisors apply.
#pragma once

#include <chrono>
#include <ctime>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "docker/docker.hpp"
#include "engines/engine.hpp"
#include "model/model.hpp"

namespace berth::agent {

// What the agent knows of itself.
struct Knowledge {
  // etcd has not confirmed the lease lately: another host may hold our primaries' roles.
  bool fenced = false;
  bool docker_up = true;
  // The cluster id in etcd ("" when it has none: a wrong or emptied etcd). Containers of
  // another cluster are never removed; with none, nothing is done at all.
  std::string cluster_id;
  // Databases deleted for good (their tombstones): the only data an agent removes unasked.
  std::set<std::string> deleted;
};

// An allocation wanted on this host, with the hash of its container spec (spec_hash()).
struct Desired {
  model::Allocation allocation;
  std::string spec_hash;
  // The hash as it was before rotation (with the password, or the one before a rotation): a
  // container made so is current too.
  std::vector<std::string> legacy_spec_hashes = {};
};

struct Action {
  enum class Kind {
    Create,    // no container: create one (with the volume it had, if any) and start it
    Recreate,  // its spec changed: remove the container, create it anew
    Start,     // the container exists, stopped: start it
    Adopt,     // a container already runs as wanted and nobody here watches it: supervise it
    Update,    // a supervised instance: hand its supervisor the allocation (role, epoch, memory)
    Ignore,    // an allocation older (by epoch) than the one its supervisor applies
    Remove,    // a container not wanted here, or a second one of an instance
    Release,   // a supervised instance no longer wanted here: stop supervising it
  };
  Kind kind;
  std::string instance;             // "id/n" (from the container's label for Remove)
  model::Allocation allocation;     // what is wanted (not for Remove or Release)
  std::string spec_hash;            // Create, Recreate
  docker::ContainerInfo container;  // the one acted on: Recreate, Start, Adopt, Remove
  // Remove: the database is deleted (a tombstone says so): its data here goes.
  bool drop_volume = false;
  // Remove: the instance left this host (moved, scaled away) and its database lives on;
  // Recreate: a new data generation starts from an empty volume. Either way the old volume
  // stays, as an orphan. A duplicate container keeps the volume it shares, as neither.
  bool orphan_volume = false;
};
const char* to_string(Action::Kind kind);

// observed: the containers labelled with this host, or nullopt when dockerd does not answer
// (then only supervision changes). supervised: instance "id/n" -> epoch its supervisor applies.
// Releases come first (they need no dockerd), then removals, then one step per wanted instance.
// A container of another cluster (its berth.cluster label) is left alone; one without the label
// was made before cluster ids and counts as this cluster's.
std::vector<Action> plan(const std::map<std::string, Desired>& desired,
                         const std::optional<std::vector<docker::ContainerInfo>>& observed,
                         const std::map<std::string, int64_t>& supervised,
                         const Knowledge& knowledge);

// The orphans of this host whose volumes go now: those an operator asked to remove, those of
// deleted databases, and (at most max_expired a pass, oldest first) those kept past retention.
std::vector<model::Orphan> orphans_to_remove(const std::vector<model::Orphan>& orphans,
                                             const std::set<std::string>& deleted, std::time_t now,
                                             std::chrono::seconds retention, size_t max_expired);

// Whether an instance's drifting figures (memory, keys, connections, its rate of operations)
// moved enough since the status last written to be worth a write: liveness is the lease, so
// an idle database writes nothing. seconds: since that write; published_rate: the operations
// per second it reported (the probes' own few commands stay below the threshold).
bool figures_moved(const model::InstanceStatus& published, const model::InstanceStatus& now,
                   double seconds, double published_rate);
// Operations per second between two statuses (0 when the counter went back: a restart).
double operations_rate(const model::InstanceStatus& before, const model::InstanceStatus& now,
                       double seconds);

// What a supervisor does with an instance that answers its probe.
struct RoleStep {
  enum class Kind {
    Apply,         // bring the engine to config (a no-op when it is there)
    HoldReadOnly,  // a restarted primary may have lost acknowledged writes: leave it read-only
    Wait,          // fenced: a replica is not promoted until the agent is back in touch
  };
  Kind kind = Kind::Apply;
  engines::RoleConfig config;
  bool hold_address = false;  // this instance holds the database address
};
// Whether the instance stops taking writes: a primary, out of touch with etcd, that another
// instance could replace meanwhile. A primary that never had a replica (no database address)
// cannot be failed over, so etcd out of reach is no reason to stop its writes (the reasoning
// of Patroni's failsafe mode).
bool writes_fenced(const model::Allocation& allocation, const Knowledge& knowledge);
// holding_lost_writes: the primary restarted empty-handed within the last 15 s (see Supervisor).
RoleStep decide_role(const model::Allocation& allocation, const Knowledge& knowledge,
                     const engines::ProbeResult& current, bool holding_lost_writes);

}  // namespace berth::agent
