// A switchover request: the API writes /berth/switchovers/<database id> (created only if no open
// one exists), the leader runs it and writes the outcome there, and the API answers from it.
// This file holds the record and the leader's decisions over the records. Pure: no I/O.
#pragma once

#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace berth::controller {

struct SwitchoverResult {
  int status = 200;   // HTTP-style: 200 done, 404/409/422 refused, 503 could not finish
  std::string error;  // what went wrong, naming the field
  int promoted = -1;  // the instance now primary
};

inline const std::string kSwitchovers = "/berth/switchovers/";  // + database id
inline std::string switchover_key(const std::string& database_id) {
  return kSwitchovers + database_id;
}

struct SwitchoverRequest {
  std::string id;              // who asked knows its own request by this
  int to = -1;                 // the instance to promote; -1: the most caught-up replica in sync
  std::string origin = "api";  // api (berth switchover) or drain (the leader's own)
  // pending → running (a leader claimed it) → promoted (in the promotion's transaction) →
  // done | failed (the outcome below).
  std::string state = "pending";
  std::string leader;        // the leader that claimed it
  std::string requested_at;  // RFC 3339, UTC
  std::string finished_at;
  int status = 0;  // the outcome, as SwitchoverResult
  std::string error;
  int promoted = -1;
};
void to_json(nlohmann::json& j, const SwitchoverRequest& r);
void from_json(const nlohmann::json& j, SwitchoverRequest& r);

// Finished: the outcome is written. An open request refuses another for its database.
bool finished(const SwitchoverRequest& r);
SwitchoverResult outcome(const SwitchoverRequest& r);

// What the leader does with one record.
enum class SwitchoverStep {
  Run,     // claim it and run the switchover (again, from the start, if a dead leader had it)
  Finish,  // write the outcome without running: promoted under a dead leader, or no database
  Remove,  // delete the record: finished and read, or left behind by a gone API server
};
struct SwitchoverAction {
  std::string database_id;
  SwitchoverStep step;
  SwitchoverRequest result;  // for Finish: the record with its outcome
};

// A finished request the API has not removed is removed after this long.
inline constexpr std::time_t kSwitchoverKeepSeconds = 60;

// records: by database id; running: the databases this term runs a switchover for now;
// databases: those that exist; now: Unix seconds.
std::vector<SwitchoverAction> plan_switchovers(
    const std::map<std::string, SwitchoverRequest>& records, const std::set<std::string>& running,
    const std::set<std::string>& databases, std::time_t now);

}  // namespace berth::controller
