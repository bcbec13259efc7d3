// The agent over fakes of its edges (tests/support): Docker and etcd in memory, an engine
// whose instances live in the fake Docker. Each test drives the real Agent and waits, with a
// deadline, for what a user would see: containers, statuses, the roles asked of the engine.
#include "agent/agent.hpp"

#include <gtest/gtest.h>

#include <boost/asio.hpp>

#include "support/fake_docker.hpp"
#include "support/fake_engine.hpp"
#include "support/fake_store.hpp"
#include "support/run.hpp"

namespace berth::agent {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using test::Executor;
using test::FakeDocker;
using test::FakeEngine;
using test::FakeStore;

// Waits until condition() holds, checking every 10 ms, for at most timeout.
asio::awaitable<bool> eventually(Executor ex, std::function<bool()> condition,
                                 std::chrono::milliseconds timeout = 5s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  asio::steady_timer pause(ex);
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) co_return false;
    pause.expires_after(10ms);
    co_await pause.async_wait(asio::use_awaitable);
  }
  co_return true;
}

asio::awaitable<void> sleep(Executor ex, std::chrono::milliseconds d) {
  asio::steady_timer pause(ex, d);
  co_await pause.async_wait(asio::use_awaitable);
}

model::Allocation allocation(int n, model::Role role, int64_t epoch = 1) {
  model::Allocation a;
  a.database_id = "db1";
  a.database_name = "cache";
  a.n = n;
  a.host = "h1";
  a.ip = "10.77.0." + std::to_string(10 + n);
  a.port = 1;  // nothing listens there: a replica's check of its primary fails at once
  a.engine = "fake";
  a.memory_mb = 64;
  a.role = role;
  a.epoch = epoch;
  if (role == model::Role::replica) a.primary_ip = "127.0.0.1";
  return a;
}

// A primary with replicas elsewhere: another instance could take its place, so a fence
// applies to it.
model::Allocation replaceable_primary() {
  auto a = allocation(0, model::Role::primary);
  a.database_address = "10.77.0.100";
  return a;
}

// One host's world: etcd and Docker in memory, the network configured, the image present.
struct World {
  explicit World(Executor ex) : ex(ex), store(ex), engine(docker) {
    docker.add_image("berth/fake:1");
    options.name = "h1";
    options.advertise = "127.0.0.1";
    options.lease_ttl_seconds = 1;
    options.probe_interval = 50ms;
    options.find_engine = [this](const std::string& name) -> const engines::Engine* {
      return name == "fake" ? &engine : nullptr;
    };
  }
  asio::awaitable<void> setup() {
    model::NetworkConfig net;
    net.subnet = "10.77.0.0/24";
    net.gateway = "10.77.0.1";
    net.docker_network = "berth-t";
    co_await store.put(model::keys::kNetwork, model::dump(net), 0);
    co_await store.put(model::keys::kClusterId, "c1", 0);
    model::Database db;
    db.id = "db1";
    db.name = "cache";
    co_await store.put(model::keys::database("db1"), model::dump(db), 0);
  }
  asio::awaitable<void> allocate(const model::Allocation& a) {
    co_await store.put(model::keys::allocation(a.host, a.database_id, a.n), model::dump(a), 0);
  }
  std::optional<model::InstanceStatus> status(int n) const {
    auto* kv = store.find(model::keys::status("h1", "db1", n));
    if (!kv) return std::nullopt;
    return model::parse<model::InstanceStatus>(kv->value);
  }
  bool healthy(int n) const {
    auto s = status(n);
    return s && s->state == model::InstanceState::healthy;
  }
  // The roles asked of the engine for the instance at ip, in order.
  std::vector<engines::RoleConfig> applied(const std::string& ip) const {
    std::vector<engines::RoleConfig> out;
    for (auto& a : engine.applied())
      if (a.ip == ip) out.push_back(a.config);
    return out;
  }

  Executor ex;
  FakeStore store;
  FakeDocker docker;
  FakeEngine engine;
  Options options;
};

