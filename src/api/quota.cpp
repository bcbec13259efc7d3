#include "api/quota.hpp"

namespace berth::api {

ProjectUse project_use(const state::View& view, const std::string& project) {
  ProjectUse use;
  for (auto& [id, db] : view.databases()) {
    if (db.value.project != project) continue;
    use.databases += 1;
    use.memory_mb += db.value.memory_mb * (db.value.replicas + 1);
  }
  return use;
}

std::optional<std::string> quota_refusal(const state::View& view, const std::string& project,
                                         int64_t add_memory_mb, int add_databases) {
  auto* record = view.project(project);
  if (!record) return std::nullopt;
  auto& p = record->value;
  auto use = project_use(view, project);
  if (add_databases > 0 && p.database_quota > 0 && use.databases + add_databases > p.database_quota)
    return "database_quota: project " + project + " has " + std::to_string(use.databases) +
           " databases of its quota of " + std::to_string(p.database_quota);
  if (add_memory_mb > 0 && p.memory_quota_mb > 0 &&
      use.memory_mb + add_memory_mb > p.memory_quota_mb)
    return "memory_quota: project " + project + " uses " + std::to_string(use.memory_mb) +
           " MiB of its quota of " + std::to_string(p.memory_quota_mb) + " MiB; this needs " +
           std::to_string(add_memory_mb) + " MiB more";
  return std::nullopt;
}

void guard_project(const state::View& view, const std::string& project,
                   std::vector<store::Compare>& compares, std::vector<store::Operation>& ops) {
  auto* record = view.project(project);
  if (!record) return;
  compares.push_back(store::Compare::mod_revision_is(record->key, record->mod_revision));
  ops.push_back(store::Operation::put(record->key, model::dump(record->value)));
}

}  // namespace berth::api
