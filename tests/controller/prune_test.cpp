#include "controller/prune.hpp"

#include <gtest/gtest.h>

#include "controller/tasks.hpp"
#include "model/model.hpp"

namespace berth::controller {
namespace {

namespace keys = model::keys;

const std::time_t kNow = parse_time("2026-11-27T12:00:00Z");

store::KeyValue task(const std::string& id, model::TaskState state, const std::string& finished) {
  model::Task t;
  t.id = id;
  t.state = state;
  t.finished_at = finished;
  return {keys::task(id), model::dump(t)};
}

store::KeyValue outcome(const std::string& hash, const std::string& created) {
  model::IdempotentOutcome o;
  o.database_id = "db1";
  o.created_at = created;
  return {keys::idempotency(hash), model::dump(o)};
}

std::vector<std::string> expired(const std::vector<store::KeyValue>& kvs) {
  std::vector<const store::KeyValue*> records;
  for (auto& kv : kvs) records.push_back(&kv);
  return expired_keys(records, kNow, RecordRetention{});
}

TEST(Prune, FinishedTasksGoAfterAWeekRunningOnesNever) {
  auto kept_running = task("t-run", model::TaskState::running, "");
  auto old_pending = task("t-pend", model::TaskState::pending, "2026-11-01T00:00:00Z");
  auto done_8_days = task("t-old", model::TaskState::done, "2026-11-19T11:59:00Z");
  auto failed_8_days = task("t-fail", model::TaskState::failed, "2026-11-19T11:00:00Z");
  auto done_6_days = task("t-new", model::TaskState::done, "2026-11-21T12:00:00Z");
  EXPECT_EQ(expired({kept_running, old_pending, done_8_days, failed_8_days, done_6_days}),
            (std::vector<std::string>{keys::task("t-old"), keys::task("t-fail")}));
}

TEST(Prune, RequestOutcomesGoAfterADay) {
  EXPECT_EQ(expired({outcome("a", "2026-11-26T11:00:00Z"), outcome("b", "2026-11-26T13:00:00Z")}),
            (std::vector<std::string>{keys::idempotency("a")}));
}

TEST(Prune, WhatCannotBeReadIsKept) {
  store::KeyValue garbage{keys::task("t-x"), "not json"};
  auto no_time = task("t-y", model::TaskState::done, "");
  store::KeyValue other{keys::database("d"), "{}"};
  EXPECT_TRUE(expired({garbage, no_time, other, outcome("c", "")}).empty());
}

TEST(Prune, StatusesOfTheLayoutBeforeHostsGo) {
  std::vector<store::KeyValue> kvs{{keys::status("h1", "db1", 0), "{}"},
                                   {keys::kStatus + "db1/0", "{}"},
                                   {keys::kStatus + "db1", "{}"}};
  std::vector<const store::KeyValue*> statuses;
  for (auto& kv : kvs) statuses.push_back(&kv);
  EXPECT_EQ(stray_statuses(statuses),
            (std::vector<std::string>{keys::kStatus + "db1/0", keys::kStatus + "db1"}));
}

TEST(Prune, AddressesWhoseDatabaseIsGoneForGoodReturnToThePool) {
  std::vector<store::KeyValue> kvs{
      {keys::address("10.0.0.2"), "live/0"},             // its database exists
      {keys::address("10.0.0.3"), "gone/0"},             // neither database nor tombstone: a leak
      {keys::address("10.0.0.4"), "gone/db"},            // the same, a database address
      {keys::address("10.0.0.5"), "dying/1"},            // tombstone: its host's agent frees it
      {keys::address("10.0.0.6"), "retired/h1/gone/0"},  // only h1 can tell
      {keys::address("10.0.0.7"), "host/h2"},            // a host's own
      {keys::address("10.0.0.8"), "garbage"}};           // not an owner we write
  std::vector<const store::KeyValue*> addresses;
  for (auto& kv : kvs) addresses.push_back(&kv);
  EXPECT_EQ(unowned_addresses(addresses, {"live"}, {"dying"}),
            (std::vector<std::string>{keys::address("10.0.0.3"), keys::address("10.0.0.4")}));
}

}  // namespace
}  // namespace berth::controller
