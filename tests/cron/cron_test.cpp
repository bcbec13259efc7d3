#include "cron/cron.hpp"

#include <gtest/gtest.h>

namespace berth::cron {
namespace {

std::time_t utc(int y, int mo, int d, int h, int mi) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  return timegm(&tm);
}

Cron parse(const std::string& text) {
  std::string error;
  auto c = parse_cron(text, &error);
  EXPECT_TRUE(c) << error;
  return c.value_or(Cron{});
}

TEST(Cron, DailyAtThreeFiresAtThreeNextDayAfterThree) {
  auto c = parse("0 3 * * *");
  EXPECT_EQ(next_fire(c, utc(2026, 11, 25, 2, 59)), utc(2026, 11, 25, 3, 0));
  EXPECT_EQ(next_fire(c, utc(2026, 11, 25, 3, 0)), utc(2026, 11, 26, 3, 0));
}

TEST(Cron, EveryMinuteStepsRangesAndLists) {
  EXPECT_EQ(next_fire(parse("* * * * *"), utc(2026, 1, 1, 0, 0) + 5), utc(2026, 1, 1, 0, 1));
  EXPECT_EQ(next_fire(parse("*/15 * * * *"), utc(2026, 1, 1, 0, 16)), utc(2026, 1, 1, 0, 30));
  EXPECT_EQ(next_fire(parse("5,35 9-10 * * *"), utc(2026, 1, 1, 10, 36)), utc(2026, 1, 2, 9, 5));
}

TEST(Cron, WeekdaysMonthsAndTheDayOrRule) {
  // 25 Nov 2026 is a Wednesday; the next Sunday (0 or 7) is the 29th.
  EXPECT_EQ(next_fire(parse("0 0 * * 0"), utc(2026, 11, 25, 12, 0)), utc(2026, 11, 29, 0, 0));
  EXPECT_EQ(next_fire(parse("0 0 * * 7"), utc(2026, 11, 25, 12, 0)), utc(2026, 11, 29, 0, 0));
  EXPECT_EQ(next_fire(parse("0 0 1 1 *"), utc(2026, 11, 25, 12, 0)), utc(2027, 1, 1, 0, 0));
  // Both day fields restricted: the 1st of the month or a Friday, whichever comes first.
  EXPECT_EQ(next_fire(parse("0 0 1 * 5"), utc(2026, 11, 25, 12, 0)), utc(2026, 11, 27, 0, 0));
  EXPECT_EQ(next_fire(parse("0 0 29 2 *"), utc(2026, 3, 1, 0, 0)), utc(2028, 2, 29, 0, 0));
}

TEST(Cron, MalformedSchedulesNameTheField) {
  std::string error;
  EXPECT_FALSE(parse_cron("0 25 * * *", &error));
  EXPECT_EQ(error, "hour: 25 is out of range 0-23");
  EXPECT_FALSE(parse_cron("0 3 * *", &error));
  EXPECT_NE(error.find("5 fields"), std::string::npos);
  EXPECT_FALSE(parse_cron("x 3 * * *", &error));
  EXPECT_EQ(error, "minute: 'x' is not a number");
  EXPECT_FALSE(parse_cron("*/0 3 * * *", &error));
  EXPECT_FALSE(parse_cron("0 3 32 * *", &error));
  EXPECT_NE(error.find("day of month"), std::string::npos);
}

}  // namespace
}  // namespace berth::cron
