// What PATCH /v1/databases/{name} changes, decided over a snapshot: the new record, the new
// memory of each instance that stays, which replicas go and where new ones go, or why it
// cannot be done. Pure: no I/O; the handler turns the plan into one transaction.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "api/requests.hpp"
#include "model/model.hpp"
#include "scheduler/placement.hpp"

namespace berth::api {

struct UpdateSnapshot {
  model::Database db;                                    // as read
  std::vector<model::Allocation> instances;              // the database's, in key order
  std::map<int, model::InstanceState> states;            // instance n -> its reported state
  std::map<std::string, scheduler::HostSnapshot> hosts;  // the live hosts
  std::string engine;                                    // its name, for messages
  bool shrink_in_place = false;  // the engine's memory limit can go down without a restart
  bool persistent = false;       // the engine keeps data (to back up)
};

struct UpdatePlan {
  Invalid problem;     // set: refused, nothing changes
  model::Database db;  // the new record
  // Every instance that stays, as it should be (new memory, primary's settings); the handler
  // writes those that differ from what it read.
  std::vector<model::Allocation> kept;
  std::vector<model::Allocation> removed;  // replicas that go, with their addresses
  struct Added {
    int n = 0;
    std::string host;
  };
  std::vector<Added> added;  // new replicas: their numbers and hosts
  // The first replica: the database gets an address of its own, held by the primary.
  bool needs_database_address = false;
  int primary_n = -1;      // the primary (model::primary_of)
  std::string primary_ip;  // whom new replicas follow
};

UpdatePlan plan_update(UpdateSnapshot snapshot, const UpdateRequest& request);

// Which replicas go when there are to be fewer: those on hosts that are gone first, then the
// unhealthy ones, then the newest. Returns their instance numbers, `count` of them at most.
std::vector<int> replicas_to_remove(const UpdateSnapshot& snapshot, int count);

// Places `count` new instances of one database on distinct hosts, none of them in `avoid`.
// On success fills *placed; otherwise returns the 409 message, naming the field at fault.
std::string place_instances(std::map<std::string, scheduler::HostSnapshot> hosts, int count,
                            int64_t memory_mb,
                            const std::map<std::string, std::string>& constraints,
                            std::set<std::string> avoid, int replicas_wanted,
                            std::vector<std::string>* placed);

}  // namespace berth::api
