// The task dispatcher's decisions: which host runs each pending task (a backup on an in-sync
// replica when there is one, a restore on the primary), and what becomes of a running task
// whose worker died (back to pending, or failed after three attempts). Pure: no I/O.
#pragma once

#include <vector>

#include "controller/plan.hpp"

namespace berth::controller {

inline constexpr int kTaskAttempts = 3;

std::vector<Change> plan_tasks(const Snapshot& snapshot);

}  // namespace berth::controller
