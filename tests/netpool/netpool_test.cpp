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

// Excludes as operators write them: one address, a range A-B, or a CIDR block.
TEST(NetPool, ExcludesTakeAddressesRangesAndCidrBlocks) {
  struct Case {
    std::string text;
    std::optional<std::pair<std::string, std::string>> range;  // nullopt: refused
  };
  std::vector<Case> cases = {
      {"10.88.0.7", {{"10.88.0.7", "10.88.0.7"}}},
      {"10.88.0.2-10.88.0.9", {{"10.88.0.2", "10.88.0.9"}}},
      {"10.88.0.0/24", {{"10.88.0.0", "10.88.0.255"}}},
      {"10.88.1.77/24", {{"10.88.1.0", "10.88.1.255"}}},  // host bits are ignored
      {"10.88.0.0/16", {{"10.88.0.0", "10.88.255.255"}}},
      {"10.88.0.5/32", {{"10.88.0.5", "10.88.0.5"}}},
      {"10.88.0.4/30", {{"10.88.0.4", "10.88.0.7"}}},
      {"0.0.0.0/0", {{"0.0.0.0", "255.255.255.255"}}},
      {"10.88.0.9-10.88.0.2", std::nullopt},  // backwards
      {"10.88.0.0/33", std::nullopt},
      {"10.88.0.0/", std::nullopt},
      {"10.88.0.0/x", std::nullopt},
      {"10.88.0.0/-1", std::nullopt},
      {"10.88.0/24", std::nullopt},
      {"x", std::nullopt},
      {"", std::nullopt},
  };
  for (auto& c : cases) {
    auto got = parse_exclude(c.text);
    ASSERT_EQ(got.has_value(), c.range.has_value()) << c.text;
    if (!got) continue;
    EXPECT_EQ(format_ipv4(got->first), c.range->first) << c.text;
    EXPECT_EQ(format_ipv4(got->second), c.range->second) << c.text;
  }
}

TEST(NetPool, CidrExcludesBesideRangesAndAddresses) {
  auto c =
      config("10.88.0.0/16", "10.88.0.1", {"10.88.0.0/24", "10.88.1.0-10.88.1.9", "10.88.1.11"});
  EXPECT_EQ(validate(c), "");
  EXPECT_EQ(choose(c, {}), "10.88.1.10");
  EXPECT_EQ(choose(c, {"10.88.1.10"}), "10.88.1.12");
  EXPECT_FALSE(assignable(c, *parse_ipv4("10.88.0.200")));
  EXPECT_TRUE(assignable(c, *parse_ipv4("10.88.2.1")));
  auto bad = validate(config("10.88.0.0/16", "10.88.0.1", {"10.88.0.0/40"}));
  EXPECT_EQ(bad.rfind("exclude:", 0), 0u) << bad;
}

TEST(NetPool, AWideSubnetMostlyExcludedIsOnePassOverTheRanges) {
  // A /8 with all but a few addresses excluded, in overlapping ranges. (Address by address,
  // this took seconds on the event loop; the fuzz target's time limit catches that.)
  auto c = config("10.0.0.0/8", "10.0.0.1",
                  {"10.0.0.0/9", "10.64.0.0-10.200.0.0", "10.128.0.0-10.255.255.249"});
  EXPECT_EQ(choose(c, {}), "10.255.255.250");
  EXPECT_EQ(choose(c, {"10.255.255.250", "10.255.255.251"}), "10.255.255.252");
  EXPECT_EQ(choose(c, {"10.255.255.250", "10.255.255.251", "10.255.255.252", "10.255.255.253",
                       "10.255.255.254"}),
            std::nullopt);
}

}  // namespace
}  // namespace berth::netpool
