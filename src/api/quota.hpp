// Project quotas: whether a change would take a project past its memory or database quota.
// Pure over the state's view.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "state/view.hpp"

namespace berth::api {

struct ProjectUse {
  int databases = 0;
  int64_t memory_mb = 0;  // every instance's limit: a database with a replica counts twice
};
ProjectUse project_use(const state::View& view, const std::string& project);

// The 409's message when adding databases and memory_mb to the project would pass a quota
// (naming the quota, the use and the limit); nullopt when within them, or when it has none.
std::optional<std::string> quota_refusal(const state::View& view, const std::string& project,
                                         int64_t add_memory_mb, int add_databases);

// What makes a quota check hold at commit: the project's record must be as read, and is written
// again, so two changes checked against the same use cannot both commit (the one that loses
// reads again and checks again). Nothing for a project with no record.
void guard_project(const state::View& view, const std::string& project,
                   std::vector<store::Compare>& compares, std::vector<store::Operation>& ops);

}  // namespace berth::api