TEST(Agent, ReconcilesFromEmpty) {
  test::run([](Executor ex) -> asio::awaitable<void> {
    World w(ex);
    co_await w.setup();
    co_await w.allocate(allocation(0, model::Role::primary));
    co_await w.allocate(allocation(1, model::Role::replica));
    Agent agent(ex, w.store, w.docker, w.options);
    co_await agent.run();
    // Healthy, and in the role allocated (a new instance answers before it gets its role).
    EXPECT_TRUE(co_await eventually(ex, [&] {
      return w.healthy(0) && w.healthy(1) && w.status(1)->role == model::Role::replica;
    }));
    EXPECT_TRUE(w.docker.networks().count("berth-t"));
    EXPECT_EQ(w.docker.containers().size(), 2u);
    for (auto& [id, c] : w.docker.containers()) EXPECT_TRUE(c.info.running) << c.info.name;
    EXPECT_EQ(w.docker.volumes().size(), 2u);
    EXPECT_EQ(w.status(0)->role, model::Role::primary);
    EXPECT_EQ(w.status(1)->role, model::Role::replica);
    EXPECT_EQ(w.status(0)->host, "h1");
    // Statuses live under the host's lease.
    EXPECT_EQ(w.store.find(model::keys::status("h1", "db1", 0))->lease, agent.session().lease());
    int64_t lease = agent.session().lease();
    co_await agent.shutdown();
    // The lease is left to run out (a restart takes it back), and the databases run on.
    auto* host = w.store.find(model::keys::host("h1"));
    EXPECT_TRUE(host && host->lease == lease);
    EXPECT_TRUE(w.store.lease_alive(lease));
    EXPECT_EQ(w.docker.containers().size(), 2u);
  });
}

TEST(Agent, AdoptsItsContainersAfterARestart) {
  test::run([](Executor ex) -> asio::awaitable<void> {
    World w(ex);
    co_await w.setup();
    co_await w.allocate(allocation(0, model::Role::primary));
    co_await w.allocate(allocation(1, model::Role::replica));
    int64_t lease = 0;
    {
      Agent first(ex, w.store, w.docker, w.options);
      co_await first.run();
      EXPECT_TRUE(co_await eventually(ex, [&] { return w.healthy(0) && w.healthy(1); }));
      lease = first.session().lease();
      co_await first.shutdown();
    }
    auto before = w.docker.containers();
    EXPECT_TRUE(w.healthy(0));  // the statuses stay with the lease
    w.docker.clear_calls();
    Agent second(ex, w.store, w.docker, w.options);
    co_await second.run();
    // Back within the TTL: the same lease, so to the cluster the host never left.
    EXPECT_TRUE(co_await second.wait_registered(5s));
    EXPECT_EQ(second.session().lease(), lease);
    EXPECT_EQ(w.store.find(model::keys::host("h1"))->lease, lease);
    EXPECT_TRUE(co_await eventually(ex, [&] { return w.healthy(0) && w.healthy(1); }));
    co_await sleep(ex, 300ms);  // a few more rounds: still nothing touched
    EXPECT_EQ(w.docker.count("container_create"), 0);
    EXPECT_EQ(w.docker.count("container_remove"), 0);
    EXPECT_EQ(w.docker.count("container_start"), 0);
    EXPECT_EQ(w.docker.count("volume_remove"), 0);
    EXPECT_EQ(w.docker.containers().size(), before.size());
    for (auto& [id, c] : before) EXPECT_TRUE(w.docker.containers().count(id)) << c.info.name;
    EXPECT_EQ(w.docker.volumes().size(), 2u);
    EXPECT_EQ(w.store.find(model::keys::status("h1", "db1", 0))->lease, second.session().lease());
    co_await second.shutdown();
  });
}

TEST(Agent, AfterItsLeaseRanOutARestartedAgentRegistersAnewAndAdopts) {
  test::run([](Executor ex) -> asio::awaitable<void> {
    World w(ex);
    co_await w.setup();
    co_await w.allocate(allocation(0, model::Role::primary));
    int64_t lease = 0;
    {
      Agent first(ex, w.store, w.docker, w.options);
      co_await first.run();
      EXPECT_TRUE(co_await eventually(ex, [&] { return w.healthy(0); }));
      lease = first.session().lease();
      co_await first.shutdown();
    }
    w.store.expire_lease(lease);
    EXPECT_FALSE(w.status(0));
    EXPECT_EQ(w.store.find(model::keys::host("h1")), nullptr);
    w.docker.clear_calls();
    Agent second(ex, w.store, w.docker, w.options);
    co_await second.run();
    EXPECT_TRUE(co_await second.wait_registered(5s));
    EXPECT_NE(second.session().lease(), lease);
    EXPECT_TRUE(co_await eventually(ex, [&] { return w.healthy(0); }));
    EXPECT_EQ(w.store.find(model::keys::status("h1", "db1", 0))->lease, second.session().lease());
    EXPECT_EQ(w.docker.count("container_create"), 0);
    EXPECT_EQ(w.docker.count("container_remove"), 0);
    co_await second.shutdown();
  });
}

