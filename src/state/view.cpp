#include "state/view.hpp"

#include "util/log.hpp"

namespace berth::state {

namespace keys = model::keys;

namespace {

// Decodes kv into out; false (logged) when its value is not a T.
template <class T>
bool decode(const store::KeyValue& kv, Record<T>& out) {
  try {
    out = Record<T>{kv.key, kv.mod_revision, model::parse<T>(kv.value)};
    return true;
  } catch (const std::exception& e) {
    util::log("state: {} left out: {}", kv.key, e.what());
    return false;
  }
}

// Decodes kv into map[id], or removes map[id] when it does not decode.
template <class T>
void put_into(std::map<std::string, Record<T>>& map, const std::string& id,
              const store::KeyValue& kv) {
  Record<T> record;
  if (decode(kv, record))
    map[id] = std::move(record);
  else
    map.erase(id);
}

template <class Map, class Key>
auto* find_in(const Map& map, const Key& key) {
  auto it = map.find(key);
  return it == map.end() ? nullptr : &it->second;
}

// The values of the inner map at outer[key], in its order.
template <class Outer>
auto values_at(const Outer& outer, const std::string& key) {
  using Ptr = typename Outer::mapped_type::mapped_type;
  std::vector<Ptr> out;
  if (auto it = outer.find(key); it != outer.end())
    for (auto& [k, v] : it->second) out.push_back(v);
  return out;
}

// Removes inner entry k of outer[key], and outer[key] once empty.
template <class Outer, class K>
void unindex(Outer& outer, const std::string& key, const K& k) {
  auto it = outer.find(key);
  if (it == outer.end()) return;
  it->second.erase(k);
  if (it->second.empty()) outer.erase(it);
}

}  // namespace

View::View(store::Mirror& mirror) : mirror_(&mirror) {
  observer_ = mirror.add_observer({[this](const store::Items& items) { reset(items); },
                                   [this](const auto& events) { apply(events); }});
}

View::~View() {
  if (mirror_) mirror_->remove_observer(observer_);
}

void View::clear() {
  databases_.clear();
  database_names_.clear();
  allocations_.clear();
  allocations_by_database_.clear();
  allocations_by_host_.clear();
  statuses_.clear();
  statuses_by_database_.clear();
  hosts_.clear();
  host_settings_.clear();
  tasks_.clear();
  tasks_by_database_.clear();
  claims_.clear();
  backups_.clear();
  backups_by_database_.clear();
  network_.reset();
  engine_settings_.clear();
  servers_.clear();
  projects_.clear();
  tokens_.clear();
}

void View::reset(const store::Items& items) {
  clear();
  for (auto& [key, kv] : items) put(kv);
}

void View::apply(const std::vector<store::WatchEvent>& events) {
  for (auto& e : events) {
    if (e.type == store::WatchEvent::Type::Put)
      put(e.kv);
    else
      erase(e.kv.key);
  }
}

void View::put(const store::KeyValue& kv) {
  erase(kv.key);  // its old record's index entries go first: the new value may move it
  const std::string& key = kv.key;
  auto tail = [&](const std::string& prefix) { return key.substr(prefix.size()); };
  if (key.starts_with(keys::kDatabases)) {
    DatabaseRecord r;
    if (!decode(kv, r)) return;
    auto& slot = databases_[tail(keys::kDatabases)] = std::move(r);
    database_names_[{slot.value.project, slot.value.name}] = slot.value.id;
  } else if (key.starts_with(keys::kAllocations)) {
    AllocationRecord r;
    if (!decode(kv, r)) return;
    auto& slot = allocations_[key] = std::move(r);
    auto& a = slot.value;
    allocations_by_database_[a.database_id][{a.n, key}] = &slot;
    allocations_by_host_[a.host][key] = &slot;
  } else if (key.starts_with(keys::kStatus)) {
    std::string host, id;
    int n = 0;
    StatusRecord r;
    if (!keys::parse_status_key(key, &host, &id, &n) || !decode(kv, r)) return;
    r.value.host = host;  // the key says whose word it is
    auto& slot = statuses_[key] = std::move(r);
    statuses_by_database_[id][{n, key}] = &slot;
  } else if (key.starts_with(keys::kTasks)) {
    TaskRecord r;
    if (!decode(kv, r)) return;
    auto& slot = tasks_[tail(keys::kTasks)] = std::move(r);
    tasks_by_database_[slot.value.database_id][tail(keys::kTasks)] = &slot;
  } else if (key.starts_with(keys::kBackups)) {
    BackupRecord r;
    if (!decode(kv, r)) return;
    auto& slot = backups_[tail(keys::kBackups)] = std::move(r);
    backups_by_database_[slot.value.database_id][tail(keys::kBackups)] = &slot;
  } else if (key.starts_with(keys::kTaskClaims)) {
    claims_.insert(tail(keys::kTaskClaims));
  } else if (key.starts_with(keys::kHosts)) {
    put_into(hosts_, tail(keys::kHosts), kv);
  } else if (key.starts_with(keys::kHostSettings)) {
    put_into(host_settings_, tail(keys::kHostSettings), kv);
  } else if (key.starts_with(keys::kEngineSettings)) {
    put_into(engine_settings_, tail(keys::kEngineSettings), kv);
  } else if (key.starts_with(keys::kServers)) {
    put_into(servers_, tail(keys::kServers), kv);
  } else if (key.starts_with(keys::kProjects)) {
    put_into(projects_, tail(keys::kProjects), kv);
  } else if (key.starts_with(keys::kTokens)) {
    put_into(tokens_, tail(keys::kTokens), kv);
  } else if (key == keys::kNetwork) {
    Record<model::NetworkConfig> r;
    if (decode(kv, r)) network_ = std::move(r);
  }
}

void View::erase(const std::string& key) {
  auto tail = [&](const std::string& prefix) { return key.substr(prefix.size()); };
  if (key.starts_with(keys::kDatabases)) {
    auto it = databases_.find(tail(keys::kDatabases));
    if (it == databases_.end()) return;
    auto name = database_names_.find({it->second.value.project, it->second.value.name});
    if (name != database_names_.end() && name->second == it->first) database_names_.erase(name);
    databases_.erase(it);
  } else if (key.starts_with(keys::kAllocations)) {
    auto it = allocations_.find(key);
    if (it == allocations_.end()) return;
    auto& a = it->second.value;
    unindex(allocations_by_database_, a.database_id, std::pair{a.n, key});
    unindex(allocations_by_host_, a.host, key);
    allocations_.erase(it);
  } else if (key.starts_with(keys::kStatus)) {
    std::string host, id;
    int n = 0;
    if (!keys::parse_status_key(key, &host, &id, &n)) return;
    unindex(statuses_by_database_, id, std::pair{n, key});
    statuses_.erase(key);
  } else if (key.starts_with(keys::kTasks)) {
    auto it = tasks_.find(tail(keys::kTasks));
    if (it == tasks_.end()) return;
    unindex(tasks_by_database_, it->second.value.database_id, it->first);
    tasks_.erase(it);
  } else if (key.starts_with(keys::kBackups)) {
    auto it = backups_.find(tail(keys::kBackups));
    if (it == backups_.end()) return;
    unindex(backups_by_database_, it->second.value.database_id, it->first);
    backups_.erase(it);
  } else if (key.starts_with(keys::kTaskClaims)) {
    claims_.erase(tail(keys::kTaskClaims));
  } else if (key.starts_with(keys::kHosts)) {
    hosts_.erase(tail(keys::kHosts));
  } else if (key.starts_with(keys::kHostSettings)) {
    host_settings_.erase(tail(keys::kHostSettings));
  } else if (key.starts_with(keys::kEngineSettings)) {
    engine_settings_.erase(tail(keys::kEngineSettings));
  } else if (key.starts_with(keys::kServers)) {
    servers_.erase(tail(keys::kServers));
  } else if (key.starts_with(keys::kProjects)) {
    projects_.erase(tail(keys::kProjects));
  } else if (key.starts_with(keys::kTokens)) {
    tokens_.erase(tail(keys::kTokens));
  } else if (key == keys::kNetwork) {
    network_.reset();
  }
}

boost::asio::awaitable<bool> View::wait_for(std::function<bool()> condition,
                                            std::chrono::steady_clock::duration timeout) {
  if (!mirror_) co_return condition();
  co_return co_await mirror_->wait_for(std::move(condition), timeout);
}

boost::asio::awaitable<bool> View::wait_revision(int64_t rev,
                                                 std::chrono::steady_clock::duration timeout) {
  if (!mirror_) co_return true;
  co_return co_await mirror_->wait_revision(rev, timeout);
}

const DatabaseRecord* View::database(const std::string& id) const {
  return find_in(databases_, id);
}

const DatabaseRecord* View::database_named(const std::string& project,
                                           const std::string& name) const {
  auto it = database_names_.find({project, name});
  return it == database_names_.end() ? nullptr : database(it->second);
}

std::vector<const DatabaseRecord*> View::databases_named(const std::string& name) const {
  std::vector<const DatabaseRecord*> out;
  for (auto& [key, id] : database_names_)
    if (key.second == name)
      if (auto* db = database(id)) out.push_back(db);
  return out;
}

const Record<model::Project>* View::project(const std::string& name) const {
  return find_in(projects_, name);
}

const Record<model::Token>* View::token(const std::string& id) const {
  return find_in(tokens_, id);
}

std::vector<const AllocationRecord*> View::allocations_of(const std::string& database_id) const {
  return values_at(allocations_by_database_, database_id);
}

std::vector<const AllocationRecord*> View::allocations_on(const std::string& host) const {
  return values_at(allocations_by_host_, host);
}

const AllocationRecord* View::allocation(const std::string& database_id, int n) const {
  auto db = allocations_by_database_.find(database_id);
  if (db == allocations_by_database_.end()) return nullptr;
  auto it = db->second.lower_bound({n, std::string()});
  return it != db->second.end() && it->first.first == n ? it->second : nullptr;
}

const AllocationRecord* View::primary_of(const std::string& database_id) const {
  auto found = model::primary_of(
      allocations_of(database_id), [](const AllocationRecord& r) -> auto& { return r.value; });
  return found;
}

bool View::current(const StatusRecord& s, const std::string& database_id, int n) const {
  return !allocation(database_id, n) ||
         find_in(allocations_, keys::allocation(s.value.host, database_id, n));
}

const StatusRecord* View::status(const std::string& database_id, int n) const {
  auto db = statuses_by_database_.find(database_id);
  if (db == statuses_by_database_.end()) return nullptr;
  for (auto it = db->second.lower_bound({n, std::string()});
       it != db->second.end() && it->first.first == n; ++it)
    if (current(*it->second, database_id, n)) return it->second;
  return nullptr;
}

std::vector<const StatusRecord*> View::statuses_of(const std::string& database_id) const {
  std::vector<const StatusRecord*> out;
  if (auto db = statuses_by_database_.find(database_id); db != statuses_by_database_.end())
    for (auto& [at, s] : db->second)
      if (current(*s, database_id, at.first)) out.push_back(s);
  return out;
}

const Record<model::Host>* View::host(const std::string& name) const {
  return find_in(hosts_, name);
}

const Record<model::HostSettings>* View::host_settings(const std::string& name) const {
  return find_in(host_settings_, name);
}

const TaskRecord* View::task(const std::string& id) const {
  return find_in(tasks_, id);
}

std::vector<const TaskRecord*> View::tasks_of(const std::string& database_id) const {
  return values_at(tasks_by_database_, database_id);
}

const BackupRecord* View::backup(const std::string& id) const {
  return find_in(backups_, id);
}

std::vector<const BackupRecord*> View::backups_of(const std::string& database_id) const {
  return values_at(backups_by_database_, database_id);
}

const Record<model::EngineSettings>* View::engine_settings(const std::string& engine) const {
  return find_in(engine_settings_, engine);
}

}  // namespace berth::state
