#include "store/quorum.hpp"

#include <gtest/gtest.h>

namespace berth::store {
namespace {

using W = MemberWord;

TEST(Quorum, AMemberSaysWhetherItKnowsALeader) {
  // As etcd 3.4 answers POST /v3/maintenance/status, with and without a leader.
  EXPECT_EQ(member_word(200, R"({"header":{"member_id":"1"},"leader":"7445599390133392379"})"),
            W::Leader);
  EXPECT_EQ(member_word(200, R"({"header":{"member_id":"1"},"errors":["etcdserver: no leader"]})"),
            W::NoLeader);
  EXPECT_EQ(member_word(200, R"({"header":{"member_id":"1"},"leader":"0"})"), W::NoLeader);
  EXPECT_EQ(member_word(503, "{}"), W::Unknown);
  EXPECT_EQ(member_word(200, "not json"), W::Unknown);
}

TEST(Quorum, LostOnlyWhenMostMembersCannotCommit) {
  EXPECT_TRUE(quorum_lost({W::Refused}));  // berth up's single etcd, down
  EXPECT_TRUE(quorum_lost({W::Refused, W::Refused, W::Leader}));
  EXPECT_TRUE(quorum_lost({W::NoLeader, W::Refused, W::Unknown}));
  // One member down: the other two can elect a leader and commit a promotion.
  EXPECT_FALSE(quorum_lost({W::Refused, W::Leader, W::Leader}));
  // Silence proves nothing: the members may be committing on the other side of a partition.
  EXPECT_FALSE(quorum_lost({W::Unknown, W::Unknown, W::Unknown}));
  EXPECT_FALSE(quorum_lost({W::Refused, W::Unknown, W::Unknown}));
  EXPECT_FALSE(quorum_lost({W::Refused, W::Refused, W::Leader, W::Leader}));
  EXPECT_FALSE(quorum_lost({}));  // members never learned: unsure
}

}  // namespace
}  // namespace berth::store
