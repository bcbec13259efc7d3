// The listener's edges, seen from a client on a raw socket: what a hostile or careless client
// can and cannot make the server do (read a large body, hold connections, learn internals).
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "http/http.hpp"
#include "support/run.hpp"
#include "tls/certs.hpp"

namespace berth::http {
namespace {

using test::Executor;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// Connects, sends `text` and reads until the server closes (or `patience` runs out): what came
// back, and whether the server closed the connection.
struct Exchange {
  std::string received;
  bool closed = false;
};

asio::awaitable<Exchange> raw(Executor ex, uint16_t port, std::string text,
                              std::chrono::milliseconds patience = 3s) {
  tcp::socket socket(ex);
  co_await socket.async_connect({asio::ip::make_address("127.0.0.1"), port}, asio::use_awaitable);
  co_await asio::async_write(socket, asio::buffer(text), asio::use_awaitable);
  asio::steady_timer deadline(ex, patience);
  deadline.async_wait([&](boost::system::error_code ec) {
    if (!ec) socket.cancel();
  });
  Exchange out;
  char buf[4096];
  for (;;) {
    auto [ec, n] =
        co_await socket.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
    out.received.append(buf, n);
    if (ec) {
      out.closed = ec == asio::error::eof || ec == asio::error::connection_reset;
      break;
    }
  }
  deadline.cancel();
  co_return out;
}

Handler counting(int* calls) {
  return [calls](const ServerRequest&) -> asio::awaitable<Response> {
    ++*calls;
    Response r;
    r.status = 200;
    r.body = R"({"ok":true})";
    co_return r;
  };
}

TEST(ServerEdges, ABodyOverTheLimitIsRefusedUnread) {
  test::run([](Executor ex) -> asio::awaitable<void> {
    int calls = 0;
    Server server(ex, "127.0.0.1:0", counting(&calls));
    server.start();
    // 64 MiB announced, none sent: the answer cannot wait for the body.
    auto started = std::chrono::steady_clock::now();
    auto out = co_await raw(ex, server.port(),
                            "POST /v1/databases HTTP/1.1\r\nHost: x\r\nContent-Length: 67108864\r\n"
                            "Content-Type: application/json\r\n\r\n");
    EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
    EXPECT_TRUE(out.received.starts_with("HTTP/1.1 413")) << out.received;
    EXPECT_NE(out.received.find(R"({"error":"request body too large"})"), std::string::npos);
    EXPECT_TRUE(out.closed);
    // Chunked, with no length to look at: refused once the limit is passed.
    std::string chunk(512 * 1024, 'x');
    std::string text =
        "POST /v1/databases HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 3; ++i) text += "80000\r\n" + chunk + "\r\n";
    auto chunked = co_await raw(ex, server.port(), text);
    EXPECT_TRUE(chunked.received.starts_with("HTTP/1.1 413")) << chunked.received.substr(0, 80);
    EXPECT_EQ(calls, 0);
    server.stop();
  });
}

TEST(ServerEdges, AdmissionAnswersOnTheHeadersBeforeAnyBody) {
  test::run([](Executor ex) -> asio::awaitable<void> {
    int calls = 0, admitted = 0;
    ServerOptions options;
    options.admit = [&](const ServerRequest& head) -> asio::awaitable<std::optional<Response>> {
      ++admitted;
      EXPECT_TRUE(head.body.empty());
      if (head.header("authorization") == "Bearer good") co_return std::nullopt;
      Response r;
      r.status = 401;
      r.body = R"({"error":"no token"})";
      co_return r;
    };
    Server server(ex, "127.0.0.1:0", counting(&calls), options);
    server.start();
    // The body (1000 bytes) is never sent: the refusal comes anyway, and the connection closes
    // because the body is left unread.
    auto refused = co_await raw(ex, server.port(),
                                "POST /v1/x HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n");
    EXPECT_TRUE(refused.received.starts_with("HTTP/1.1 401")) << refused.received;
    EXPECT_TRUE(refused.closed);
    EXPECT_EQ(calls, 0);
    // Admitted: the body is read and the handler runs.
    Client client(ex, "http://127.0.0.1:" + std::to_string(server.port()));
    Request post{"POST", "/v1/x", R"({"a":1})"};
    post.headers.push_back({"Authorization", "Bearer good"});
    auto ok = co_await client.request(post);
    EXPECT_EQ(ok.status, 200);
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(admitted, 2);
    server.stop();
  });
}

TEST(ServerEdges, AThrowingHandlerAnswersAPlainFiveHundred) {
  test::run([](Executor ex) -> asio::awaitable<void> {
    Server server(ex, "127.0.0.1:0", [](const ServerRequest&) -> asio::awaitable<Response> {
      throw std::runtime_error("secret internals: /var/lib/berth/etcd");
      co_return Response{};
    });
    server.start();
    Client client(ex, "http://127.0.0.1:" + std::to_string(server.port()));
    Request get{"GET", "/v1/x"};
    auto r = co_await client.request(get);
    EXPECT_EQ(r.status, 500);
    EXPECT_EQ(r.body, R"({"error":"internal error"})");
    server.stop();
  });
}

TEST(ServerEdges, ASlowHeaderIsCutOff) {
  test::run([](Executor ex) -> asio::awaitable<void> {
    int calls = 0;
    ServerOptions options;
    options.header_timeout = 300ms;
    Server server(ex, "127.0.0.1:0", counting(&calls), options);
    server.start();
    auto started = std::chrono::steady_clock::now();
    auto out = co_await raw(ex, server.port(), "GET /v1/x HTTP/1.1\r\nHost: x\r\n", 5s);
    auto took = std::chrono::steady_clock::now() - started;
    EXPECT_TRUE(out.closed);
    EXPECT_GE(took, 250ms);
    EXPECT_LT(took, 3s);
    EXPECT_EQ(calls, 0);
    server.stop();
  });
}

TEST(ServerEdges, PastTheCapTheLongestIdleConnectionMakesRoom) {
  test::run([](Executor ex) -> asio::awaitable<void> {
    int calls = 0;
    ServerOptions options;
    options.max_connections = 4;
    Server server(ex, "127.0.0.1:0", counting(&calls), options);
    server.start();
    std::vector<std::unique_ptr<tcp::socket>> idle;
    for (int i = 0; i < 4; ++i) {
      idle.push_back(std::make_unique<tcp::socket>(ex));
      co_await idle.back()->async_connect({asio::ip::make_address("127.0.0.1"), server.port()},
                                          asio::use_awaitable);
    }
    asio::steady_timer wait(ex);
    for (int i = 0; i < 100 && server.connections() < 4; ++i) {
      wait.expires_after(10ms);
      co_await wait.async_wait(asio::use_awaitable);
    }
    EXPECT_EQ(server.connections(), 4u);
    // A fifth client is served: the oldest idle connection was closed for it.
    Client client(ex, "http://127.0.0.1:" + std::to_string(server.port()));
    Request get{"GET", "/v1/x"};
    auto r = co_await client.request(get, 2s);
    EXPECT_EQ(r.status, 200);
    char byte;
    auto [ec, n] = co_await idle[0]->async_read_some(asio::buffer(&byte, 1),
                                                     asio::as_tuple(asio::use_awaitable));
    EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
    EXPECT_LE(server.connections(), 4u);
    server.stop();
  });
}

TEST(ServerEdges, HttpsWithTheClusterCa) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("berth-tls-test-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  auto files = tls::ensure_server_files(dir.string(), {"127.0.0.1"});
  auto stranger = tls::make_ca("another CA");
  std::ofstream(dir / "stranger.pem") << stranger.cert_pem;
  test::run([&](Executor ex) -> asio::awaitable<void> {
    int calls = 0;
    ServerOptions options;
    options.tls_cert_file = files.cert;
    options.tls_key_file = files.key;
    Server server(ex, "127.0.0.1:0", counting(&calls), options);
    server.start();
    std::string port = std::to_string(server.port());
    Request get{"GET", "/v1/x"};
    Client trusted(ex, "https://127.0.0.1:" + port, TlsOptions{files.ca_cert, "", ""});
    auto r = co_await trusted.request(get);
    EXPECT_EQ(r.status, 200);
    auto again = co_await trusted.request(get);  // a kept-alive TLS connection
    EXPECT_EQ(again.status, 200);
    // A certificate from another CA, or a name the certificate does not carry, is refused.
    Client wrong_ca(ex, "https://127.0.0.1:" + port, TlsOptions{(dir / "stranger.pem").string()});
    bool refused = false;
    try {
      co_await wrong_ca.request(get);
    } catch (const ConnectError&) {
      refused = true;
    }
    EXPECT_TRUE(refused);
    Client wrong_name(ex, "https://localhost:" + port, TlsOptions{files.ca_cert});
    refused = false;
    try {
      co_await wrong_name.request(get);
    } catch (const ConnectError&) {
      refused = true;
    }
    EXPECT_TRUE(refused);
    // Plain HTTP to the TLS port gets no answer from the API.
    Client plain(ex, "http://127.0.0.1:" + port);
    refused = false;
    try {
      auto answer = co_await plain.request(get, 2s);
      refused = answer.status != 200;
    } catch (const ConnectError&) {
      refused = true;
    }
    EXPECT_TRUE(refused);
    EXPECT_EQ(calls, 2);
    server.stop();
  });
  fs::remove_all(dir);
}

}  // namespace
}  // namespace berth::http