TEST(Agent, FencesPrimariesWhenEtcdStopsConfirmingTheLease) {
  test::run([](Executor ex) -> asio::awaitable<void> {
    World w(ex);
    co_await w.setup();
    auto primary = replaceable_primary();
    co_await w.allocate(primary);
    // A database that never had a replica: nothing can take its place.
    auto lone = allocation(0, model::Role::primary);
    lone.database_id = "db2";
    lone.ip = "10.77.0.50";
    co_await w.allocate(lone);
    Agent agent(ex, w.store, w.docker, w.options);
    co_await agent.run();
    EXPECT_TRUE(co_await eventually(ex, [&] { return w.healthy(0); }));
    EXPECT_TRUE(co_await eventually(ex, [&] { return w.engine.instances().count(lone.ip) > 0; }));
    EXPECT_FALSE(w.engine.instances()[primary.ip].writes_paused);

    w.store.set_keep_alive_failing(true);
    // Fenced well within the TTL (1 s): the primary refuses writes, and says so.
    EXPECT_TRUE(co_await eventually(
        ex, [&] { return agent.session().fenced(); }, 1s));
    EXPECT_TRUE(co_await eventually(
        ex, [&] { return w.engine.instances()[primary.ip].writes_paused; }, 1s));
    auto roles = w.applied(primary.ip);
    EXPECT_FALSE(roles.empty());
    if (!roles.empty()) {
      EXPECT_EQ(roles.back().role, "primary");
      EXPECT_TRUE(roles.back().fenced);
    }
    EXPECT_TRUE(co_await eventually(ex, [&] {
      auto s = w.status(0);
      return s && s->message == "fenced: writes paused";
    }));
    // etcd out of reach is no reason to stop the lone primary's writes.
    EXPECT_FALSE(w.engine.instances()[lone.ip].writes_paused);

    // Back in touch (the lease never expired): caught up, unfenced, writes again.
    w.store.set_keep_alive_failing(false);
    EXPECT_TRUE(co_await eventually(
        ex, [&] { return !agent.session().fenced(); }, 2s));
    EXPECT_TRUE(co_await eventually(
        ex, [&] { return !w.engine.instances()[primary.ip].writes_paused; }, 1s));
    co_await agent.shutdown();
  });
}

// A fenced host (etcd silent) given a new instance whose container takes longer to start than
// the lease (1 s) lives: once back in touch, the catching up waits for that round. Returns once
// the container is made and starting.
asio::awaitable<void> fence_then_start_slowly(Executor ex, World& w, Agent& agent) {
  w.store.set_keep_alive_failing(true);
  EXPECT_TRUE(co_await eventually(
      ex, [&] { return agent.session().fenced(); }, 1s));
  w.docker.set_start_delay(1500ms);
  auto lone = allocation(1, model::Role::primary);
  lone.database_id = "db2";
  co_await w.allocate(lone);
  EXPECT_TRUE(co_await eventually(ex, [&] {
    for (auto& [id, c] : w.docker.containers())
      if (c.spec.name.find("db2") != std::string::npos) return true;
    return false;
  }));
}

TEST(Agent, CatchingUpAfterAFenceNeverHoldsUpTheKeepAlives) {
  test::run([](Executor ex) -> asio::awaitable<void> {
    World w(ex);
    co_await w.setup();
    co_await w.allocate(replaceable_primary());
    Agent agent(ex, w.store, w.docker, w.options);
    co_await agent.run();
    EXPECT_TRUE(co_await eventually(ex, [&] { return w.healthy(0); }));
    co_await fence_then_start_slowly(ex, w, agent);
    w.store.set_keep_alive_failing(false);
    int before = w.store.keep_alives();
    co_await sleep(ex, 1000ms);
    // The lease is renewed all the while (every 200 ms), not once and then after the round.
    EXPECT_GE(w.store.keep_alives() - before, 3);
    EXPECT_TRUE(co_await eventually(
        ex, [&] { return !agent.session().fenced(); }, 3s));
    co_await agent.shutdown();
  });
}

