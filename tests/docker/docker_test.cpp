// The Docker Engine API client against a real, private dockerd that the test starts.
#include "docker/docker.hpp"

#include <gtest/gtest.h>

#include <boost/asio.hpp>

#include "engines/rootfs.hpp"
#include "support/process.hpp"
#include "support/run.hpp"
#include "util/tcp_exchange.hpp"

namespace berth::docker {
namespace {

using test::Executor;
using test::run;
using namespace std::chrono_literals;

class DockerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { daemon_ = new test::DockerDaemon(); }
  static void TearDownTestSuite() {
    delete daemon_;
    test::run_command("ip link del btdock >/dev/null 2>&1");
  }
  static test::DockerDaemon* daemon_;
};
test::DockerDaemon* DockerTest::daemon_ = nullptr;

// Waits for "+PONG" from a Redis at ip:6379, polling with a deadline.
boost::asio::awaitable<bool> redis_answers(Executor ex, const std::string& ip) {
  auto deadline = std::chrono::steady_clock::now() + 20s;
  boost::asio::steady_timer pause(ex);
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      auto reply = co_await util::tcp_exchange(
          ex, ip, 6379, "PING\r\n", [](const std::string& b) { return b.find("\r\n") != b.npos; },
          500ms);
      if (reply.starts_with("+PONG")) co_return true;
    } catch (const util::ExchangeError&) {
    }
    pause.expires_after(20ms);
    co_await pause.async_wait(boost::asio::use_awaitable);
  }
  co_return false;
}

TEST_F(DockerTest, PingAndVersion) {
  run([&](Executor ex) -> boost::asio::awaitable<void> {
    Client docker(ex, daemon_->socket_path());  // a bare path works too
    EXPECT_TRUE(co_await docker.ping());
    auto v = co_await docker.version();
    EXPECT_FALSE(v.value("ApiVersion", "").empty());
    auto info = co_await docker.info();
    EXPECT_GT(info.value("MemTotal", int64_t{0}), 0);
  });
}

TEST_F(DockerTest, NobodyListeningIsNotAPing) {
  run([&](Executor ex) -> boost::asio::awaitable<void> {
    Client docker(ex, "unix:///tmp/berth-no-such-docker.sock");
    EXPECT_FALSE(co_await docker.ping());
  });
}

TEST_F(DockerTest, ImageNetworkContainerLifecycle) {
  run([&](Executor ex) -> boost::asio::awaitable<void> {
    Client docker(ex, daemon_->endpoint());
    // An image from this machine's redis-server, no registry.
    std::string tar = engines::build_rootfs_tar({"/usr/bin/redis-server"}, {"/data"});
    std::vector<std::string> changes{R"(CMD ["/usr/bin/redis-server"])"};
    co_await docker.image_import(tar, "berth-test/redis", "1", changes);
    EXPECT_TRUE(co_await docker.image_inspect("berth-test/redis:1"));
    EXPECT_FALSE(co_await docker.image_inspect("berth-test/absent:1"));

    NetworkSpec net;
    net.name = "btdock";
    net.subnet = "10.251.0.0/24";
    net.gateway = "10.251.0.1";
    net.options["com.docker.network.bridge.name"] = "btdock";
    co_await docker.network_create(net);
    EXPECT_TRUE(co_await docker.network_inspect("btdock"));
    int twice = 0;
    try {
      co_await docker.network_create(net);
    } catch (const Error& e) {
      twice = e.status;
    }
    EXPECT_EQ(twice, 409);

    ContainerSpec spec;
    spec.name = "berth-test-redis";
    spec.image = "berth-test/redis:1";
    spec.cmd = {"/usr/bin/redis-server", "--protected-mode", "no", "--dir", "/data"};
    spec.labels["berth.test"] = "1";
    spec.memory_bytes = 64 << 20;
    spec.network = "btdock";
    spec.ip = "10.251.0.10";
    spec.volumes["berth-test-vol"] = "/data";
    std::string id = co_await docker.container_create(spec);
    EXPECT_FALSE(id.empty());
    co_await docker.container_start(id);
    EXPECT_TRUE(co_await redis_answers(ex, "10.251.0.10"));

    auto listed = co_await docker.container_list("berth.test", "1");
    EXPECT_EQ(listed.size(), 1u);
    if (!listed.empty()) {
      EXPECT_EQ(listed[0].name, "berth-test-redis");
      EXPECT_EQ(listed[0].ips["btdock"], "10.251.0.10");
      EXPECT_TRUE(listed[0].running);
    }
    EXPECT_TRUE((co_await docker.container_list("berth.test", "2")).empty());

    auto info = co_await docker.container_inspect(id);
    EXPECT_TRUE(info && info->running && info->memory_bytes == (64 << 20));
    co_await docker.container_update_memory(id, 128 << 20);
    info = co_await docker.container_inspect(id);
    EXPECT_TRUE(info && info->memory_bytes == (128 << 20));

    int duplicate = 0;
    try {
      co_await docker.container_create(spec);
    } catch (const Error& e) {
      duplicate = e.status;
    }
    EXPECT_EQ(duplicate, 409);

    // The events stream reports the container dying when it is killed.
    bool saw_die = false, subscribed = false;
    auto follow = [&]() -> boost::asio::awaitable<void> {
      co_await docker.events(
          [&](const json& e) {
            if (e.value("status", "") == "die" && e.value("id", "") == id) saw_die = true;
            return !saw_die;
          },
          json::object(), [&] { subscribed = true; });
    };
    boost::asio::co_spawn(ex, follow(), boost::asio::detached);
    boost::asio::steady_timer pause(ex);
    auto wait_for = [&](bool& flag) -> boost::asio::awaitable<void> {
      auto deadline = std::chrono::steady_clock::now() + 10s;
      while (!flag && std::chrono::steady_clock::now() < deadline) {
        pause.expires_after(10ms);
        co_await pause.async_wait(boost::asio::use_awaitable);
      }
    };
    co_await wait_for(subscribed);
    EXPECT_TRUE(subscribed);
    co_await docker.container_kill(id);
    co_await wait_for(saw_die);
    EXPECT_TRUE(saw_die);

    co_await docker.container_remove(id);
    EXPECT_FALSE(co_await docker.container_inspect(id));
    co_await docker.container_remove(id);  // absent is not an error
    co_await docker.volume_remove("berth-test-vol");
    co_await docker.volume_remove("berth-test-vol");
  });
}

TEST_F(DockerTest, MissingEngineBinaryIsNamed) {
  try {
    engines::build_rootfs_tar({"/usr/bin/no-such-engine"});
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/usr/bin/no-such-engine"), std::string::npos);
  }
}

}  // namespace
}  // namespace berth::docker
