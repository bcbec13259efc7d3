#include "usage/usage.hpp"

#include <gtest/gtest.h>

namespace berth::usage {
namespace {

Reading reading(const std::string& instance, const std::string& role, int64_t operations,
                int64_t reported_at, int64_t memory = 1000, int64_t keys = 10,
                int64_t connections = 2) {
  return {instance, role, true, memory, keys, connections, operations, reported_at};
}

TEST(UsageTracker, FirstSightGivesNoPointThenRatesFromCounters) {
  Tracker t(15);
  auto first = t.observe("d", 1 << 20, {reading("d/0", "primary", 100, 1000)}, 1005);
  EXPECT_FALSE(first.fine);
  auto second = t.observe("d", 1 << 20, {reading("d/0", "primary", 300, 1010)}, 1020);
  ASSERT_TRUE(second.fine);
  EXPECT_DOUBLE_EQ(second.fine->ops_per_sec, 20.0);  // 200 operations in 10 s
  EXPECT_EQ(second.fine->time, 1020);
  EXPECT_EQ(second.fine->memory_limit_bytes, 1 << 20);
  // No new report: the last rate stands.
  auto third = t.observe("d", 1 << 20, {reading("d/0", "primary", 300, 1010)}, 1035);
  EXPECT_DOUBLE_EQ(third.fine->ops_per_sec, 20.0);
}

TEST(UsageTracker, PrimaryHoldsTheDataConnectionsAndRatesAddUp) {
  Tracker t(15);
  std::vector<Reading> before{reading("d/0", "replica", 0, 100, 900, 9, 1),
                              reading("d/1", "primary", 0, 100, 1000, 10, 3)};
  t.observe("d", 0, before, 105);
  std::vector<Reading> after{reading("d/0", "replica", 50, 110, 900, 9, 1),
                             reading("d/1", "primary", 100, 110, 1000, 10, 3)};
  auto p = t.observe("d", 0, after, 120).fine;
  ASSERT_TRUE(p);
  EXPECT_EQ(p->memory_used_bytes, 1000);
  EXPECT_EQ(p->keys, 10);
  EXPECT_EQ(p->connections, 4);
  EXPECT_DOUBLE_EQ(p->ops_per_sec, 15.0);
}

TEST(UsageTracker, CounterResetIsNotANegativeRate) {
  Tracker t(15);
  t.observe("d", 0, {reading("d/0", "primary", 5000, 100)}, 105);
  auto p = t.observe("d", 0, {reading("d/0", "primary", 10, 110)}, 120).fine;
  ASSERT_TRUE(p);
  EXPECT_DOUBLE_EQ(p->ops_per_sec, 0.0);
}

TEST(UsageTracker, UnhealthyInstancesCountForNothing) {
  Tracker t(15);
  auto sick = reading("d/0", "primary", 0, 100);
  sick.healthy = false;
  t.observe("d", 0, {sick}, 105);
  auto p = t.observe("d", 0, {sick}, 120).fine;
  ASSERT_TRUE(p);
  EXPECT_EQ(p->memory_used_bytes, 0);
  EXPECT_EQ(p->connections, 0);
}

TEST(UsageTracker, ASpanEndsInOneCoarsePoint) {
  Tracker t(1);  // coarse points span 20 s
  int64_t ops = 0;
  std::vector<Point> fine;
  std::optional<Point> coarse;
  for (int64_t now = 100; now <= 141 && !coarse; ++now) {
    ops += 10 * (now % 2 ? 1 : 3);  // alternating 10 and 30 operations a second
    auto o = t.observe("d", 0, {reading("d/0", "primary", ops, now, 1000 + now, now)}, now);
    if (o.fine && o.fine->time >= 120 && o.fine->time < 140) fine.push_back(*o.fine);
    if (o.coarse && o.coarse->time == 120) coarse = o.coarse;
  }
  ASSERT_TRUE(coarse);
  EXPECT_EQ(fine.size(), 20u);
  EXPECT_EQ(coarse->memory_used_bytes, 1000 + 139);  // the peak
  EXPECT_EQ(coarse->keys, 139);                      // the last
  EXPECT_DOUBLE_EQ(coarse->ops_per_sec, 20.0);       // the mean
}

TEST(UsageTracker, ForgetsDeletedDatabases) {
  Tracker t(15);
  t.observe("d", 0, {reading("d/0", "primary", 0, 100)}, 105);
  t.retain({});
  EXPECT_FALSE(t.observe("d", 0, {reading("d/0", "primary", 10, 110)}, 120).fine);
}

TEST(Usage, KeysSortByTime) {
  EXPECT_EQ(key("abc", Tier::Fine, 1700000000), "/berth-usage/abc/fine/001700000000");
  EXPECT_LT(key("abc", Tier::Coarse, 999), key("abc", Tier::Coarse, 1000));
  EXPECT_EQ(tier_for(3600, 15), Tier::Fine);
  EXPECT_EQ(tier_for(6 * 3600, 15), Tier::Fine);
  EXPECT_EQ(tier_for(7 * 86400, 15), Tier::Coarse);
}

TEST(Usage, ParsesRanges) {
  EXPECT_EQ(parse_range("1h"), 3600);
  EXPECT_EQ(parse_range("15m"), 900);
  EXPECT_EQ(parse_range("7d"), 7 * 86400);
  EXPECT_FALSE(parse_range("0h"));
  EXPECT_FALSE(parse_range("h"));
  EXPECT_FALSE(parse_range("1w"));
  EXPECT_FALSE(parse_range("-1h"));
  EXPECT_FALSE(parse_range(""));
}

}  // namespace
}  // namespace berth::usage
