#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <variant>

#include "http/http.hpp"

namespace berth::http {

namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using local = asio::local::stream_protocol;
namespace ssl = asio::ssl;
using TcpStream = beast::basic_stream<tcp>;
using UnixStream = beast::basic_stream<local>;
using TlsStream = beast::ssl_stream<TcpStream>;

namespace {
// The stream whose timer bounds an operation: TLS runs over a timed TCP stream.
template <class Stream>
auto& timed(Stream& s) {
  return beast::get_lowest_layer(s);
}
}  // namespace

struct Client::Connection {
  std::variant<TcpStream, UnixStream, TlsStream> stream;
  beast::flat_buffer buffer;
  explicit Connection(TcpStream s) : stream(std::move(s)) {}
  explicit Connection(UnixStream s) : stream(std::move(s)) {}
  explicit Connection(TlsStream s) : stream(std::move(s)) {}
};

Client::Client(asio::any_io_executor executor, std::string endpoint, TlsOptions tls)
    : executor_(std::move(executor)), endpoint_(std::move(endpoint)) {
  std::string_view e = endpoint_;
  if (e.starts_with("unix://")) {
    unix_ = true;
    path_ = std::string(e.substr(7));
    host_ = "localhost";
  } else {
    if (e.starts_with("https://")) {
      e.remove_prefix(8);
      tls_ = std::make_shared<ssl::context>(ssl::context::tls_client);
      check_host_ = !tls.check_nothing;
      tls_->set_verify_mode(tls.check_nothing ? ssl::verify_none : ssl::verify_peer);
      if (!tls.check_nothing && tls.ca_file.empty())
        tls_->set_default_verify_paths();
      else if (!tls.check_nothing)
        tls_->load_verify_file(tls.ca_file);
      if (!tls.cert_file.empty()) {
        tls_->use_certificate_chain_file(tls.cert_file);
        tls_->use_private_key_file(tls.key_file, ssl::context::pem);
      }
    }
    if (e.starts_with("http://")) e.remove_prefix(7);
    while (!e.empty() && e.back() == '/') e.remove_suffix(1);
    auto colon = e.rfind(':');
    if (colon == std::string_view::npos)
      throw std::invalid_argument("endpoint needs a port: " + endpoint_);
    host_ = std::string(e.substr(0, colon));
    port_ = std::string(e.substr(colon + 1));
  }
}

Client::~Client() = default;

asio::awaitable<std::unique_ptr<Client::Connection>> Client::connect(
    std::chrono::milliseconds timeout) {
  try {
    if (unix_) {
      UnixStream s(executor_);
      s.expires_after(timeout);
      co_await s.async_connect(local::endpoint(path_), asio::use_awaitable);
      co_return std::make_unique<Connection>(std::move(s));
    }
    tcp::resolver resolver(executor_);
    auto results = co_await resolver.async_resolve(host_, port_, asio::use_awaitable);
    TcpStream s(executor_);
    s.expires_after(timeout);
    co_await s.async_connect(results, asio::use_awaitable);
    s.socket().set_option(tcp::no_delay(true));
    if (!tls_) co_return std::make_unique<Connection>(std::move(s));
    TlsStream secure(std::move(s), *tls_);
    // The certificate must name the host we asked for (SNI tells the server which one).
    if (!SSL_set_tlsext_host_name(secure.native_handle(), host_.c_str()))
      throw boost::system::system_error(static_cast<int>(::ERR_get_error()),
                                        asio::error::get_ssl_category());
    if (check_host_) secure.set_verify_callback(ssl::host_name_verification(host_));
    co_await secure.async_handshake(ssl::stream_base::client, asio::use_awaitable);
    co_return std::make_unique<Connection>(std::move(secure));
  } catch (const boost::system::system_error& e) {
    throw ConnectError("cannot connect to " + endpoint_ + ": " + e.code().message(),
                       e.code() == asio::error::connection_refused);
  }
}

namespace {

bhttp::request<bhttp::string_body> make_request(const Request& r, const std::string& host) {
  bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(r.method), r.target, 11};
  req.set(bhttp::field::host, host);
  req.set(bhttp::field::user_agent, "berth");
  for (auto& [k, v] : r.headers) req.set(k, v);
  if (!r.body.empty() || r.method == "POST" || r.method == "PUT") {
    req.set(bhttp::field::content_type, r.content_type);
    req.body() = r.body;
    req.prepare_payload();
  }
  req.keep_alive(true);
  return req;
}

template <class Stream>
asio::awaitable<Response> exchange(Stream& s, beast::flat_buffer& buffer,
                                   bhttp::request<bhttp::string_body>& req,
                                   std::chrono::milliseconds timeout, bool& keep_alive) {
  timed(s).expires_after(timeout);
  co_await bhttp::async_write(s, req, asio::use_awaitable);
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(1ull << 32);
  co_await bhttp::async_read(s, buffer, parser, asio::use_awaitable);
  auto& res = parser.get();
  keep_alive = res.keep_alive();
  Response out;
  out.status = res.result_int();
  out.body = std::move(res.body());
  out.content_type = std::string(res[bhttp::field::content_type]);
  co_return out;
}

bool is_stale_connection_error(const boost::system::error_code& ec) {
  return ec == bhttp::error::end_of_stream || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == asio::error::eof;
}

}  // namespace

