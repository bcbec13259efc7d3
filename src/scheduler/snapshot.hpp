// The scheduler's view of live hosts, read from a mirror of berth's state: capacity, labels,
// draining, and what is already allocated on each. Shared by the API and the controllers.
#pragma once

#include <map>
#include <string>

#include "scheduler/placement.hpp"
#include "store/mirror.hpp"

namespace berth::scheduler {

std::map<std::string, HostSnapshot> live_hosts(const store::Mirror& state);

}  // namespace berth::scheduler
