// HTTP/1.1 over TCP or a unix socket, for every protocol berth speaks (etcd gateway, Docker
// Engine API, its own REST API). Beast stays inside http/*.cpp so other files compile fast.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/target.hpp"

namespace boost::asio::ssl {
class context;
}

namespace berth::http {

namespace asio = boost::asio;
using namespace std::chrono_literals;

struct Request {
  std::string method = "GET";
  std::string target = "/";  // path and query
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

// A body produced piece by piece: next() returns the next piece, empty at the end. The sender
// asks for the next piece only once the last one is written, so a slow peer slows the source
// (back-pressure) and at most one piece is held.
struct BodySource {
  int64_t size = -1;  // the whole length when known (Content-Length); -1: chunked
  std::function<asio::awaitable<std::string>()> next;
};

struct Response {
  int status = 0;
  std::string body;
  // When set, the body comes from it instead of body (large downloads).
  std::shared_ptr<BodySource> source;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

// Raised when no connection can be made or the peer breaks the exchange.
struct ConnectError : std::runtime_error {
  explicit ConnectError(const std::string& what, bool refused = false)
      : std::runtime_error(what), refused(refused) {}
  // The peer's host answered that nothing listens there (not a silence): the service is down.
  bool refused;
};

// How a client trusts an https:// endpoint: the CA that signed its certificate (the system's
// when empty), and a certificate of its own when the server asks for one.
struct TlsOptions {
  std::string ca_file;
  std::string cert_file, key_file;
  // No check of the server's certificate: only for an answer checked otherwise (the cluster
  // CA a joining host fetches, checked against the hash its join token pins).
  bool check_nothing = false;
};

// A client for one endpoint: "http://host:port", "https://host:port" (the certificate is checked
// against the CA and the host name) or "unix:///path/to.sock". Keeps idle
// keep-alive connections for reuse; every call opens or borrows its own connection, so
// concurrent coroutines may share one Client.
class Client {
 public:
  Client(asio::any_io_executor executor, std::string endpoint, TlsOptions tls = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const std::string& endpoint() const { return endpoint_; }

  asio::awaitable<Response> request(Request request, std::chrono::milliseconds timeout = 30s);

  // Sends the request with its body taken piece by piece from body (its size must be known:
  // Docker's archive upload wants a Content-Length), on a connection of its own. timeout bounds
  // each piece's write and the wait for the response.
  asio::awaitable<Response> send(Request request, BodySource body,
                                 std::chrono::milliseconds timeout = 30s);

  // Sends the request and hands the response body to on_data piece by piece as it arrives
  // (watch streams, event streams). Returns the HTTP status when the body ends or on_data
  // returns false. The status is also passed to on_status before any data.
  asio::awaitable<int> stream(Request request, std::function<void(int status)> on_status,
                              std::function<bool(std::string_view)> on_data,
                              std::chrono::milliseconds connect_timeout = 10s);

 private:
  struct Connection;
  asio::awaitable<std::unique_ptr<Connection>> connect(std::chrono::milliseconds timeout);

  asio::any_io_executor executor_;
  std::string endpoint_;
  bool unix_ = false;
  std::string host_, port_, path_;
  std::shared_ptr<asio::ssl::context> tls_;  // set for https://
  bool check_host_ = true;                   // the certificate must name host_
  std::vector<std::unique_ptr<Connection>> idle_;
};

// One incoming request as the router sees it; header names are lower-case.
struct ServerRequest {
  std::string method;
  std::string target;
  std::string path;
  std::map<std::string, std::string> query;
  std::map<std::string, std::string> headers;
  std::string body;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

using Handler = std::function<asio::awaitable<Response>(const ServerRequest&)>;

// Looks at a request's method, path and headers before its body is read: a response it returns
// is the answer, and the body is never read (a refused token costs no upload).
using Admission =
    std::function<asio::awaitable<std::optional<Response>>(const ServerRequest& head)>;

// What one listener takes from its clients. The defaults keep a slow or hostile client from
// holding memory or connections: a body over max_body_bytes gets 413 unread, a header that takes
// longer than header_timeout (or a connection idle past idle_timeout) is closed, and past
// max_connections the longest-idle connection is closed to make room.
struct ServerOptions {
  size_t max_body_bytes = 1 << 20;
  size_t max_header_bytes = 16 << 10;
  size_t max_connections = 4096;
  std::chrono::milliseconds header_timeout = 10s;
  std::chrono::milliseconds body_timeout = 30s;
  std::chrono::milliseconds idle_timeout = 60s;
  Admission admit;
  // Told of each request the listener answers itself, unread (413): for the metrics.
  std::function<void(const ServerRequest&, int status)> refused;
  // PEM files; when both are set the listener speaks HTTPS only.
  std::string tls_cert_file, tls_key_file;
};

// Accepts connections on ADDR:PORT and runs one coroutine per connection (keep-alive). A
// handler that throws answers 500 {"error":"internal error"}; what it threw goes to the log.
class Server {
 public:
  Server(asio::any_io_executor executor, const std::string& listen, Handler handler,
         ServerOptions options = {});
  ~Server();
  void start();
  void stop();
  uint16_t port() const;
  size_t connections() const;  // open right now

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// Wraps a per-line handler into a stream data handler: newline-delimited JSON streams (etcd
// watch, Docker events) arrive in arbitrary pieces. Empty lines are skipped.
std::function<bool(std::string_view)> split_lines(std::function<bool(const std::string&)> on_line);

}  // namespace berth::http
