#include "util/duration.hpp"

#include <gtest/gtest.h>

namespace berth::util {
namespace {

using namespace std::chrono_literals;

TEST(Duration, TakesTheUnitsOperatorsWrite) {
  EXPECT_EQ(parse_duration("30s"), 30s);
  EXPECT_EQ(parse_duration("5m"), 300s);
  EXPECT_EQ(parse_duration("1h"), 3600s);
  EXPECT_EQ(parse_duration("7d"), 7 * 86400s);
  EXPECT_EQ(parse_duration("90"), 90s);  // a bare number is seconds
}

TEST(Duration, RefusesTheRest) {
  for (const char* bad : {"", "0", "0m", "-5m", "5x", "m", "5 m", "5mm", "1.5h", "9999999999s"})
    EXPECT_EQ(parse_duration(bad), std::nullopt) << bad;
}

}  // namespace
}  // namespace berth::util
