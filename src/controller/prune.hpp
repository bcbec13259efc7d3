// What etcd no longer needs to keep: finished tasks (with their logs) and tombstones after a
// week, the outcomes of idempotent requests after a day, addresses whose owner is gone. Pure:
// over the keys as read, no I/O.
#pragma once

#include <chrono>
#include <ctime>
#include <set>
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

// The address keys whose owner is gone for good: an instance's or a database's address
// ("id/n", "id/db") when the database exists no more and no tombstone is left for an agent to
// act on (a tombstone means a host may still run the database: its agent frees them).
// Addresses retired on a host ("retired/HOST/...") and hosts' own are never judged here: only
// that host can tell that no container of its own holds them.
std::vector<std::string> unowned_addresses(const std::vector<const store::KeyValue*>& addresses,
                                           const std::set<std::string>& databases,
                                           const std::set<std::string>& tombstones);

// The keys among tasks, tombstones and idempotency records (any others are ignored) that have
// outlived their retention at now; a record whose time cannot be read is kept.
std::vector<std::string> expired_keys(const std::vector<const store::KeyValue*>& records,
                                      std::time_t now, const RecordRetention& retention);

// The keys under /berth/status/ that are no host's status: those of the layout before statuses
// were kept by host (/berth/status/ID/N), which no reader looks at and no agent may remove.
std::vector<std::string> stray_statuses(const std::vector<const store::KeyValue*>& statuses);

}  // namespace berth::controller
