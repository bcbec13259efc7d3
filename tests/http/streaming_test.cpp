// Bodies produced piece by piece: the server streams a response from a source (with a length
// or chunked), the client sends a request body from a source, each piece asked for only once
// the last is written.
#include <gtest/gtest.h>

#include "http/http.hpp"
#include "support/run.hpp"
#include "util/encoding.hpp"

namespace berth::http {
namespace {

using test::Executor;

std::string piece_of(int i) {
  return std::string(100000 + i, static_cast<char>('a' + i % 26));
}

std::string expected(int count) {
  std::string s;
  for (int i = 0; i < count; ++i) s += piece_of(i);
  return s;
}

std::shared_ptr<BodySource> pieces(int count, bool with_size, int* asked) {
  auto source = std::make_shared<BodySource>();
  if (with_size) source->size = static_cast<int64_t>(expected(count).size());
  auto n = std::make_shared<int>(0);
  source->next = [n, count, asked]() -> asio::awaitable<std::string> {
    if (asked) ++*asked;
    if (*n >= count) co_return std::string();
    co_return piece_of((*n)++);
  };
  return source;
}

class Streaming : public ::testing::TestWithParam<bool> {};

TEST_P(Streaming, ResponseBodyComesFromItsSource) {
  bool with_size = GetParam();
  test::run([&](Executor ex) -> asio::awaitable<void> {
    int asked = 0;
    Server server(ex, "127.0.0.1:0", [&](const ServerRequest&) -> asio::awaitable<Response> {
      Response r;
      r.status = 200;
      r.content_type = "application/octet-stream";
      r.source = pieces(30, with_size, &asked);
      co_return r;
    });
    server.start();
    Client client(ex, "http://127.0.0.1:" + std::to_string(server.port()));
    for (int round = 0; round < 2; ++round) {  // the connection stays usable after a stream
      std::string got;
      // Named arguments, not temporaries in the co_await: g++ 12 destroys those twice.
      Request get{"GET", "/data"};
      std::function<bool(std::string_view)> on_data = [&](std::string_view d) {
        got.append(d);
        return true;
      };
      int status = co_await client.stream(get, nullptr, on_data);
      EXPECT_EQ(status, 200);
      EXPECT_EQ(got.size(), expected(30).size());
      EXPECT_TRUE(got == expected(30));
      auto small = co_await client.request(get);
      EXPECT_EQ(small.body.size(), expected(30).size());
    }
    EXPECT_GE(asked, 4 * 30);
    server.stop();
  });
}

INSTANTIATE_TEST_SUITE_P(LengthOrChunked, Streaming, ::testing::Values(true, false));

TEST(Streaming, ASourceThatFailsCutsTheResponseShort) {
  test::run([&](Executor ex) -> asio::awaitable<void> {
    Server server(ex, "127.0.0.1:0", [&](const ServerRequest&) -> asio::awaitable<Response> {
      Response r;
      r.status = 200;
      r.source = std::make_shared<BodySource>();
      r.source->size = 1000000;
      auto n = std::make_shared<int>(0);
      r.source->next = [n]() -> asio::awaitable<std::string> {
        if ((*n)++ == 2) throw std::runtime_error("damaged");
        co_return std::string(1000, 'x');
      };
      co_return r;
    });
    server.start();
    Client client(ex, "http://127.0.0.1:" + std::to_string(server.port()));
    bool failed = false;
    try {
      Request get{"GET", "/data"};
      co_await client.request(get);
    } catch (const ConnectError&) {
      failed = true;  // the client can tell: the body ended before its length
    }
    EXPECT_TRUE(failed);
    server.stop();
  });
}

TEST(Streaming, RequestBodyIsSentFromASource) {
  test::run([&](Executor ex) -> asio::awaitable<void> {
    ServerOptions large;  // berth's own listeners take 1 MiB; this one stands for Docker's
    large.max_body_bytes = 8 << 20;
    Server server(
        ex, "127.0.0.1:0",
        [&](const ServerRequest& req) -> asio::awaitable<Response> {
          Response r;
          r.status = 200;
          r.body = std::to_string(req.body.size()) + " " + util::sha256_hex(req.body) + " " +
                   req.header("content-type");
          co_return r;
        },
        large);
    server.start();
    Client client(ex, "http://127.0.0.1:" + std::to_string(server.port()));
    int asked = 0;
    auto source = pieces(20, true, &asked);
    Request head{"PUT", "/archive"};
    head.content_type = "application/x-tar";
    auto res = co_await client.send(head, *source);
    EXPECT_EQ(res.status, 200);
    EXPECT_EQ(res.body, std::to_string(expected(20).size()) + " " + util::sha256_hex(expected(20)) +
                            " application/x-tar");
    EXPECT_EQ(asked, 20);  // no more than the announced length is asked for
    server.stop();
  });
}

}  // namespace
}  // namespace berth::http
