// One supervisor over fakes of its edges: it makes its instance writable only while etcd (as
// the agent's mirror has it) still wants the allocation that says so.
#include "agent/supervisor.hpp"

#include <gtest/gtest.h>

#include "agent/session.hpp"
#include "support/fake_docker.hpp"
#include "support/fake_engine.hpp"
#include "support/fake_store.hpp"
#include "support/run.hpp"

namespace berth::agent {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

asio::awaitable<void> pause(test::Executor ex, std::chrono::milliseconds d) {
  asio::steady_timer t(ex, d);
  co_await t.async_wait(asio::use_awaitable);
}

TEST(Supervisor, NeverMakesAnInstanceWritableOnAnAllocationEtcdNoLongerHolds) {
  test::run([](test::Executor ex) -> asio::awaitable<void> {
    test::FakeStore store(ex);
    test::FakeDocker docker;
    test::FakeEngine engine(docker);
    Options options;
    options.name = "h1";
    options.probe_interval = 20ms;
    HostSession session(ex, store, docker, options, {});
    HostNetwork hostnet(ex, "");
    // A container that answers at the instance's address, read-only for now.
    docker::NetworkSpec net;
    net.name = "berth-t";
    co_await docker.network_create(net);
    docker.add_image("berth/fake:1");
    docker::ContainerSpec spec;
    spec.image = "berth/fake:1";
    spec.name = "berth-x-0";
    spec.network = "berth-t";
    spec.ip = "10.77.0.10";
    co_await docker.container_start(co_await docker.container_create(spec));
    engine.instances()["10.77.0.10"].role = "replica";

    model::Allocation a;
    a.database_id = "db1";
    a.n = 0;
    a.host = "h1";
    a.ip = "10.77.0.10";
    a.role = model::Role::primary;
    a.epoch = 1;
    bool wanted = false;  // failed over meanwhile: etcd holds another allocation now
    Supervisor s(Supervisor::Edges{ex, store, docker, hostnet, session, options,
                                   [&](const model::Allocation&) { return wanted; }},
                 engine, a);
    s.start();
    co_await pause(ex, 300ms);
    EXPECT_TRUE(engine.applied().empty()) << "promoted on a stale allocation";
    EXPECT_EQ(engine.instances()["10.77.0.10"].role, "replica");

    wanted = true;  // etcd confirms it: now it serves
    s.wake();
    for (int i = 0; i < 100 && engine.instances()["10.77.0.10"].role != "primary"; ++i)
      co_await pause(ex, 20ms);
    EXPECT_EQ(engine.instances()["10.77.0.10"].role, "primary");
    co_await s.stop();
  });
}

}  // namespace
}  // namespace berth::agent
