// What etcd no longer needs to keep: finished tasks (with their logs) and tombstones after a
// week, and the outcomes of idempotent requests after a day. Pure: over the keys as read, no I/O.
#pragma once

#include <chrono>
#include <ctime>
#include <string>
#include <vector>

#include "store/store.hpp"

namespace berth::controller {

struct RecordRetention {
  std::chrono::seconds finished_tasks{7 * 24 * 3600};
  std::chrono::seconds idempotent_outcomes{24 * 3600};
  // A host away longer finds no tombstone: what it still runs of the database becomes an
  // orphan, kept for the orphans' retention, rather than data removed.
  std::chrono::seconds tombstones{7 * 24 * 3600};
};

// The keys among tasks, tombstones and idempotency records (any others are ignored) that have
// outlived their retention at now; a record whose time cannot be read is kept.
std::vector<std::string> expired_keys(const std::vector<const store::KeyValue*>& records,
                                      std::time_t now, const RecordRetention& retention);

}  // namespace berth::controller
