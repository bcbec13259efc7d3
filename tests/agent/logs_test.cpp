#include "agent/logs.hpp"

#include <gtest/gtest.h>

namespace berth::agent {
namespace {

TEST(Logs, DockersTimestampsBecomeNanosecondsThatSortAsTimeDoes) {
  EXPECT_EQ(rfc3339_nanos("1970-01-01T00:00:01.5Z"), 1'500'000'000);
  EXPECT_EQ(rfc3339_nanos("1970-01-01T00:00:01.000000002Z"), 1'000'000'002);
  EXPECT_EQ(rfc3339_nanos("1970-01-01T00:00:01Z"), 1'000'000'000);
  // Docker trims trailing zeros: as text ".1Z" sorts after ".12Z", as time before.
  EXPECT_LT(rfc3339_nanos("2026-11-28T16:20:05.1Z"), rfc3339_nanos("2026-11-28T16:20:05.12Z"));
  EXPECT_EQ(rfc3339_nanos("not a time"), 0);
  EXPECT_EQ(rfc3339_nanos(""), 0);
}

TEST(Logs, EachLineKeepsItsTimeAndTextAndALineWithoutOneIsKeptWhole) {
  auto lines = parse_log_lines(
      "2026-11-28T16:20:05.123Z 1:M * Ready to accept connections\r\n"
      "no time here\n"
      "2026-11-28T16:20:06Z \n");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].time, "2026-11-28T16:20:05.123Z");
  EXPECT_EQ(lines[0].text, "1:M * Ready to accept connections");
  EXPECT_GT(lines[0].nanos, 0);
  EXPECT_EQ(lines[1].text, "no time here");
  EXPECT_EQ(lines[1].nanos, 0);
  EXPECT_EQ(lines[2].text, "");
  EXPECT_GT(lines[2].nanos, lines[0].nanos);
}

}  // namespace
}  // namespace berth::agent
