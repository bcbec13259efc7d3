// What the leader's probe counts as a primary that keeps its database going.
#include "controller/prober.hpp"

#include <gtest/gtest.h>

namespace berth::controller {
namespace {

engines::ProbeResult answer(std::string role, bool writes_paused) {
  engines::ProbeResult r;
  r.healthy = true;
  r.role = std::move(role);
  r.writes_paused = writes_paused;
  return r;
}

TEST(ServesWrites, OnlyAPrimaryThatAnswersAndTakesWrites) {
  EXPECT_TRUE(serves_writes(answer("primary", false)));
  // Fenced by an agent that lost etcd: it answers, but nothing will unfence it while its host's
  // lease is gone.
  EXPECT_FALSE(serves_writes(answer("primary", true)));
  // Restarted by Docker with no agent to tell it its role: it waits as a replica of nothing.
  EXPECT_FALSE(serves_writes(answer("replica", false)));
  EXPECT_FALSE(serves_writes(engines::ProbeResult{}));
}

}  // namespace
}  // namespace berth::controller