TEST(Agent, AHostCutOffAgainWhileCatchingUpStaysFenced) {
  test::run([](Executor ex) -> asio::awaitable<void> {
    World w(ex);
    co_await w.setup();
    auto primary = replaceable_primary();
    co_await w.allocate(primary);
    Agent agent(ex, w.store, w.docker, w.options);
    co_await agent.run();
    EXPECT_TRUE(co_await eventually(ex, [&] { return w.healthy(0); }));
    w.store.set_keep_alive_failing(true);
    EXPECT_TRUE(co_await eventually(
        ex, [&] { return agent.session().fenced(); }, 1s));
    w.docker.set_start_delay(1500ms);
    auto lone = allocation(1, model::Role::primary);
    lone.database_id = "db2";
    co_await w.allocate(lone);
    // Its container is being started, slowly. (Not waited for as fence_then_start_slowly does:
    // back in touch this early, the catching up meets the slow round from its start.)
    co_await sleep(ex, 100ms);
    // Back in touch for a moment: the catching up begins; then cut off again.
    w.store.set_keep_alive_failing(false);
    co_await sleep(ex, 150ms);
    w.store.set_keep_alive_failing(true);
    bool unfenced = false;
    auto deadline = std::chrono::steady_clock::now() + 2500ms;
    while (std::chrono::steady_clock::now() < deadline) {
      unfenced |= !agent.session().fenced();
      unfenced |= !w.engine.instances()[primary.ip].writes_paused;
      co_await sleep(ex, 5ms);
    }
    EXPECT_FALSE(unfenced);
    co_await agent.shutdown();
  });
}

TEST(Agent, AnEngineThatRestartsToResizeGetsANewContainerAndNoUpdateInPlace) {
  test::run([](Executor ex) -> asio::awaitable<void> {
    World w(ex);
    w.engine.set_resize_restarts(true);
    co_await w.setup();
    auto a = allocation(0, model::Role::primary);
    co_await w.allocate(a);
    Agent agent(ex, w.store, w.docker, w.options);
    co_await agent.run();
    EXPECT_TRUE(co_await eventually(ex, [&] { return w.healthy(0); }));
    auto first = w.docker.find(engines::container_name(a))->info.id;
    a.memory_mb = 96;
    co_await w.allocate(a);
    EXPECT_TRUE(co_await eventually(ex, [&] {
      auto* c = w.docker.find(engines::container_name(a));
      return c && c->info.id != first && c->spec.memory_bytes == 96 << 20 && w.healthy(0);
    }));
    // The container on its way out is never asked to change (Docker refuses one being removed).
    for (auto& call : w.docker.calls()) EXPECT_FALSE(call.starts_with("container_update_memory"));
    co_await agent.shutdown();
  });
}

TEST(Agent, KeepsItsPrimariesServingWhileEtcdHasLostItsQuorum) {
  test::run([](Executor ex) -> asio::awaitable<void> {
    World w(ex);
    co_await w.setup();
    auto primary = replaceable_primary();
    co_await w.allocate(primary);
    Agent agent(ex, w.store, w.docker, w.options);
    co_await agent.run();
    EXPECT_TRUE(co_await eventually(ex, [&] { return w.healthy(0); }));

    // etcd as a whole cannot commit: no replica can be promoted, so nothing is fenced, for
    // longer than the fence (60% of the 1 s TTL) and the TTL itself.
    w.store.quorum_lost_answer = true;
    w.store.set_keep_alive_failing(true);
    co_await sleep(ex, 1500ms);
    EXPECT_FALSE(agent.session().fenced());
    EXPECT_FALSE(w.engine.instances()[primary.ip].writes_paused);

    // etcd can commit again but still does not hear this agent: fenced at once.
    w.store.quorum_lost_answer = false;
    EXPECT_TRUE(co_await eventually(
        ex, [&] { return w.engine.instances()[primary.ip].writes_paused; }, 1s));
    w.store.set_keep_alive_failing(false);
    EXPECT_TRUE(co_await eventually(
        ex, [&] { return !w.engine.instances()[primary.ip].writes_paused; }, 2s));
    co_await agent.shutdown();
  });
}

// A replica answering on 127.0.0.1 (reset it to silence it), and a primary with a replica in
// sync (a promotion is possible), allocated with the replica's address in the pool.
struct ReplicatedPrimary {
  std::unique_ptr<asio::ip::tcp::acceptor> replica;
  model::Allocation primary;
};

