#include <sys/resource.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <list>
#include <tuple>

#include "http/http.hpp"
#include "util/log.hpp"

namespace berth::http {

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

namespace {

// Every connection holds a descriptor: take all the process may have, so a crowd of idle
// clients meets the connection cap (which makes room) before the kernel's limit (which cannot).
size_t raise_descriptor_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
    ::getrlimit(RLIMIT_NOFILE, &limit);
  }
  return limit.rlim_cur == RLIM_INFINITY ? size_t{1} << 20 : static_cast<size_t>(limit.rlim_cur);
}

tcp::socket& socket_of(TlsStream& s) {
  return beast::get_lowest_layer(s).socket();
}
beast::tcp_stream& timed(beast::tcp_stream& s) {
  return s;
}
beast::tcp_stream& timed(TlsStream& s) {
  return beast::get_lowest_layer(s);
}

ServerRequest translate(const bhttp::request_parser<bhttp::string_body>::value_type& req) {
  ServerRequest out;
  out.method = std::string(req.method_string());
  out.target = std::string(req.target());
  auto target = parse_target(out.target);
  out.path = std::move(target.path);
  out.query = std::move(target.query);
  for (auto& f : req) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(f.value());
  }
  return out;
}

Response refusal(int status, const char* message) {
  Response r;
  r.status = status;
  r.body = std::string(R"({"error":")") + message + "\"}";
  return r;
}

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  // One open connection: idle while it waits for a request, so it may be closed to make room.
  struct Connection {
    std::function<void()> close;
    bool idle = true;
  };

  asio::any_io_executor executor;
  tcp::acceptor acceptor;
  Handler handler;
  ServerOptions options;
  std::unique_ptr<ssl::context> tls;
  std::list<Connection> open;  // oldest first
  bool stopped = false;

  Impl(asio::any_io_executor ex, Handler h, ServerOptions o)
      : executor(ex), acceptor(ex), handler(std::move(h)), options(std::move(o)) {
    size_t descriptors = raise_descriptor_limit();
    // Room for the process' other descriptors (etcd, dockerd, files) beside the connections.
    if (descriptors > 256)
      options.max_connections = std::min(options.max_connections, descriptors - 256);
    if (!options.tls_cert_file.empty() || !options.tls_key_file.empty()) {
      tls = std::make_unique<ssl::context>(ssl::context::tls_server);
      tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                       ssl::context::single_dh_use);
      tls->use_certificate_chain_file(options.tls_cert_file);
      tls->use_private_key_file(options.tls_key_file, ssl::context::pem);
    }
  }

  // Closes the connection that has waited longest for a request; false when all are busy.
  bool close_oldest_idle() {
    for (auto& c : open)
      if (c.idle) {
        c.close();
        c.idle = false;  // closing: not a candidate twice
        return true;
      }
    return false;
  }

  // A response's status line and headers, for either way of writing its body.
  template <class Body>
  static bhttp::response<Body> head_of(const Response& response, unsigned version) {
    bhttp::response<Body> res{static_cast<bhttp::status>(response.status), version};
    res.set(bhttp::field::server, "berth");
    res.set(bhttp::field::content_type, response.content_type);
    for (auto& [k, v] : response.headers) res.set(k, v);
    return res;
  }

  template <class Stream>
  static asio::awaitable<bool> write(Stream& stream, Response& response, unsigned version,
                                     bool keep_alive) {
    auto res = head_of<bhttp::string_body>(response, version);
    res.body() = std::move(response.body);
    res.prepare_payload();
    res.keep_alive(keep_alive);
    timed(stream).expires_after(60s);
    auto [ec, n] = co_await bhttp::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
    co_return !ec;
  }

  // Writes a response whose body comes piece by piece from its source: the next piece is asked
  // for once the last is on the wire, so a slow client slows the source and memory stays at one
  // piece. False when the connection cannot go on (a write failed, or the source failed midway
  // and the body is cut short: closing is the only way left to tell the client).
  template <class Stream>
  static asio::awaitable<bool> write_streamed(Stream& stream, Response& response, unsigned version,
                                              bool keep_alive) {
    auto res = head_of<bhttp::empty_body>(response, version);
    auto& source = *response.source;
    bool chunked = source.size < 0;
    if (chunked)
      res.chunked(true);
    else
      res.content_length(static_cast<uint64_t>(source.size));
    res.keep_alive(keep_alive);
    timed(stream).expires_after(60s);
    bhttp::response_serializer<bhttp::empty_body> head(res);
    auto [hec, hn] =
        co_await bhttp::async_write_header(stream, head, asio::as_tuple(asio::use_awaitable));
    if (hec) co_return false;
    int64_t sent = 0;
    for (;;) {
      std::string piece;
      try {
        piece = co_await source.next();
      } catch (const std::exception&) {
        co_return false;
      }
      if (piece.empty()) break;
      timed(stream).expires_after(60s);
      // Named, not temporaries in the co_await: g++ 12 destroys those twice.
      auto chunk = bhttp::make_chunk(asio::buffer(piece));
      auto raw = asio::buffer(piece);
      boost::system::error_code ec;
      if (chunked) {
        auto [e, n] =
            co_await asio::async_write(stream, chunk, asio::as_tuple(asio::use_awaitable));
        ec = e;
      } else {
        auto [e, n] = co_await asio::async_write(stream, raw, asio::as_tuple(asio::use_awaitable));
        ec = e;
      }
      if (ec) co_return false;
      sent += static_cast<int64_t>(piece.size());
    }
    if (chunked) {
      auto last = bhttp::make_chunk_last();
      auto [ec, n] = co_await asio::async_write(stream, last, asio::as_tuple(asio::use_awaitable));
      co_return !ec;
    }
    co_return sent == source.size;
  }

  // 413, said to options.refused too: the listener answers it without the handler.
  Response too_large(const ServerRequest& request) const {
    if (options.refused) options.refused(request, 413);
    return refusal(413, "request body too large");
  }

  // Answers one request, its header read; false when the connection must close.
  template <class Stream>
  asio::awaitable<bool> answer(Stream& stream, beast::flat_buffer& buffer,
                               bhttp::request_parser<bhttp::string_body>& parser) {
    auto& head = parser.get();
    bool keep_alive = head.keep_alive();
    unsigned version = head.version();
    ServerRequest request = translate(head);
    // The token first (a stranger learns nothing more), then the announced length.
    std::optional<Response> early;
    if (options.admit) early = co_await options.admit(request);
    auto length = parser.content_length();
    if (!early && length && *length > options.max_body_bytes) early = too_large(request);
    if (early) {
      // The body stays unread: the connection goes on only if there is none.
      bool go_on = keep_alive && parser.is_done();
      bool written = co_await write(stream, *early, version, go_on);
      bool go_on_now = written && go_on;
      co_return go_on_now;
    }
    if (!parser.is_done()) {
      if (beast::iequals(head[bhttp::field::expect], "100-continue")) {
        bhttp::response<bhttp::empty_body> more{bhttp::status::continue_, version};
        auto [cec, cn] =
            co_await bhttp::async_write(stream, more, asio::as_tuple(asio::use_awaitable));
        if (cec) co_return false;
      }
      parser.body_limit(options.max_body_bytes);  // a chunked body stops at the limit
      timed(stream).expires_after(options.body_timeout);
      auto [ec, n] =
          co_await bhttp::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
      if (ec == bhttp::error::body_limit) {
        auto refused = too_large(request);
        co_await write(stream, refused, version, false);
        co_return false;
      }
      if (ec) co_return false;
      request.body = std::move(parser.get().body());
    }
    Response response;
    try {
      response = co_await handler(request);
    } catch (const std::exception& e) {
      // What went wrong is for the log; the client learns only that it was not its request.
      util::log("http: {} {}: {}", request.method, request.path, e.what());
      response = refusal(500, "internal error");
    }
    bool written = response.source ? co_await write_streamed(stream, response, version, keep_alive)
                                   : co_await write(stream, response, version, keep_alive);
    bool go_on = written && keep_alive;
    co_return go_on;
  }

  template <class Stream>
  asio::awaitable<void> serve(Stream& stream, Connection& connection) {
    beast::flat_buffer buffer;
    for (bool first = true; !stopped; first = false) {
      // Waiting for a request: idle (closed to make room, or after idle_timeout). A new
      // connection gets header_timeout from its accept, a kept-alive one idle_timeout.
      connection.idle = true;
      if (buffer.size() == 0) {
        timed(stream).expires_after(first ? options.header_timeout : options.idle_timeout);
        auto space = buffer.prepare(4096);
        auto [ec, n] = co_await stream.async_read_some(space, asio::as_tuple(asio::use_awaitable));
        if (ec) co_return;
        buffer.commit(n);
      }
      connection.idle = false;
      if (stopped) co_return;
      bhttp::request_parser<bhttp::string_body> parser;
      parser.header_limit(static_cast<uint32_t>(options.max_header_bytes));
      parser.body_limit(boost::none);  // the length is judged after the token (answer())
      timed(stream).expires_after(options.header_timeout);
      auto [ec, n] = co_await bhttp::async_read_header(stream, buffer, parser,
                                                       asio::as_tuple(asio::use_awaitable));
      if (ec) {
        if (ec != beast::error::timeout && ec != asio::error::connection_reset &&
            ec != asio::error::operation_aborted && ec != bhttp::error::end_of_stream) {
          // A malformed request (or a header too large) gets its 4xx before the close.
          Response bad = ec == bhttp::error::header_limit ? refusal(431, "request header too large")
                                                          : refusal(400, "malformed HTTP request");
          co_await write(stream, bad, 11, false);
        }
        co_return;
      }
      if (!co_await answer(stream, buffer, parser)) co_return;
    }
  }

  // `self` keeps the listener's state alive until its last connection ends.
  asio::awaitable<void> session([[maybe_unused]] std::shared_ptr<Impl> self, tcp::socket socket) {
    // Closed (to make room, or at stop) by cancelling its socket: the pending read then fails.
    auto it = open.insert(open.end(), Connection{});
    try {
      if (tls) {
        TlsStream stream(beast::tcp_stream(std::move(socket)), *tls);
        auto* lowest = &socket_of(stream);
        it->close = [lowest] {
          boost::system::error_code ignored;
          lowest->cancel(ignored);
          lowest->shutdown(tcp::socket::shutdown_both, ignored);
        };
        timed(stream).expires_after(options.header_timeout);
        auto [ec] = co_await stream.async_handshake(ssl::stream_base::server,
                                                    asio::as_tuple(asio::use_awaitable));
        if (!ec) co_await serve(stream, *it);
      } else {
        beast::tcp_stream stream(std::move(socket));
        auto* lowest = &stream.socket();
        it->close = [lowest] {
          boost::system::error_code ignored;
          lowest->cancel(ignored);
          lowest->shutdown(tcp::socket::shutdown_both, ignored);
        };
        co_await serve(stream, *it);
        boost::system::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
      }
    } catch (const std::exception& e) {
      util::log("http: connection ended: {}", e.what());
    }
    open.erase(it);
  }

  asio::awaitable<void> accept_loop([[maybe_unused]] std::shared_ptr<Impl> self) {
    asio::steady_timer pause(executor);
    while (!stopped) {
      auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) {
        if (stopped || ec == asio::error::operation_aborted) break;
        if (ec == asio::error::no_descriptors) {
          // Out of descriptors: free one if any connection idles, and breathe before retrying.
          close_oldest_idle();
          pause.expires_after(50ms);
          co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
        }
        continue;
      }
      if (open.size() >= options.max_connections && !close_oldest_idle()) continue;  // closes it
      socket.set_option(tcp::no_delay(true));
      asio::co_spawn(executor, session(shared_from_this(), std::move(socket)), asio::detached);
    }
  }
};

Server::Server(asio::any_io_executor executor, const std::string& listen, Handler handler,
               ServerOptions options)
    : impl_(std::make_shared<Impl>(executor, std::move(handler), std::move(options))) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) throw std::invalid_argument("listen address needs ADDR:PORT");
  std::string host = listen.substr(0, colon);
  if (host.empty()) host = "0.0.0.0";
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  tcp::endpoint ep(asio::ip::make_address(host),
                   static_cast<unsigned short>(std::stoi(listen.substr(colon + 1))));
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen(asio::socket_base::max_listen_connections);
}

Server::~Server() = default;

void Server::start() {
  asio::co_spawn(impl_->executor, impl_->accept_loop(impl_), asio::detached);
}

void Server::stop() {
  impl_->stopped = true;
  boost::system::error_code ec;
  impl_->acceptor.close(ec);
  // Idle connections close now; a busy one closes once its answer is written.
  while (impl_->close_oldest_idle()) {
  }
}

uint16_t Server::port() const {
  return impl_->acceptor.local_endpoint().port();
}

size_t Server::connections() const {
  return impl_->open.size();
}

}  // namespace berth::http
