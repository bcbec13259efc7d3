// The Docker Engine API client against a real, private dockerd that the test starts.
#include "docker/client.hpp"

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>

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
  // dockerd leaves its bridges behind when it exits: drop one a crashed run left over, too.
  static void SetUpTestSuite() {
    test::run_command("ip link del btest >/dev/null 2>&1");
    daemon_ = new test::DockerDaemon();
  }
  static void TearDownTestSuite() {
    delete daemon_;
    test::run_command("ip link del btest >/dev/null 2>&1");
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
    net.name = "btest";
    net.subnet = "10.251.0.0/24";
    net.gateway = "10.251.0.1";
    net.options["com.docker.network.bridge.name"] = "btest";
    co_await docker.network_create(net);
    EXPECT_TRUE(co_await docker.network_inspect("btest"));
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
    spec.cmd = {
        "/usr/bin/redis-server", "--port", "6379", "--protected-mode", "no", "--dir", "/data"};
    spec.labels["berth.test"] = "1";
    spec.memory_bytes = 64 << 20;
    spec.network = "btest";
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
      EXPECT_EQ(listed[0].ips["btest"], "10.251.0.10");
      EXPECT_TRUE(listed[0].running);
    }
    EXPECT_TRUE((co_await docker.container_list("berth.test", "2")).empty());

    auto info = co_await docker.container_inspect(id);
    EXPECT_TRUE(info);
    if (!info) co_return;
    EXPECT_TRUE(info->running);
    EXPECT_EQ(info->memory_bytes, 64 << 20);
    EXPECT_EQ(info->ips["btest"], "10.251.0.10");
    co_await docker.container_update_memory(id, 128 << 20);
    info = co_await docker.container_inspect(id);
    EXPECT_EQ(info ? info->memory_bytes : 0, 128 << 20);

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

TEST_F(DockerTest, RefusedEventSubscriptionThrows) {
  run([&](Executor ex) -> boost::asio::awaitable<void> {
    // A watchdog: an accepted subscription would otherwise wait for events forever.
    auto watchdog = [](Executor ex) -> boost::asio::awaitable<void> {
      boost::asio::steady_timer timer(ex, 10s);
      co_await timer.async_wait(boost::asio::use_awaitable);
      ADD_FAILURE() << "events() did not return";
      static_cast<boost::asio::io_context&>(ex.context()).stop();
    };
    boost::asio::co_spawn(ex, watchdog(ex), boost::asio::detached);
    Client docker(ex, daemon_->endpoint());
    // Unknown filter keys pass; a value that is not a list is refused (dockerd 20.10: 500).
    json filters = {{"type", "container"}};
    bool connected = false, got_event = false;
    int status = 0;
    std::string message;
    try {
      co_await docker.events(
          [&](const json&) {
            got_event = true;
            return false;
          },
          filters, [&] { connected = true; });
    } catch (const Error& e) {
      status = e.status;
      message = e.what();
    }
    EXPECT_GE(status, 400);
    EXPECT_NE(message.find("unmarshal"), std::string::npos) << message;
    EXPECT_FALSE(connected);
    EXPECT_FALSE(got_event);
  });
}

// The tar itself: valid ustar headers, parents before children, symlinks stored as files.
TEST_F(DockerTest, RootfsTarLayout) {
  std::vector<engines::RootfsFile> extra{{"/etc/berth/note.conf", "hello\n", 0600}};
  std::string tar = engines::build_rootfs_tar({"/usr/bin/redis-server"}, {"/data", "/tmp"}, extra);
  ASSERT_EQ(tar.size() % 512, 0u);
  ASSERT_GE(tar.size(), 1024u);
  EXPECT_EQ(tar.substr(tar.size() - 1024), std::string(1024, '\0'));
  struct Entry {
    char type;
    int mode;
    size_t size;
    std::string content;
  };
  std::map<std::string, Entry> entries;
  std::vector<std::string> order;
  for (size_t at = 0; at + 512 <= tar.size() - 1024;) {
    const char* h = tar.data() + at;
    unsigned sum = 0;
    for (int i = 0; i < 512; ++i) sum += (i >= 148 && i < 156) ? ' ' : (unsigned char)h[i];
    EXPECT_EQ(sum, std::stoul(std::string(h + 148, 6), nullptr, 8));
    EXPECT_EQ(std::string(h + 257, 5), "ustar");
    std::string prefix(h + 345, strnlen(h + 345, 155)), name(h, strnlen(h, 100));
    if (!prefix.empty()) name = prefix + "/" + name;
    Entry e{h[156], int(std::stoul(std::string(h + 100, 7), nullptr, 8)),
            std::stoul(std::string(h + 124, 11), nullptr, 8), ""};
    e.content = tar.substr(at + 512, e.size);
    at += 512 + (e.size + 511) / 512 * 512;
    EXPECT_FALSE(name.starts_with("/")) << name;
    // Every parent folder appears before the entry.
    for (size_t slash = name.find('/'); slash != std::string::npos && slash + 1 < name.size();
         slash = name.find('/', slash + 1))
      EXPECT_TRUE(entries.count(name.substr(0, slash + 1))) << name;
    order.push_back(name);
    entries[name] = e;
  }
  EXPECT_EQ(entries.size(), order.size()) << "an entry appears twice";

  // /usr/bin/redis-server is a symlink on Debian: stored with the content it points to.
  std::ifstream in("/usr/bin/redis-server", std::ios::binary);
  std::string server((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_GT(server.size(), 0u);
  ASSERT_TRUE(entries.count("usr/bin/redis-server"));
  EXPECT_EQ(entries["usr/bin/redis-server"].type, '0');
  EXPECT_EQ(entries["usr/bin/redis-server"].mode, 0755);
  EXPECT_TRUE(entries["usr/bin/redis-server"].content == server);
  ASSERT_TRUE(entries.count("lib64/ld-linux-x86-64.so.2"));
  EXPECT_EQ(entries["lib64/ld-linux-x86-64.so.2"].type, '0');
  EXPECT_TRUE(entries.count("lib/x86_64-linux-gnu/libc.so.6"));
  EXPECT_EQ(entries["usr/"].type, '5');
  EXPECT_EQ(entries["usr/"].mode, 0755);
  EXPECT_EQ(entries["data/"].type, '5');
  EXPECT_EQ(entries["tmp/"].mode, 01777);
  EXPECT_EQ(entries["etc/berth/note.conf"].content, "hello\n");
  EXPECT_EQ(entries["etc/berth/note.conf"].mode, 0600);
  for (auto& name : order) EXPECT_EQ(name.find("vdso"), std::string::npos) << name;
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