asio::awaitable<ReplicatedPrimary> allocate_a_replicated_primary(World& w) {
  ReplicatedPrimary out;
  out.replica = std::make_unique<asio::ip::tcp::acceptor>(
      w.ex, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  out.primary = replaceable_primary();
  out.primary.port = out.replica->local_endpoint().port();
  out.primary.min_replicas_to_write = 1;
  co_await w.allocate(out.primary);
  co_await w.store.put(model::keys::kAddresses + std::string("127.0.0.1"), "db1/1", 0);
  co_return out;
}

TEST(Agent, FencesAtOnceWhenEtcdAndItsReplicasFallSilentTogether) {
  test::run([](Executor ex) -> asio::awaitable<void> {
    World w(ex);
    w.options.lease_ttl_seconds = 10;  // the lease's own fence would come after 6 s
    co_await w.setup();
    auto [replica, primary] = co_await allocate_a_replicated_primary(w);
    Agent agent(ex, w.store, w.docker, w.options);
    co_await agent.run();
    EXPECT_TRUE(co_await eventually(ex, [&] { return w.healthy(0); }));

    // The host cut off: neither etcd nor the replica answers. Fenced within about half a
    // second, before the leader (which needs about a second) can promote the replica.
    w.store.set_keep_alive_failing(true);
    replica.reset();
    EXPECT_TRUE(co_await eventually(
        ex, [&] { return w.engine.instances()[primary.ip].writes_paused; }, 1500ms));
    EXPECT_TRUE(agent.session().fenced());

    // Back: caught up with etcd, unfenced.
    w.store.set_keep_alive_failing(false);
    EXPECT_TRUE(co_await eventually(
        ex, [&] { return !w.engine.instances()[primary.ip].writes_paused; }, 3s));
    co_await agent.shutdown();
  });
}

TEST(Agent, ALostReplicaAloneFencesNothingWhileEtcdAnswers) {
  test::run([](Executor ex) -> asio::awaitable<void> {
    World w(ex);
    w.options.lease_ttl_seconds = 10;
    co_await w.setup();
    auto [replica, primary] = co_await allocate_a_replicated_primary(w);
    Agent agent(ex, w.store, w.docker, w.options);
    co_await agent.run();
    EXPECT_TRUE(co_await eventually(ex, [&] { return w.healthy(0); }));
    int keep_alives = w.store.keep_alives();

    // The replica's host dies; etcd answers the keep-alive asked at once: not cut off.
    replica.reset();
    co_await sleep(ex, 1500ms);
    EXPECT_FALSE(agent.session().fenced());
    EXPECT_FALSE(w.engine.instances()[primary.ip].writes_paused);
    EXPECT_GT(w.store.keep_alives(), keep_alives);
    co_await agent.shutdown();
  });
}

TEST(Agent, PromotesUnderTheNewerEpochOnly) {
  test::run([](Executor ex) -> asio::awaitable<void> {
    World w(ex);
    co_await w.setup();
    auto replica = allocation(1, model::Role::replica, 1);
    co_await w.allocate(replica);
    Agent agent(ex, w.store, w.docker, w.options);
    co_await agent.run();
    EXPECT_TRUE(co_await eventually(ex, [&] { return w.healthy(1); }));
    EXPECT_EQ(w.engine.instances()[replica.ip].role, "replica");

    auto promoted = allocation(1, model::Role::primary, 2);
    co_await w.allocate(promoted);
    EXPECT_TRUE(co_await eventually(ex, [&] {
      auto s = w.status(1);
      return s && s->role == model::Role::primary && s->epoch == 2;
    }));
    EXPECT_EQ(w.engine.instances()[replica.ip].role, "primary");

    // A stale word (an older epoch, say from a slow writer) changes nothing.
    size_t asked = w.engine.applied().size();
    co_await w.allocate(allocation(1, model::Role::replica, 1));
    co_await sleep(ex, 300ms);
    EXPECT_EQ(w.engine.instances()[replica.ip].role, "primary");
    for (size_t i = asked; i < w.engine.applied().size(); ++i)
      EXPECT_EQ(w.engine.applied()[i].config.role, "primary");
    EXPECT_EQ(agent.reconciler().find("db1/1")->allocation().epoch, 2);
    EXPECT_EQ(w.status(1)->epoch, 2);
    co_await agent.shutdown();
  });
}

TEST(Agent, ARotatedPasswordIsSetLiveThroughTheOldOneAndNoContainerIsMadeAgain) {
  test::run([](Executor ex) -> asio::awaitable<void> {
    World w(ex);
    co_await w.setup();
    auto a = allocation(0, model::Role::primary);
    a.password = "first-password";
    w.engine.instances()[a.ip].password = "first-password";
    co_await w.allocate(a);
    Agent agent(ex, w.store, w.docker, w.options);
    co_await agent.run();
    EXPECT_TRUE(co_await eventually(ex, [&] { return w.healthy(0); }));
    EXPECT_EQ(w.status(0)->password_generation, 0);
    w.docker.clear_calls();

    a.previous_password = a.password;
    a.password = "second-password";
    a.password_generation = 1;
    co_await w.allocate(a);
    EXPECT_TRUE(co_await eventually(ex, [&] {
      auto s = w.status(0);
      return s && s->password_generation == 1 && s->state == model::InstanceState::healthy;
    }));
    EXPECT_EQ(w.engine.instances()[a.ip].password, "second-password");
    // Live: the same container, never stopped.
    EXPECT_EQ(w.docker.count("container_create"), 0);
    EXPECT_EQ(w.docker.count("container_remove"), 0);
    EXPECT_EQ(w.docker.count("container_stop"), 0);

    // An instance that answers to neither password is not made to: it shows unhealthy, and
    // its status does not claim the new generation.
    w.engine.instances()[a.ip].password = "someone-elses";
    a.previous_password = a.password;
    a.password = "third-password";
    a.password_generation = 2;
    co_await w.allocate(a);
    EXPECT_TRUE(co_await eventually(
        ex, [&] { return w.status(0) && w.status(0)->state == model::InstanceState::unhealthy; }));
    EXPECT_EQ(w.status(0)->password_generation, 1);
    EXPECT_EQ(w.engine.instances()[a.ip].password, "someone-elses");
    co_await agent.shutdown();
  });
}

TEST(Agent, ALostStatusIsWrittenAgainAndAMovedInstanceKeepsNone) {
  test::run([](Executor ex) -> asio::awaitable<void> {
    World w(ex);
    w.options.status_check_interval = 100ms;
    co_await w.setup();
    auto replica = allocation(1, model::Role::replica, 1);
    co_await w.allocate(replica);
    Agent agent(ex, w.store, w.docker, w.options);
    co_await agent.run();
    EXPECT_TRUE(co_await eventually(ex, [&] { return w.healthy(1); }));
    // Our status went (a write lost, say): it is written again.
    co_await w.store.erase(model::keys::status("h1", "db1", 1));
    EXPECT_TRUE(co_await eventually(
        ex, [&] { return w.healthy(1); }, 2s))
        << "the status was not written again";

    // The instance moves to h2, whose agent reports it under h2's key: this agent withdraws
    // its own word and leaves h2's alone.
    model::InstanceStatus theirs;
    theirs.host = "h2";
    theirs.state = model::InstanceState::healthy;
    co_await w.store.erase(model::keys::allocation("h1", "db1", 1));
    co_await w.store.put(model::keys::status("h2", "db1", 1), model::dump(theirs), 0);
    agent.reconciler().registered();  // as after a new lease: statuses would be written again
    EXPECT_TRUE(co_await eventually(
        ex, [&] { return !w.status(1); }, 2s))
        << "the status of an instance this host let go of stayed";
    auto* kept = w.store.find(model::keys::status("h2", "db1", 1));
    EXPECT_TRUE(kept && model::parse<model::InstanceStatus>(kept->value).host == "h2")
        << "h2's status was overwritten or removed";
    co_await agent.shutdown();
  });
}

TEST(Agent, NoPromotionWhileFenced) {
  test::run([](Executor ex) -> asio::awaitable<void> {
    World w(ex);
    co_await w.setup();
    auto replica = allocation(1, model::Role::replica, 1);
    co_await w.allocate(replica);
    Agent agent(ex, w.store, w.docker, w.options);
    co_await agent.run();
    EXPECT_TRUE(co_await eventually(ex, [&] { return w.healthy(1); }));
    w.store.set_keep_alive_failing(true);
    EXPECT_TRUE(co_await eventually(
        ex, [&] { return agent.session().fenced(); }, 1s));
    co_await w.allocate(allocation(1, model::Role::primary, 2));
    co_await sleep(ex, 300ms);
    EXPECT_EQ(w.engine.instances()[replica.ip].role, "replica");
    w.store.set_keep_alive_failing(false);
    EXPECT_TRUE(co_await eventually(
        ex, [&] { return w.engine.instances()[replica.ip].role == "primary"; }, 2s));
    co_await agent.shutdown();
  });
}

// This host's orphan records, by volume.
std::map<std::string, model::Orphan> orphans(const test::FakeStore& store) {
  std::map<std::string, model::Orphan> out;
  for (auto& [key, kv] : store.items())
    if (key.starts_with(model::keys::orphans_of("h1"))) {
      auto o = model::parse<model::Orphan>(kv.value);
      out[o.volume] = o;
    }
  return out;
}

// The pool's records of db1's addresses: instance 0's own and the database's.
asio::awaitable<void> reserve_addresses(FakeStore& store) {
  co_await store.put(model::keys::address("10.77.0.10"), model::keys::instance_owner("db1", 0), 0);
  co_await store.put(model::keys::address("10.77.0.100"),
                     model::keys::database_address_owner("db1"), 0);
}

bool addresses_reserved(const FakeStore& store) {
  return store.find(model::keys::address("10.77.0.10")) ||
         store.find(model::keys::address("10.77.0.100"));
}

TEST(Agent, AnInstanceThatLeftKeepsItsDataAsAnOrphanUntilAnOperatorRemovesIt) {
  test::run([](Executor ex) -> asio::awaitable<void> {
    World w(ex);
    co_await w.setup();
    co_await w.allocate(allocation(0, model::Role::primary));
    co_await w.allocate(allocation(1, model::Role::replica));
    Agent agent(ex, w.store, w.docker, w.options);
    co_await agent.run();
    EXPECT_TRUE(co_await eventually(ex, [&] { return w.healthy(0) && w.healthy(1); }));
    // Scaled away (or moved): the database lives on, so its data here stays.
    co_await w.store.erase(model::keys::allocation("h1", "db1", 1));
    EXPECT_TRUE(co_await eventually(ex, [&] { return w.docker.containers().size() == 1; }));
    EXPECT_TRUE(w.docker.volumes().count("berth-db1-1"));
    EXPECT_TRUE(co_await eventually(ex, [&] { return orphans(w.store).size() == 1; }));
    auto o = orphans(w.store).at("berth-db1-1");
    EXPECT_EQ(std::tie(o.host, o.database_id, o.database_name, o.instance),
              std::make_tuple("h1", "db1", "cache", 1));
    EXPECT_EQ(o.bytes, 4096);
    EXPECT_FALSE(o.since.empty());
    co_await sleep(ex, 300ms);  // several passes: the retention (a day) keeps it
    EXPECT_TRUE(w.docker.volumes().count("berth-db1-1"));
    // The operator asks: the volume goes, then its record.
    o.remove_requested = true;
    co_await w.store.put(model::keys::orphan("h1", o.id), model::dump(o), 0);
    EXPECT_TRUE(co_await eventually(ex, [&] { return orphans(w.store).empty(); }));
    EXPECT_FALSE(w.docker.volumes().count("berth-db1-1"));
    EXPECT_TRUE(w.docker.volumes().count("berth-db1-0"));
    co_await agent.shutdown();
  });
}

TEST(Agent, ADatabaseGoneWithoutATombstoneLeavesAnOrphanAndItsTombstoneRemovesIt) {
  test::run([](Executor ex) -> asio::awaitable<void> {
    World w(ex);
    co_await w.setup();
    co_await w.allocate(allocation(0, model::Role::primary));
    co_await reserve_addresses(w.store);
    Agent agent(ex, w.store, w.docker, w.options);
    co_await agent.run();
    EXPECT_TRUE(co_await eventually(ex, [&] { return w.healthy(0); }));
    // Its keys vanish (a stray delete, an old snapshot): no proof of a deletion.
    co_await w.store.erase(model::keys::database("db1"));
    co_await w.store.erase(model::keys::allocation("h1", "db1", 0));
    EXPECT_TRUE(co_await eventually(ex, [&] { return w.docker.containers().empty(); }));
    EXPECT_TRUE(co_await eventually(ex, [&] { return orphans(w.store).size() == 1; }));
    EXPECT_TRUE(w.docker.volumes().count("berth-db1-0"));
    EXPECT_TRUE(addresses_reserved(w.store));
    // The deletion is proven (heard after the allocation's removal, as a host's two watches
    // can hear one transaction): the data goes, and with it the orphan and the addresses.
    model::Tombstone deleted{"db1", "cache", model::now_rfc3339()};  // named: g++ 12
    co_await w.store.put(model::keys::tombstone("db1"), model::dump(deleted), 0);
    EXPECT_TRUE(co_await eventually(ex, [&] { return w.docker.volumes().empty(); }));
    EXPECT_TRUE(co_await eventually(ex, [&] { return orphans(w.store).empty(); }));
    EXPECT_TRUE(co_await eventually(ex, [&] { return !addresses_reserved(w.store); }));
    co_await agent.shutdown();
  });
}

TEST(Agent, ADeletedDatabaseLosesItsDataAndStatusAtOnce) {
  test::run([](Executor ex) -> asio::awaitable<void> {
    World w(ex);
    co_await w.setup();
    co_await w.allocate(allocation(0, model::Role::primary));
    co_await reserve_addresses(w.store);
    Agent agent(ex, w.store, w.docker, w.options);
    co_await agent.run();
    EXPECT_TRUE(co_await eventually(ex, [&] { return w.healthy(0); }));
    // As DELETE /v1/databases does it: one transaction with the tombstone.
    std::vector<store::Operation> ops{
        store::Operation::erase(model::keys::database("db1")),
        store::Operation::erase(model::keys::allocation("h1", "db1", 0)),
        store::Operation::put(model::keys::tombstone("db1"),
                              model::dump(model::Tombstone{"db1", "cache", "now"}))};
    std::vector<store::Compare> none;
    std::vector<store::Operation> otherwise;
    co_await w.store.txn(none, ops, otherwise);
    EXPECT_TRUE(co_await eventually(ex, [&] { return w.docker.containers().empty(); }));
    EXPECT_TRUE(co_await eventually(ex, [&] { return w.docker.volumes().empty(); }));
    EXPECT_TRUE(co_await eventually(ex, [&] { return !w.status(0); }));
    EXPECT_TRUE(co_await eventually(ex, [&] { return !addresses_reserved(w.store); }));
    EXPECT_TRUE(orphans(w.store).empty());
    co_await agent.shutdown();
  });
}

TEST(Agent, OrphansPastTheirRetentionGoAFewAPass) {
  test::run([](Executor ex) -> asio::awaitable<void> {
    World w(ex);
    w.options.orphan_retention = 0s;
    co_await w.setup();
    co_await w.allocate(allocation(0, model::Role::primary));
    co_await w.allocate(allocation(1, model::Role::replica));
    Agent agent(ex, w.store, w.docker, w.options);
    co_await agent.run();
    EXPECT_TRUE(co_await eventually(ex, [&] { return w.healthy(0) && w.healthy(1); }));
    co_await w.store.erase(model::keys::allocation("h1", "db1", 1));
    EXPECT_TRUE(co_await eventually(ex, [&] { return !w.docker.volumes().count("berth-db1-1"); }));
    EXPECT_TRUE(co_await eventually(ex, [&] { return orphans(w.store).empty(); }));
    EXPECT_TRUE(w.docker.volumes().count("berth-db1-0"));
    co_await agent.shutdown();
  });
}

TEST(Agent, AnEmptiedEtcdDeletesNothing) {
  test::run([](Executor ex) -> asio::awaitable<void> {
    World w(ex);
    co_await w.setup();
    co_await w.allocate(allocation(0, model::Role::primary));
    co_await w.allocate(allocation(1, model::Role::replica));
    Agent agent(ex, w.store, w.docker, w.options);
    co_await agent.run();
    EXPECT_TRUE(co_await eventually(ex, [&] { return w.healthy(0) && w.healthy(1); }));
    for (auto& [id, c] : w.docker.containers())
      EXPECT_EQ(c.info.labels.at(engines::labels::kCluster), "c1");
    // Every key goes (an etcd restored from nothing, a stray `etcdctl del --prefix /`).
    std::vector<std::string> every_key{model::keys::kClusterId, model::keys::database("db1"),
                                       model::keys::allocation("h1", "db1", 0),
                                       model::keys::allocation("h1", "db1", 1)};
    for (auto& key : every_key) co_await w.store.erase(key);
    co_await sleep(ex, 400ms);  // several reconcile rounds
    EXPECT_EQ(w.docker.containers().size(), 2u);
    EXPECT_EQ(w.docker.volumes().size(), 2u);
    EXPECT_EQ(w.docker.count("container_remove"), 0);
    // A new server makes a new cluster id: the containers are still another cluster's.
    co_await w.store.put(model::keys::kClusterId, "c2", 0);
    co_await sleep(ex, 400ms);
    EXPECT_EQ(w.docker.containers().size(), 2u);
    EXPECT_EQ(w.docker.volumes().size(), 2u);
    co_await agent.shutdown();
  });
}

TEST(Agent, DockerErrorsReachTheInstanceStatus) {
  test::run([](Executor ex) -> asio::awaitable<void> {
    World w(ex);
    co_await w.setup();
    // A cluster network left at the default driver, on a host where its subnet is taken.
    w.docker.fail("network_create", 400, "Pool overlaps with other one on this address space");
    co_await w.allocate(allocation(0, model::Role::primary));
    Agent agent(ex, w.store, w.docker, w.options);
    co_await agent.run();
    EXPECT_TRUE(co_await eventually(ex, [&] {
      auto s = w.status(0);
      return s && s->message.find("Pool overlaps") != std::string::npos;
    }));
    auto s = w.status(0);
    EXPECT_EQ(s->state, model::InstanceState::unhealthy);
    EXPECT_NE(s->message.find("cannot create the docker network berth-t"), std::string::npos)
        << s->message;
    // Fixed: the next round makes the container, and the message goes.
    w.docker.fail("network_create", 0, "");
    EXPECT_TRUE(co_await eventually(
        ex, [&] { return w.healthy(0); }, 5s));
    EXPECT_EQ(w.status(0)->message, "");
    co_await agent.shutdown();
  });
}

}  // namespace
}  // namespace berth::agent
