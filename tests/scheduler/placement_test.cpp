#include "scheduler/placement.hpp"

#include <gtest/gtest.h>

namespace berth::scheduler {
namespace {

HostSnapshot host(std::string name, int64_t memory, int64_t allocated, int instances = 0) {
  HostSnapshot h;
  h.name = std::move(name);
  h.memory_mb = memory;
  h.allocated_mb = allocated;
  h.instances = instances;
  return h;
}

TEST(Placement, PicksHostWithMostFreeMemory) {
  auto r = place({host("a", 1000, 800), host("b", 1000, 100), host("c", 2000, 1500)}, {256});
  EXPECT_EQ(r.host, "b");
}

TEST(Placement, TiesGoToFewestInstancesThenName) {
  EXPECT_EQ(place({host("b", 1000, 0, 1), host("a", 1000, 0, 2)}, {64}).host, "b");
  EXPECT_EQ(place({host("b", 1000, 0), host("a", 1000, 0)}, {64}).host, "a");
}

TEST(Placement, TooMuchMemoryNamesTheFieldAndTheBestOffer) {
  auto r = place({host("a", 1000, 800), host("b", 1000, 300)}, {800});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error, "memory_mb: 800 MiB requested but the most free on any host is 700 MiB");
}

TEST(Placement, NoHostsIsAnError) {
  auto r = place({}, {64});
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.error.find("no host is alive"), std::string::npos);
}

TEST(Placement, AvoidsHostsAndDrainingHostsAndHonoursLabels) {
  auto a = host("a", 1000, 0), b = host("b", 1000, 500), c = host("c", 4000, 0);
  c.draining = true;
  b.labels["disk"] = "ssd";
  PlacementRequest req{64, {"a"}, {}};
  EXPECT_EQ(place({a, b, c}, req).host, "b");
  req.avoid_hosts = {"b"};
  EXPECT_FALSE(place({a, b, c}, {64, {"a", "b"}, {}}).ok());
  EXPECT_EQ(place({a, b, c}, {64, {}, {{"disk", "ssd"}}}).host, "b");
  EXPECT_FALSE(place({a, b, c}, {64, {}, {{"disk", "nvme"}}}).ok());
}

TEST(Placement, UnknownLabelsNameTheConstraint) {
  auto a = host("a", 1000, 0);
  a.labels["zone"] = "b";
  EXPECT_EQ(place({a}, {64, {}, {{"zone", "c"}}}).error,
            "constraints: no live host carries the labels zone=c");
  // The label exists but its host already runs an instance: a distinct-host problem.
  auto r = place({a}, {64, {"a"}, {{"zone", "b"}}});
  EXPECT_NE(r.error.find("distinct hosts"), std::string::npos);
}

}  // namespace
}  // namespace berth::scheduler
