#include "store/etcd_auth.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "model/keys.hpp"

namespace berth::store {
namespace {

namespace keys = model::keys;

// Whether the grants let the agent do `access` on key: etcd's rule, a grant covers the key
// itself (no range_end) or every key in [key, range_end).
bool allows(const std::vector<KeyPermission>& grants, const std::string& key, Access access) {
  return std::any_of(grants.begin(), grants.end(), [&](const KeyPermission& p) {
    bool covers = p.range_end.empty() ? key == p.key : key >= p.key && key < p.range_end;
    bool kind = p.access == Access::readwrite || p.access == access;
    return covers && kind;
  });
}

TEST(EtcdAuth, AnAgentWritesItsOwnHostKeysAndNoOtherHosts) {
  auto h1 = agent_permissions("h1");
  for (auto& key : {keys::host("h1"), keys::host_settings("h1"), keys::host_left("h1"),
                    keys::orphan("h1", "o-1")})
    EXPECT_TRUE(allows(h1, key, Access::write)) << key;
  for (auto& key : {keys::host("h2"), keys::host_settings("h2"), keys::host_left("h2"),
                    keys::orphan("h2", "o-1"), keys::host("h10")})
    EXPECT_FALSE(allows(h1, key, Access::write)) << key;
}

TEST(EtcdAuth, AnAgentCannotMintTokensOrChangeTheClustersSettings) {
  auto h1 = agent_permissions("h1");
  for (auto& key :
       {keys::token("t-1"), keys::kAdminTokenHash, keys::project("p"), keys::name("default", "app"),
        keys::kNetwork, keys::kSealingKey, keys::kClusterId, keys::kLeader, keys::server("s:7070"),
        keys::tombstone("d1"), keys::idempotency("k")})
    EXPECT_FALSE(allows(h1, key, Access::write)) << key;
}

TEST(EtcdAuth, AnAgentReadsTheStateAndKeepsUpWhatItReports) {
  auto h1 = agent_permissions("h1");
  EXPECT_TRUE(allows(h1, keys::kNetwork, Access::read));
  EXPECT_TRUE(allows(h1, keys::allocation("h2", "d1", 0), Access::read));
  for (auto& key : {keys::status("h1", "d1", 0), keys::address("10.0.0.5"), keys::task("t1"),
                    keys::task_claim("t1"), keys::backup("b1")})
    EXPECT_TRUE(allows(h1, key, Access::write)) << key;
  // No database or allocation record, its own host's included: the leader ends restores.
  for (auto& key :
       {keys::database("d1"), keys::allocation("h1", "d1", 0), keys::name("default", "x")})
    EXPECT_FALSE(allows(h1, key, Access::write)) << key;
  EXPECT_FALSE(allows(h1, "/other/key", Access::read));
  // Instance statuses are kept by host: another host's are not its to write.
  EXPECT_FALSE(allows(h1, keys::status("h2", "d1", 0), Access::write));
  EXPECT_TRUE(allows(h1, keys::status("h2", "d1", 0), Access::read));
}

TEST(EtcdAuth, EachAgentHasAUserOfItsOwn) {
  EXPECT_EQ(agent_user("h1"), "agent-h1");
  EXPECT_NE(agent_user("h1"), agent_user("h2"));
  EXPECT_NE(agent_user("root"), kRootUser);
}

}  // namespace
}  // namespace berth::store
