#include "controller/prune.hpp"

#include "model/model.hpp"

namespace berth::controller {

namespace keys = model::keys;

namespace {

bool older_than(const std::string& rfc3339, std::time_t now, std::chrono::seconds age) {
  std::time_t t = model::parse_time(rfc3339);
  return t > 0 && now - t > age.count();
}

}  // namespace

std::vector<std::string> unowned_addresses(const std::vector<const store::KeyValue*>& addresses,
                                           const std::set<std::string>& databases,
                                           const std::set<std::string>& tombstones) {
  std::vector<std::string> out;
  for (auto* kv : addresses) {
    auto& owner = kv->value;
    if (owner.starts_with(keys::kRetiredOwner) || owner.starts_with(keys::host_address_owner("")))
      continue;
    auto slash = owner.find('/');
    if (slash == std::string::npos || slash == 0) continue;  // not an owner we write
    std::string id = owner.substr(0, slash);
    if (!databases.count(id) && !tombstones.count(id)) out.push_back(kv->key);
  }
  return out;
}

std::vector<std::string> stray_statuses(const std::vector<const store::KeyValue*>& statuses) {
  std::vector<std::string> out;
  std::string host, id;
  int n = 0;
  for (auto* kv : statuses)
    if (!keys::parse_status_key(kv->key, &host, &id, &n)) out.push_back(kv->key);
  return out;
}

std::vector<std::string> expired_keys(const std::vector<const store::KeyValue*>& records,
                                      std::time_t now, const RecordRetention& retention) {
  std::vector<std::string> out;
  for (auto* kv : records) {
    try {
      if (kv->key.starts_with(keys::kTasks)) {
        auto t = model::parse<model::Task>(kv->value);
        if (model::task_finished(t.state) &&
            older_than(t.finished_at, now, retention.finished_tasks))
          out.push_back(kv->key);
      } else if (kv->key.starts_with(keys::kTombstones)) {
        auto t = model::parse<model::Tombstone>(kv->value);
        if (older_than(t.deleted_at, now, retention.tombstones)) out.push_back(kv->key);
      } else if (kv->key.starts_with(keys::kIdempotency)) {
        auto o = model::parse<model::IdempotentOutcome>(kv->value);
        if (older_than(o.created_at, now, retention.idempotent_outcomes)) out.push_back(kv->key);
      }
    } catch (const std::exception&) {
      // Unreadable: not ours to judge.
    }
  }
  return out;
}

}  // namespace berth::controller
