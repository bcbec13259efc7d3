// The reconciler's decisions: given a snapshot of desired and observed state, what must change
// (promote a replica when a primary's host is gone, re-create lost instances elsewhere with
// their old number and address, keep min-replicas-to-write honest). Pure: no I/O.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "model/model.hpp"
#include "scheduler/placement.hpp"

namespace berth::controller {

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
  // Tasks (backups, restores) and which of them a live worker holds a claim on.
  std::vector<std::pair<int64_t, model::Task>> tasks;  // (mod revision, task)
  std::set<std::string> claimed;
  // The backup catalog: (key, mod revision, record).
  std::vector<std::pair<int64_t, model::Backup>> backups;
};

// One change: written as one transaction that succeeds only if every key it read is unchanged.
struct Change {
  std::string database_id;
  std::string kind;  // failover, replace, move, min-replicas, switchover, dispatch, requeue
  std::string detail;
  std::map<std::string, int64_t> expect_mod_revision;  // key -> mod revision (0: absent)
  std::map<std::string, std::string> puts;
  std::vector<std::string> deletes;
  // Backup store objects (checksums) to remove once the change is applied, unless another
  // catalog entry still names them.
  std::vector<std::string> drop_objects;
};

std::vector<Change> plan(const Snapshot& snapshot);

// The replica to promote: alive host, healthy, highest replication offset, then lowest n.
// Returns nullptr when none qualifies.
const AllocationEntry* choose_promotion(const Snapshot& snapshot,
                                        const std::vector<const AllocationEntry*>& replicas);

}  // namespace berth::controller