asio::awaitable<Response> Client::request(Request r, std::chrono::milliseconds timeout) {
  auto req = make_request(r, host_);
  for (int attempt = 0;; ++attempt) {
    std::unique_ptr<Connection> conn;
    bool reused = false;
    if (!idle_.empty()) {
      conn = std::move(idle_.back());
      idle_.pop_back();
      reused = true;
    } else {
      conn = co_await connect(timeout);
    }
    bool keep_alive = false;
    try {
      Response res = co_await std::visit(
          [&](auto& s) { return exchange(s, conn->buffer, req, timeout, keep_alive); },
          conn->stream);
      if (keep_alive && idle_.size() < 16) idle_.push_back(std::move(conn));
      co_return res;
    } catch (const boost::system::system_error& e) {
      // A kept-alive connection the peer has since closed fails at once; retry on a new one.
      if (reused && attempt == 0 && is_stale_connection_error(e.code())) continue;
      throw ConnectError(endpoint_ + " " + r.method + " " + r.target + ": " + e.code().message());
    }
  }
}

asio::awaitable<Response> Client::send(Request r, BodySource body,
                                       std::chrono::milliseconds timeout) {
  if (body.size < 0) throw std::invalid_argument("http: a streamed request body needs its size");
  bhttp::request<bhttp::empty_body> req{bhttp::string_to_verb(r.method), r.target, 11};
  req.set(bhttp::field::host, host_);
  req.set(bhttp::field::user_agent, "berth");
  req.set(bhttp::field::content_type, r.content_type);
  for (auto& [k, v] : r.headers) req.set(k, v);
  req.content_length(static_cast<uint64_t>(body.size));
  req.keep_alive(false);  // a connection of its own: nothing to reuse after a large upload
  auto conn = co_await connect(timeout);
  auto run = [&](auto& s) -> asio::awaitable<Response> {
    timed(s).expires_after(timeout);
    bhttp::request_serializer<bhttp::empty_body> head(req);
    co_await bhttp::async_write_header(s, head, asio::use_awaitable);
    int64_t sent = 0;
    boost::system::error_code write_error;
    while (sent < body.size) {
      // The next piece is fetched while nothing else is in flight: one piece held at a time.
      std::string piece = co_await body.next();
      if (piece.empty()) throw std::runtime_error("http: the request body ended early");
      if (sent + static_cast<int64_t>(piece.size()) > body.size)
        throw std::runtime_error("http: the request body is longer than announced");
      timed(s).expires_after(timeout);
      auto [ec, n] =
          co_await asio::async_write(s, asio::buffer(piece), asio::as_tuple(asio::use_awaitable));
      if (ec) {
        write_error = ec;  // the peer may have answered early (an error): read it below
        break;
      }
      sent += static_cast<int64_t>(n);
    }
    timed(s).expires_after(timeout);
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    auto [ec, n] =
        co_await bhttp::async_read(s, conn->buffer, parser, asio::as_tuple(asio::use_awaitable));
    if (ec) throw boost::system::system_error(write_error ? write_error : ec);
    auto& res = parser.get();
    Response out;
    out.status = res.result_int();
    out.body = std::move(res.body());
    out.content_type = std::string(res[bhttp::field::content_type]);
    co_return out;
  };
  try {
    co_return co_await std::visit(run, conn->stream);
  } catch (const boost::system::system_error& e) {
    throw ConnectError(endpoint_ + " " + r.method + " " + r.target + ": " + e.code().message());
  }
}

asio::awaitable<int> Client::stream(Request r, std::function<void(int)> on_status,
                                    std::function<bool(std::string_view)> on_data,
                                    std::chrono::milliseconds connect_timeout) {
  auto req = make_request(r, host_);
  auto conn = co_await connect(connect_timeout);
  auto run = [&](auto& s) -> asio::awaitable<int> {
    timed(s).expires_after(connect_timeout);
    co_await bhttp::async_write(s, req, asio::use_awaitable);
    bhttp::response_parser<bhttp::buffer_body> parser;
    parser.body_limit(boost::none);
    co_await bhttp::async_read_header(s, conn->buffer, parser, asio::use_awaitable);
    int status = parser.get().result_int();
    if (on_status) on_status(status);
    timed(s).expires_never();
    char chunk[16384];
    while (!parser.is_done()) {
      parser.get().body().data = chunk;
      parser.get().body().size = sizeof chunk;
      auto [ec, n] = co_await bhttp::async_read_some(s, conn->buffer, parser,
                                                     asio::as_tuple(asio::use_awaitable));
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec) throw boost::system::system_error(ec);
      size_t got = sizeof chunk - parser.get().body().size;
      if (got > 0 && !on_data(std::string_view(chunk, got))) break;
    }
    co_return status;
  };
  try {
    co_return co_await std::visit(run, conn->stream);
  } catch (const boost::system::system_error& e) {
    throw ConnectError(endpoint_ + " " + r.method + " " + r.target + ": " + e.code().message());
  }
}

std::function<bool(std::string_view)> split_lines(std::function<bool(const std::string&)> on_line) {
  return [on_line = std::move(on_line), pending = std::string()](std::string_view data) mutable {
    pending.append(data);
    size_t nl;
    while ((nl = pending.find('\n')) != std::string::npos) {
      std::string line = pending.substr(0, nl);
      pending.erase(0, nl + 1);
      if (!line.empty() && !on_line(line)) return false;
    }
    return true;
  };
}

}  // namespace berth::http
