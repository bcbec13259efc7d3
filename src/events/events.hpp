// Events: each change of state a user cares about (created, healthy, failed over, resized,
// moved, backup done, host down...), found by comparing two views of the state. Pure: the
// leader builds the views, writes what diff returns under /berth/events/ and prunes them.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace berth::events {

inline const std::string kPrefix = "/berth/events/";
inline constexpr int64_t kRetentionSeconds = 7 * 24 * 3600;
inline constexpr size_t kMaxEvents = 10000;

struct Event {
  std::string id;        // sorts by time: the key under kPrefix
  std::string time;      // RFC 3339 with milliseconds, UTC
  std::string kind;      // e.g. database.created, database.failover, host.down, backup.done
  std::string database;  // id
  std::string name;      // the database's name
  std::string project;   // the database's ("" for a host's events)
  std::string host;
  int instance = -1;
  std::string message;
};
void to_json(nlohmann::json& j, const Event& e);  // leaves out empty fields
void from_json(const nlohmann::json& j, Event& e);

struct DatabaseView {
  std::string name, engine;
  int64_t memory_mb = 0;
  int replicas = 0;
  std::string project;
};
struct InstanceView {
  std::string database, host, role;  // as allocated
  std::string state, message;        // as its agent reports ("" before the first report)
};
struct TaskView {
  std::string kind, state, database, name, detail;
};
struct View {
  std::map<std::string, DatabaseView> databases;  // by id
  std::map<std::string, InstanceView> instances;  // by "id/n"
  std::map<std::string, std::string> hosts;       // name -> alive, draining, down
  std::map<std::string, std::string> agents;      // host name -> when its agent started
  std::string etcd;                               // "", "ok" or what fills it ("80%", NOSPACE)
  std::map<std::string, TaskView> tasks;          // by id
};

// What happened between two views, in a stable order; id and time are left to the writer.
// failed_over: databases the controller failed over meanwhile (a new primary is a switchover
// otherwise, unless the old one was plainly lost).
std::vector<Event> diff(const View& before, const View& after,
                        const std::set<std::string>& failed_over = {});

// The key of the index-th event written at Unix time micros.
std::string key(int64_t unix_micros, int index);
// The key every event older than unix_micros sorts below.
std::string key_before(int64_t unix_micros);

}  // namespace berth::events
