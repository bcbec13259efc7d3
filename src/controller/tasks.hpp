// The task dispatcher's decisions: which host runs each pending task (a backup on an in-sync
// replica when there is one, a restore on the primary), and what becomes of a running task
// whose worker died (back to pending, or failed after three attempts). Pure: no I/O.
#pragma once

#include <ctime>
#include <string>
#include <vector>

#include "controller/plan.hpp"

namespace berth::controller {

inline constexpr int kTaskAttempts = 3;

// Also ends the maintenance of a database whose restore ended (RestoreEnd).
std::vector<Change> plan_tasks(const Snapshot& snapshot);

// Backup schedules at `now` (Unix seconds): fire a backup task when one is due (skipping the
// occurrence while another task runs on the database), and prune scheduled backups beyond
// each database's keep count, oldest first.
std::vector<Change> plan_schedules(const Snapshot& snapshot, std::time_t now);

using model::format_time;
using model::parse_time;

}  // namespace berth::controller
