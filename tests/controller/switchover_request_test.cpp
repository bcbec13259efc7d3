// The leader's decisions over switchover requests, table by table, without I/O.
#include "controller/switchover_request.hpp"

#include <gtest/gtest.h>

#include "controller/tasks.hpp"

namespace berth::controller {
namespace {

const std::time_t kNow = parse_time("2026-11-27T16:00:00Z");

SwitchoverRequest request(const std::string& state, const std::string& origin = "api") {
  SwitchoverRequest r;
  r.id = "r1";
  r.origin = origin;
  r.state = state;
  if (state == "done" || state == "failed") r.finished_at = format_time(kNow - 10);
  return r;
}

TEST(SwitchoverRequests, TheRecordKeepsEveryFieldOnTheWire) {
  auto r = request("failed");
  r.to = 2;
  r.leader = "s1:42";
  r.status = 409;
  r.error = "to: instance 2 is not a replica in sync";
  auto back = nlohmann::json(r).get<SwitchoverRequest>();
  EXPECT_EQ(back.id, "r1");
  EXPECT_EQ(back.to, 2);
  EXPECT_EQ(back.leader, "s1:42");
  EXPECT_EQ(back.status, 409);
  EXPECT_EQ(back.error, r.error);
  EXPECT_EQ(back.finished_at, r.finished_at);
  EXPECT_EQ(nlohmann::json(request("pending")).get<SwitchoverRequest>().to, -1);
}

TEST(SwitchoverRequests, TheOutcomeIsWhatTheApiAnswers) {
  auto done = request("done");
  done.status = 200;
  done.promoted = 1;
  EXPECT_EQ(outcome(done).status, 200);
  EXPECT_EQ(outcome(done).promoted, 1);
  auto refused = request("failed");
  refused.status = 422;
  refused.error = "engine: switchover is not available for memcached";
  EXPECT_EQ(outcome(refused).status, 422);
  EXPECT_EQ(outcome(refused).error, refused.error);
  EXPECT_TRUE(finished(done));
  EXPECT_TRUE(finished(refused));
  EXPECT_FALSE(finished(request("pending")));
  EXPECT_FALSE(finished(request("running")));
  EXPECT_FALSE(finished(request("promoted")));
}

struct Row {
  const char* name;
  SwitchoverRequest record;
  bool running_here;  // this term runs it now
  bool database_exists;
  std::time_t now;
  std::vector<SwitchoverStep> want;  // empty: left alone
  std::string result_state = "";
  int result_status = 0;
};

TEST(SwitchoverRequests, WhatTheLeaderDoesWithEachRecord) {
  auto promoted = request("promoted");
  promoted.promoted = 2;
  auto dead_api = request("done");
  dead_api.finished_at = format_time(kNow - kSwitchoverKeepSeconds);
  std::vector<Row> rows = {
      {"a new request runs", request("pending"), false, true, kNow, {SwitchoverStep::Run}},
      {"one this term runs is left alone", request("running"), true, true, kNow, {}},
      {"a dead leader's unpromoted one runs again from the start",
       request("running"),
       false,
       true,
       kNow,
       {SwitchoverStep::Run}},
      {"a dead leader's promoted one is done",
       promoted,
       false,
       true,
       kNow,
       {SwitchoverStep::Finish},
       "done",
       200},
      {"a deleted database fails it",
       request("pending"),
       false,
       false,
       kNow,
       {SwitchoverStep::Finish},
       "failed",
       404},
      {"a finished one stays for its API server to read", request("done"), false, true, kNow, {}},
      {"until its API server is surely gone",
       dead_api,
       false,
       true,
       kNow,
       {SwitchoverStep::Remove}},
      {"a finished drain switchover has no reader",
       request("failed", "drain"),
       false,
       true,
       kNow,
       {SwitchoverStep::Remove}},
  };
  for (auto& row : rows) {
    std::map<std::string, SwitchoverRequest> records{{"d", row.record}};
    std::set<std::string> running, databases;
    if (row.running_here) running.insert("d");
    if (row.database_exists) databases.insert("d");
    auto actions = plan_switchovers(records, running, databases, row.now);
    std::vector<SwitchoverStep> steps;
    for (auto& a : actions) steps.push_back(a.step);
    EXPECT_EQ(steps, row.want) << row.name;
    if (!row.result_state.empty() && actions.size() == 1) {
      EXPECT_EQ(actions[0].result.state, row.result_state) << row.name;
      EXPECT_EQ(actions[0].result.status, row.result_status) << row.name;
      EXPECT_EQ(actions[0].result.id, "r1") << row.name;
      EXPECT_TRUE(finished(actions[0].result)) << row.name;
    }
  }
  EXPECT_EQ(plan_switchovers({{"d", promoted}}, {}, {"d"}, kNow)[0].result.promoted, 2);
}

}  // namespace
}  // namespace berth::controller
