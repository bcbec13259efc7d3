// The reconciler's volumes: which one holds an instance's data, and the orphans — volumes kept
// on this host after their instance left, recorded in etcd, removed only by retention, by an
// operator, or because their database is deleted.
#include "agent/reconciler.hpp"
#include "util/encoding.hpp"
#include "util/log.hpp"

namespace berth::agent {

namespace asio = boost::asio;
namespace keys = model::keys;
using model::Allocation;

std::string Reconciler::volume_of(const docker::ContainerInfo& c) {
  if (auto it = c.labels.find(engines::labels::kVolume);
      it != c.labels.end() && !it->second.empty())
    return it->second;
  auto owner = c.labels.count(engines::labels::kInstance) ? c.labels.at(engines::labels::kInstance)
                                                          : std::string();
  auto slash = owner.find('/');
  if (slash == std::string::npos) return "";
  return engines::volume_name(owner.substr(0, slash), std::stoi(owner.substr(slash + 1)));
}

std::set<std::string> Reconciler::deleted_databases() const {
  std::set<std::string> out;
  for (auto* kv : tombstones_.under(keys::kTombstones))
    out.insert(kv->key.substr(keys::kTombstones.size()));
  return out;
}

std::vector<model::Orphan> Reconciler::orphans() const {
  std::vector<model::Orphan> out;
  for (auto* kv : orphans_.under(keys::orphans_of(options_.name))) {
    try {
      out.push_back(model::parse<model::Orphan>(kv->value));
    } catch (const std::exception&) {
    }
  }
  return out;
}

std::string Reconciler::fresh_volume(const Allocation& a) const {
  return engines::volume_name(a) + "-" + util::random_hex(3);
}

asio::awaitable<std::string> Reconciler::live_volume(const Allocation& a) {
  auto owner = keys::instance_owner(a.database_id, a.n);
  if (auto next = next_volume_.find(owner); next != next_volume_.end()) co_return next->second;
  std::set<std::string> orphaned;
  for (auto& o : orphans()) orphaned.insert(o.volume);
  std::string plain = engines::volume_name(a);
  std::string live;
  // Docker matches a part of the name: berth-x-1 finds berth-x-10 too.
  for (auto& name : co_await docker_.volume_list(plain))
    if ((name == plain || name.starts_with(plain + "-")) && !orphaned.count(name)) live = name;
  if (!live.empty()) co_return live;
  co_return orphaned.count(plain) ? fresh_volume(a) : plain;
}

asio::awaitable<void> Reconciler::keep_as_orphan(const std::string& volume,
                                                 const std::string& database_id, int n,
                                                 const std::string& reason) {
  for (auto& o : orphans())
    if (o.volume == volume) co_return;  // kept already
  model::Orphan o;
  o.id = "o-" + util::random_hex(5);
  o.host = options_.name;
  o.database_id = database_id;
  o.instance = n;
  o.volume = volume;
  o.since = model::now_rfc3339();
  o.reason = reason;
  if (auto db = co_await store_.get(keys::database(database_id)); !db.kvs.empty())
    o.database_name = model::parse<model::Database>(db.kvs[0].value).name;
  try {
    auto sizes = co_await docker_.volume_sizes();
    if (auto it = sizes.find(volume); it != sizes.end()) o.bytes = it->second;
  } catch (const std::exception&) {
    // The size is a courtesy: the record matters, not the number.
  }
  auto rev = co_await store_.put(keys::orphan(options_.name, o.id), model::dump(o), 0);
  co_await orphans_.wait_revision(rev, std::chrono::seconds(5));
  util::log("agent {}: volume {} kept as orphan {} ({})", options_.name, volume, o.id, reason);
}

asio::awaitable<void> Reconciler::adopt_orphan(const std::string& volume) {
  for (auto* kv : orphans_.under(keys::orphans_of(options_.name)))
    if (model::parse<model::Orphan>(kv->value).volume == volume) {
      auto rev = co_await store_.erase(kv->key);
      co_await orphans_.wait_revision(rev, std::chrono::seconds(5));
    }
}

asio::awaitable<void> Reconciler::remove_orphans(const Knowledge& knowledge) {
  constexpr size_t kExpiredPerPass = 3;
  auto due = orphans_to_remove(orphans(), knowledge.deleted, std::time(nullptr),
                               options_.orphan_retention, kExpiredPerPass);
  for (auto& o : due) {
    try {
      co_await docker_.volume_remove(o.volume);
    } catch (const std::exception& e) {
      util::log("agent {}: orphan {} ({}): {}", options_.name, o.id, o.volume, e.what());
      continue;
    }
    co_await store_.erase(keys::orphan(options_.name, o.id));
    // Kept because this host heard of the removal before the deletion: the addresses go now.
    if (knowledge.deleted.count(o.database_id))
      co_await forget_deleted_instance(o.database_id, o.instance);
    util::log("agent {}: removed orphan volume {} of {} ({})", options_.name, o.volume,
              o.database_name.empty() ? o.database_id : o.database_name,
              o.remove_requested                       ? "asked by an operator"
              : knowledge.deleted.count(o.database_id) ? "its database is deleted"
                                                       : "kept past its retention");
  }
}

}  // namespace berth::agent
