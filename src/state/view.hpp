// berth's state as typed records: a View follows a store::Mirror of /berth/ and decodes each
// key once, when it changes, into model records with indexes. Readers never parse JSON.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "model/model.hpp"
#include "store/mirror.hpp"

namespace berth::state {

// A record as decoded from its key, with the key's mod_revision (for compare-and-swap writes).
template <class T>
struct Record {
  std::string key;
  int64_t mod_revision = 0;
  T value;
};

using DatabaseRecord = Record<model::Database>;
using AllocationRecord = Record<model::Allocation>;
using StatusRecord = Record<model::InstanceStatus>;
using TaskRecord = Record<model::Task>;
using BackupRecord = Record<model::Backup>;

class View {
 public:
  // A view that follows mirror from now on (the mirror must outlive it). Waits go through it.
  explicit View(store::Mirror& mirror);
  // A view fed by hand through reset() and apply(): for tests and pure code.
  View() = default;
  ~View();
  View(const View&) = delete;
  View& operator=(const View&) = delete;

  // Feeding: the whole prefix again, or one watch batch (O(changed keys)). A value that does
  // not parse is left out of the view (logged; the raw mirror still has it) and its key's
  // previous record goes: a reader never sees a record older than etcd's.
  void reset(const store::Items& items);
  void apply(const std::vector<store::WatchEvent>& events);

  bool loaded() const { return mirror_ ? mirror_->loaded() : true; }
  int64_t revision() const { return mirror_ ? mirror_->revision() : 0; }
  // The raw mirror, for code not yet moved to the view (nullptr for a view fed by hand).
  store::Mirror* mirror() const { return mirror_; }

  // Waits until condition() holds (checked after every change) or the timeout passes; the
  // view is current whenever condition runs. Needs a view that follows a mirror.
  boost::asio::awaitable<bool> wait_for(std::function<bool()> condition,
                                        std::chrono::steady_clock::duration timeout);
  // Waits until the view has seen revision rev (of a write under /berth/).
  boost::asio::awaitable<bool> wait_revision(int64_t rev,
                                             std::chrono::steady_clock::duration timeout);

  // ---- Databases, by id and by name
  const std::map<std::string, DatabaseRecord>& databases() const { return databases_; }
  const DatabaseRecord* database(const std::string& id) const;
  const DatabaseRecord* database_named(const std::string& project, const std::string& name) const;
  // Every project's database of that name.
  std::vector<const DatabaseRecord*> databases_named(const std::string& name) const;

  // ---- Allocations: every one by key, a database's by instance number, a host's by key
  const std::map<std::string, AllocationRecord>& allocations() const { return allocations_; }
  std::vector<const AllocationRecord*> allocations_of(const std::string& database_id) const;
  std::vector<const AllocationRecord*> allocations_on(const std::string& host) const;
  const AllocationRecord* allocation(const std::string& database_id, int n) const;
  // The database's primary by model::primary_of's rule (nullptr: none).
  const AllocationRecord* primary_of(const std::string& database_id) const;

  // ---- Instance status (agents'), by database and instance number. Each host's agent keeps
  // its own (/berth/status/HOST/ID/N); the one that counts is from the host that holds the
  // instance's allocation (any, when none does). statuses() has every one, by key.
  const StatusRecord* status(const std::string& database_id, int n) const;
  std::vector<const StatusRecord*> statuses_of(const std::string& database_id) const;
  const std::map<std::string, StatusRecord>& statuses() const { return statuses_; }

  // ---- Hosts (registered, lease-bound) and their settings (persistent), by host name
  const std::map<std::string, Record<model::Host>>& hosts() const { return hosts_; }
  const Record<model::Host>* host(const std::string& name) const;
  const std::map<std::string, Record<model::HostSettings>>& host_settings() const {
    return host_settings_;
  }
  const Record<model::HostSettings>* host_settings(const std::string& name) const;

  // ---- Tasks and backups, by id and by database; task ids claimed by a worker
  const std::map<std::string, TaskRecord>& tasks() const { return tasks_; }
  const TaskRecord* task(const std::string& id) const;
  std::vector<const TaskRecord*> tasks_of(const std::string& database_id) const;
  bool claimed(const std::string& task_id) const { return claims_.count(task_id) > 0; }
  const std::map<std::string, BackupRecord>& backups() const { return backups_; }
  const BackupRecord* backup(const std::string& id) const;
  std::vector<const BackupRecord*> backups_of(const std::string& database_id) const;

  // ---- Projects and API tokens, by name and by id
  const std::map<std::string, Record<model::Project>>& projects() const { return projects_; }
  const Record<model::Project>* project(const std::string& name) const;
  const std::map<std::string, Record<model::Token>>& tokens() const { return tokens_; }
  const Record<model::Token>* token(const std::string& id) const;

  // ---- Cluster configuration and servers
  const Record<model::NetworkConfig>* network() const { return network_ ? &*network_ : nullptr; }
  const Record<model::EngineSettings>* engine_settings(const std::string& engine) const;
  const std::map<std::string, Record<model::Server>>& servers() const { return servers_; }

 private:
  // Whether s (of instance database_id/n) is from the host that holds its allocation, or no
  // host does.
  bool current(const StatusRecord& s, const std::string& database_id, int n) const;
  void put(const store::KeyValue& kv);
  void erase(const std::string& key);
  void clear();

  store::Mirror* mirror_ = nullptr;
  int observer_ = -1;

  std::map<std::string, DatabaseRecord> databases_;                            // by id
  std::map<std::pair<std::string, std::string>, std::string> database_names_;  // -> id
  std::map<std::string, AllocationRecord> allocations_;                        // by key
  // database id -> (n, key) -> record; host -> key -> record. Keyed by key too, so a move (a
  // put of the new key and a delete of the old in one batch) never drops the new entry.
  std::map<std::string, std::map<std::pair<int, std::string>, const AllocationRecord*>>
      allocations_by_database_;
  std::map<std::string, std::map<std::string, const AllocationRecord*>> allocations_by_host_;
  std::map<std::string, StatusRecord> statuses_;  // by key
  std::map<std::string, std::map<std::pair<int, std::string>, const StatusRecord*>>
      statuses_by_database_;
  std::map<std::string, Record<model::Host>> hosts_;
  std::map<std::string, Record<model::HostSettings>> host_settings_;
  std::map<std::string, TaskRecord> tasks_;
  std::map<std::string, std::map<std::string, const TaskRecord*>> tasks_by_database_;
  std::set<std::string> claims_;
  std::map<std::string, BackupRecord> backups_;
  std::map<std::string, std::map<std::string, const BackupRecord*>> backups_by_database_;
  std::optional<Record<model::NetworkConfig>> network_;
  std::map<std::string, Record<model::EngineSettings>> engine_settings_;
  std::map<std::string, Record<model::Server>> servers_;
  std::map<std::string, Record<model::Project>> projects_;
  std::map<std::string, Record<model::Token>> tokens_;
};

}  // namespace berth::state
