#include "audit/audit.hpp"

#include <gtest/gtest.h>

namespace berth::audit {
namespace {

TEST(Audit, ChangesAndRefusalsAreRecordedReadsAreNot) {
  EXPECT_TRUE(recorded("POST", 201));
  EXPECT_TRUE(recorded("DELETE", 404));  // a change asked for, even if it found nothing
  EXPECT_TRUE(recorded("PATCH", 409));
  EXPECT_TRUE(recorded("GET", 401));
  EXPECT_TRUE(recorded("GET", 403));
  EXPECT_FALSE(recorded("GET", 200));
  EXPECT_FALSE(recorded("GET", 404));
}

TEST(Audit, KeysSortByTimeAndPruneByTime) {
  auto early = kPrefix + id(1'700'000'000'000'000, "aaaa");
  auto late = kPrefix + id(1'700'000'000'000'001, "0000");
  EXPECT_LT(early, late);
  EXPECT_LT(early, key_before(1'700'000'000'000'001));
  EXPECT_GE(late, key_before(1'700'000'000'000'001));
}

}  // namespace
}  // namespace berth::audit
