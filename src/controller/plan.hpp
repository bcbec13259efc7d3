// The reconciler's decisions: given a snapshot of desired and observed state, what must change
// (promote a replica when a primary's host is gone, re-create lost instances elsewhere with
// their old number and a new address, keep min-replicas-to-write honest). Pure: no I/O.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "model/model.hpp"
#include "scheduler/placement.hpp"

namespace berth::controller {

// How long a primary cut off from its replicas goes on taking writes when no agent fences it:
// Redis refuses them once no replica has acknowledged for min-replicas-max-lag (2 s), a figure
// it refreshes each second; Tarantool once none has for 1 s, looked at every 200 ms (berth's
// fence fiber); a margin on top.
inline constexpr std::chrono::milliseconds kEngineSelfFence{4000};

struct AllocationEntry {
  std::string key;
  int64_t mod_revision = 0;
  model::Allocation allocation;
};

struct Snapshot {
  std::map<std::string, std::pair<model::Database, int64_t>> databases;  // id -> (db, mod rev)
  std::vector<AllocationEntry> allocations;
  std::map<std::string, scheduler::HostSnapshot> hosts;   // alive hosts only
  std::map<std::string, model::InstanceStatus> statuses;  // "id/n" -> status
  // Primaries ("id/n") the leader has not reached for a while: lost if their replicas
  // cannot reach them either, even while their host's lease still runs.
  std::set<std::string> unreachable;
  // Primaries ("id/n") the leader's probes reached within the last second, whatever their
  // host's lease says: one whose agent died answers on, and is kept rather than failed over
  // (nothing could fence it, and its container holds the database address).
  std::set<std::string> answering;
  // Primaries a probe found serving writes within the last few seconds (kEngineSelfFence): one
  // whose agent is gone may still take writes until the engine's own rule refuses them.
  std::set<std::string> answered_lately;
  std::set<std::string> left;  // hosts whose agents left on purpose (their primaries fenced)
  // Tasks (backups, restores) and which of them a live worker holds a claim on.
  std::vector<std::pair<int64_t, model::Task>> tasks;  // (mod revision, task)
  std::set<std::string> claimed;
  // Restores that ended while their database is still in maintenance for them, by task id
  // (a task that is gone counts as ended, failed), and whether the engine re-seeds replicas
  // from a restored primary.
  struct EndedRestore {
    model::Task task;
    bool reseed_replicas = false;
  };
  std::map<std::string, EndedRestore> ended_restores;
  // The backup catalog: (key, mod revision, record).
  std::vector<std::pair<int64_t, model::Backup>> backups;
  // Databases with a switchover request not yet finished (controller/switchover_request).
  std::set<std::string> switching;
  // The address pool (none before the network is set) and every address taken:
  // ip -> (owner, mod revision).
  std::optional<model::NetworkConfig> network;
  std::map<std::string, std::pair<std::string, int64_t>> addresses;
};

// What a change writes: one transaction that applies only if every key it read is unchanged.
struct Writes {
  std::map<std::string, int64_t> expect_mod_revision;  // key -> mod revision (0: absent)
  std::map<std::string, std::string> puts;
  std::vector<std::string> deletes;
};

// A live replica takes over from a lost primary under a new epoch; the lost instance comes
// back as a replica on another host (lost_to), or stays where it was, demoted ("").
struct Failover {
  std::string database_id;
  int promoted = -1;
  std::string promoted_host;
  int64_t epoch = 0;
  int lost = -1;
  std::string lost_to;
  Writes writes;
};
// An instance on a lost host is re-created on another with its number and a new address (the
// old one stays retired until the lost host lets it go); empty: a cache without replicas, whose
// data went with its host.
struct Replace {
  std::string database_id;
  int n = -1;
  std::string host;
  bool empty = false;
  Writes writes;
};
// An instance leaves a draining host, or one where it keeps crashing.
struct Move {
  std::string database_id;
  int n = -1;
  std::string host;
  Writes writes;
};
// The primary's min-replicas-to-write follows whether a replica is in sync.
struct MinReplicas {
  std::string database_id;
  int want = 0;
  Writes writes;
};
// The primary leaves a draining host by a switchover (no lost write): an operation the leader
// runs (controller/switchover), not a write.
struct Switchover {
  std::string database_id;
  std::string from_host;
};
// A pending task goes to a worker (or fails: its database is gone).
struct Dispatch {
  std::string database_id;
  std::string task_id, task_kind;
  std::string outcome;  // for the log
  Writes writes;
};
// A running task whose worker died goes back to pending, or fails after kTaskAttempts.
struct Requeue {
  std::string database_id;
  std::string task_id, task_kind;
  std::string outcome;
  Writes writes;
};
// A backup schedule's occurrence: the next time moves on and a backup task fires (task_id), or
// the occurrence is skipped ("") because a task runs or it is the first.
struct ScheduleFire {
  std::string database_id;
  std::string task_id;
  std::string detail;
  Writes writes;
};
// Scheduled backups beyond the keep count go; their objects in the backup store too, once the
// change is applied, unless another catalog entry still names them.
struct Retention {
  std::string database_id;
  int keep = 1;
  std::vector<std::string> backups;
  std::vector<std::string> drop_objects;
  Writes writes;
};

// A restore ended: its database leaves maintenance and, when it worked and the engine asks for
// it, the replicas re-seed from the restored primary (a new data generation). The leader
// writes it: agents write no database or allocation record.
struct RestoreEnd {
  std::string database_id;
  std::string task_id;
  std::string outcome;
  Writes writes;
};

using Change = std::variant<Failover, Replace, Move, MinReplicas, Switchover, Dispatch, Requeue,
                            ScheduleFire, Retention, RestoreEnd>;

// For logs: failover, replace, move, min-replicas, switchover, dispatch, requeue, schedule,
// retention, restore-end; and what it does, in a few words.
std::string_view kind(const Change& change);
std::string detail(const Change& change);
const std::string& database_of(const Change& change);
// What the change writes; nullptr for an operation (Switchover).
const Writes* writes_of(const Change& change);

std::vector<Change> plan(const Snapshot& snapshot);

// The replica to promote: alive host, healthy, highest replication offset, then lowest n.
// Returns nullptr when none qualifies.
const AllocationEntry* choose_promotion(const Snapshot& snapshot,
                                        const std::vector<const AllocationEntry*>& replicas);

}  // namespace berth::controller
