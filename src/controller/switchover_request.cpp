#include "controller/switchover_request.hpp"

#include "controller/tasks.hpp"

namespace berth::controller {

void to_json(nlohmann::json& j, const SwitchoverRequest& r) {
  j = {{"id", r.id},       {"to", r.to},         {"origin", r.origin},
       {"state", r.state}, {"leader", r.leader}, {"requested_at", r.requested_at}};
  if (finished(r)) {
    j["finished_at"] = r.finished_at;
    j["status"] = r.status;
    j["error"] = r.error;
  }
  if (r.promoted >= 0) j["promoted"] = r.promoted;
}

void from_json(const nlohmann::json& j, SwitchoverRequest& r) {
  SwitchoverRequest d;
  r.id = j.value("id", d.id);
  r.to = j.value("to", d.to);
  r.origin = j.value("origin", d.origin);
  r.state = j.value("state", d.state);
  r.leader = j.value("leader", d.leader);
  r.requested_at = j.value("requested_at", d.requested_at);
  r.finished_at = j.value("finished_at", d.finished_at);
  r.status = j.value("status", d.status);
  r.error = j.value("error", d.error);
  r.promoted = j.value("promoted", d.promoted);
}

bool finished(const SwitchoverRequest& r) {
  return r.state == "done" || r.state == "failed";
}

SwitchoverResult outcome(const SwitchoverRequest& r) {
  if (r.state == "done") return {200, "", r.promoted};
  return {r.status ? r.status : 503, r.error, -1};
}

std::vector<SwitchoverAction> plan_switchovers(
    const std::map<std::string, SwitchoverRequest>& records, const std::set<std::string>& running,
    const std::set<std::string>& databases, std::time_t now) {
  std::vector<SwitchoverAction> actions;
  for (auto& [id, r] : records) {
    if (running.count(id)) continue;  // this term's own, under way
    if (finished(r)) {
      // The API removes what it has read; the leader's own (drain) are read by nobody; an API
      // server that died waiting leaves its record to this sweep.
      std::time_t at = parse_time(r.finished_at);
      if (r.origin != "api" || at == 0 || now - at >= kSwitchoverKeepSeconds)
        actions.push_back({id, SwitchoverStep::Remove, {}});
      continue;
    }
    auto result = r;
    result.finished_at = format_time(now);
    if (r.state == "promoted") {
      // The promotion committed under a leader that is gone: the switchover happened.
      result.state = "done";
      result.status = 200;
      actions.push_back({id, SwitchoverStep::Finish, result});
    } else if (!databases.count(id)) {
      result.state = "failed";
      result.status = 404;
      result.error = "database: no such database";
      actions.push_back({id, SwitchoverStep::Finish, result});
    } else {
      // Pending, or running under a leader that is gone (its promotion did not commit: that
      // would have said promoted; the writes it paused resume by themselves): run it.
      actions.push_back({id, SwitchoverStep::Run, {}});
    }
  }
  return actions;
}

}  // namespace berth::controller
