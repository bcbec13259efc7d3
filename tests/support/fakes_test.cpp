// The fakes are code too: a few checks that they behave as etcd and dockerd do where the
// agent's tests rely on it.
#include <gtest/gtest.h>

#include <boost/asio.hpp>

#include "support/fake_docker.hpp"
#include "support/fake_store.hpp"
#include "support/run.hpp"

namespace berth::test {
namespace {

using store::Compare;
using store::Operation;
using store::WatchEvent;

TEST(FakeStore, TxnComparesAndRevisions) {
  run([](Executor ex) -> boost::asio::awaitable<void> {
    FakeStore s(ex);
    auto rev = co_await s.put("/a", "1", 0);
    std::vector<Compare> absent{Compare::absent("/a")};
    std::vector<Operation> put{Operation::put("/a", "2")};
    auto r = co_await s.txn(absent, put, {});
    EXPECT_FALSE(r.succeeded);
    EXPECT_EQ(s.find("/a")->value, "1");
    std::vector<Compare> same{Compare::mod_revision_is("/a", rev), Compare::value_is("/a", "1")};
    r = co_await s.txn(same, put, {});
    EXPECT_TRUE(r.succeeded);
    EXPECT_EQ(r.revision, rev + 1);
    EXPECT_EQ(s.find("/a")->version, 2);
    EXPECT_EQ(s.find("/a")->create_revision, rev);
    // A value compare on a missing key fails, as in etcd.
    std::vector<Compare> missing{Compare::value_is("/b", "")};
    EXPECT_FALSE((co_await s.txn(missing, put, {})).succeeded);
    // The past stays readable.
    auto old = co_await s.get_prefix("/", rev);
    EXPECT_EQ(old.kvs.size(), 1u);
    if (!old.kvs.empty()) {
      EXPECT_EQ(old.kvs[0].value, "1");
    }
  });
}

TEST(FakeStore, LeasesExpireTheirKeys) {
  run([](Executor ex) -> boost::asio::awaitable<void> {
    FakeStore s(ex);
    auto lease = co_await s.lease_grant(5);
    co_await s.put("/host", "h", lease);
    EXPECT_EQ(co_await s.lease_keep_alive(lease), 5);
    s.set_keep_alive_failing(true);
    EXPECT_THROW(co_await s.lease_keep_alive(lease), store::Unavailable);
    s.set_keep_alive_failing(false);
    s.expire_lease(lease);
    EXPECT_EQ(s.find("/host"), nullptr);
    EXPECT_EQ(co_await s.lease_keep_alive(lease), 0);
    EXPECT_THROW(co_await s.put("/x", "y", lease), std::runtime_error);
    s.set_unavailable(true);
    EXPECT_THROW(co_await s.get("/x"), store::Unavailable);
  });
}

TEST(FakeStore, WatchDeliversEveryChangeInOrder) {
  run([](Executor ex) -> boost::asio::awaitable<void> {
    FakeStore s(ex);
    auto first = co_await s.put("/w/a", "1", 0);
    co_await s.put("/other", "x", 0);
    std::vector<std::string> seen;
    int64_t last = 0;
    boost::asio::cancellation_signal stop;
    boost::asio::co_spawn(
        ex,
        s.watch("/w/", first,
                [&](int64_t rev, const std::vector<WatchEvent>& events) {
                  EXPECT_GT(rev, last);  // in order, one batch per revision
                  last = rev;
                  for (auto& e : events)
                    seen.push_back((e.type == WatchEvent::Type::Put ? "put " : "del ") + e.kv.key);
                }),
        boost::asio::bind_cancellation_slot(stop.slot(), boost::asio::detached));
    boost::asio::steady_timer pause(ex);
    pause.expires_after(std::chrono::milliseconds(5));
    co_await pause.async_wait(boost::asio::use_awaitable);
    std::vector<Operation> both{Operation::put("/w/b", "2"), Operation::erase("/w/a")};
    co_await s.txn({}, both, {});
    pause.expires_after(std::chrono::milliseconds(5));
    co_await pause.async_wait(boost::asio::use_awaitable);
    EXPECT_EQ(seen, (std::vector<std::string>{"put /w/a", "put /w/b", "del /w/a"}));
    stop.emit(boost::asio::cancellation_type::terminal);
    pause.expires_after(std::chrono::milliseconds(5));
    co_await pause.async_wait(boost::asio::use_awaitable);
  });
}

TEST(FakeDocker, ContainersByLabelStartStopAndFailures) {
  run([](Executor) -> boost::asio::awaitable<void> {
    FakeDocker d;
    d.add_image("img:1");
    docker::NetworkSpec net;
    net.name = "net";
    net.subnet = "10.9.0.0/24";
    co_await d.network_create(net);
    docker::ContainerSpec spec;
    spec.name = "one";
    spec.image = "img:1";
    spec.network = "net";
    spec.ip = "10.9.0.5";
    spec.labels["berth.host"] = "h1";
    spec.volumes["vol-one"] = "/data";
    auto id = co_await d.container_create(spec);
    EXPECT_THROW(co_await d.container_create(spec), docker::Error);  // the name is taken
    co_await d.container_start(id);
    auto listed = co_await d.container_list("berth.host", "h1");
    EXPECT_EQ(listed.size(), 1u);
    if (!listed.empty()) {
      EXPECT_TRUE(listed[0].running);
      EXPECT_EQ(listed[0].ips["net"], "10.9.0.5");
    }
    EXPECT_TRUE((co_await d.container_list("berth.host", "h2")).empty());
    d.crash("one");
    EXPECT_EQ((co_await d.container_inspect("one"))->restart_count, 1);
    co_await d.container_kill(id, "KILL");
    EXPECT_FALSE((co_await d.container_inspect(id))->running);
    EXPECT_THROW(co_await d.volume_remove("vol-one"), docker::Error);  // in use
    co_await d.container_remove(id);
    co_await d.volume_remove("vol-one");
    EXPECT_TRUE(d.volumes().empty());
    d.fail("network_create", 500, "Pool overlaps with other one on this address space");
    try {
      docker::NetworkSpec other;
      other.name = "other";
      co_await d.network_create(other);
      ADD_FAILURE() << "network_create did not fail";
    } catch (const docker::Error& e) {
      EXPECT_EQ(e.status, 500);
      EXPECT_STREQ(e.what(), "Pool overlaps with other one on this address space");
    }
    d.set_down(true);
    EXPECT_FALSE(co_await d.ping(std::chrono::seconds(1)));
    EXPECT_THROW(co_await d.info(), std::runtime_error);
    EXPECT_EQ(d.count("container_create"), 2);
  });
}

}  // namespace
}  // namespace berth::test
