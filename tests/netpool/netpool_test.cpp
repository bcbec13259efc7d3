#include "netpool/netpool.hpp"

#include <gtest/gtest.h>

namespace berth::netpool {
namespace {

model::NetworkConfig config(std::string subnet, std::string gateway,
                            std::vector<std::string> exclude = {}) {
  model::NetworkConfig c;
  c.subnet = std::move(subnet);
  c.gateway = std::move(gateway);
  c.exclude = std::move(exclude);
  return c;
}

TEST(NetPool, ParsesAndFormatsAddresses) {
  EXPECT_EQ(format_ipv4(*parse_ipv4("10.1.2.3")), "10.1.2.3");
  EXPECT_FALSE(parse_ipv4("10.1.2"));
  EXPECT_FALSE(parse_ipv4("10.1.2.300"));
  EXPECT_FALSE(parse_ipv4("10.1.2.3x"));
  auto s = parse_cidr("10.1.2.77/24");
  ASSERT_TRUE(s);
  EXPECT_EQ(format_ipv4(s->network), "10.1.2.0");
  EXPECT_EQ(format_ipv4(s->broadcast()), "10.1.2.255");
  EXPECT_FALSE(parse_cidr("10.1.2.0/31"));
  EXPECT_FALSE(parse_cidr("10.1.2.0"));
}

TEST(NetPool, NeverHandsOutNetworkBroadcastOrGateway) {
  auto c = config("10.9.0.0/29", "10.9.0.1");
  std::set<std::string> taken;
  std::vector<std::string> got;
  while (auto a = choose(c, taken)) {
    taken.insert(*a);
    got.push_back(*a);
  }
  EXPECT_EQ(got,
            (std::vector<std::string>{"10.9.0.2", "10.9.0.3", "10.9.0.4", "10.9.0.5", "10.9.0.6"}));
}

TEST(NetPool, SkipsExcludedRangesAndTakenAddresses) {
  auto c = config("10.9.0.0/24", "10.9.0.1", {"10.9.0.2-10.9.0.9", "10.9.0.11"});
  EXPECT_EQ(choose(c, {}), "10.9.0.10");
  EXPECT_EQ(choose(c, {"10.9.0.10"}), "10.9.0.12");
  EXPECT_FALSE(assignable(c, *parse_ipv4("10.9.1.5")));
}

TEST(NetPool, ValidationNamesTheField) {
  EXPECT_EQ(validate(config("10.9.0.0/24", "10.9.0.1")), "");
  EXPECT_EQ(validate(config("10.9.0.0/33", "10.9.0.1")).rfind("subnet:", 0), 0u);
  EXPECT_EQ(validate(config("10.9.0.0/24", "10.9.1.1")).rfind("gateway:", 0), 0u);
  EXPECT_EQ(validate(config("10.9.0.0/24", "10.9.0.1", {"x"})).rfind("exclude:", 0), 0u);
}

}  // namespace
}  // namespace berth::netpool
