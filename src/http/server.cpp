#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <tuple>

#include "http/http.hpp"

namespace berth::http {

namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

struct Server::Impl {
  asio::any_io_executor executor;
  tcp::acceptor acceptor;
  Handler handler;
  bool stopped = false;

  Impl(asio::any_io_executor ex, Handler h) : executor(ex), acceptor(ex), handler(std::move(h)) {}

  static ServerRequest translate(bhttp::request<bhttp::string_body>& req) {
    ServerRequest out;
    out.method = std::string(req.method_string());
    out.target = std::string(req.target());
    std::string_view t = out.target;
    auto q = t.find('?');
    out.path = url_decode(t.substr(0, q));
    if (q != std::string_view::npos) {
      std::string_view rest = t.substr(q + 1);
      while (!rest.empty()) {
        auto amp = rest.find('&');
        std::string_view pair = rest.substr(0, amp);
        auto eq = pair.find('=');
        std::string key = url_decode(pair.substr(0, eq));
        std::string value = eq == std::string_view::npos ? "" : url_decode(pair.substr(eq + 1));
        if (!key.empty()) out.query[key] = value;
        if (amp == std::string_view::npos) break;
        rest.remove_prefix(amp + 1);
      }
    }
    for (auto& f : req) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.headers[name] = std::string(f.value());
    }
    out.body = std::move(req.body());
    return out;
  }

  // Writes a response whose body comes piece by piece from its source: the next piece is asked
  // for once the last is on the wire, so a slow client slows the source and memory stays at one
  // piece. False when the connection cannot go on (a write failed, or the source failed midway
  // and the body is cut short: closing is the only way left to tell the client).
  static asio::awaitable<bool> write_streamed(beast::tcp_stream& stream, Response& response,
                                              unsigned version, bool keep_alive) {
    bhttp::response<bhttp::empty_body> res{static_cast<bhttp::status>(response.status), version};
    res.set(bhttp::field::server, "berth");
    res.set(bhttp::field::content_type, response.content_type);
    for (auto& [k, v] : response.headers) res.set(k, v);
    auto& source = *response.source;
    bool chunked = source.size < 0;
    if (chunked)
      res.chunked(true);
    else
      res.content_length(static_cast<uint64_t>(source.size));
    res.keep_alive(keep_alive);
    stream.expires_after(60s);
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
      stream.expires_after(60s);
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

  asio::awaitable<void> session(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    stream.socket().set_option(tcp::no_delay(true));
    beast::flat_buffer buffer;
    for (;;) {
      stream.expires_after(120s);
      bhttp::request_parser<bhttp::string_body> parser;
      parser.body_limit(64 * 1024 * 1024);
      auto [ec, n] =
          co_await bhttp::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
      if (ec) {
        if (ec != bhttp::error::end_of_stream && ec != beast::error::timeout &&
            ec != asio::error::connection_reset && ec != asio::error::operation_aborted) {
          // A malformed request gets a 400 before the connection closes.
          bhttp::response<bhttp::string_body> bad{bhttp::status::bad_request, 11};
          bad.set(bhttp::field::content_type, "application/json");
          bad.body() = R"({"error":"malformed HTTP request"})";
          bad.prepare_payload();
          bad.keep_alive(false);
          co_await bhttp::async_write(stream, bad, asio::as_tuple(asio::use_awaitable));
        }
        break;
      }
      auto& raw = parser.get();
      bool keep_alive = raw.keep_alive();
      unsigned version = raw.version();
      ServerRequest request = translate(raw);
      Response response;
      try {
        response = co_await handler(request);
      } catch (const std::exception& e) {
        response.status = 500;
        response.body = std::string(R"({"error":"internal error: )") + e.what() + "\"}";
      }
      if (response.source) {
        bool ok = co_await write_streamed(stream, response, version, keep_alive);
        if (!ok || !keep_alive) break;
        continue;
      }
      bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(response.status), version};
      res.set(bhttp::field::server, "berth");
      res.set(bhttp::field::content_type, response.content_type);
      for (auto& [k, v] : response.headers) res.set(k, v);
      res.body() = std::move(response.body);
      res.prepare_payload();
      res.keep_alive(keep_alive);
      stream.expires_after(60s);
      auto [wec, wn] =
          co_await bhttp::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
      if (wec || !keep_alive) break;
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  asio::awaitable<void> accept_loop() {
    while (!stopped) {
      auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) {
        if (stopped || ec == asio::error::operation_aborted) break;
        continue;
      }
      asio::co_spawn(executor, session(std::move(socket)), asio::detached);
    }
  }
};

Server::Server(asio::any_io_executor executor, const std::string& listen, Handler handler)
    : impl_(std::make_unique<Impl>(executor, std::move(handler))) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) throw std::invalid_argument("listen address needs ADDR:PORT");
  std::string host = listen.substr(0, colon);
  if (host.empty()) host = "0.0.0.0";
  tcp::endpoint ep(asio::ip::make_address(host),
                   static_cast<unsigned short>(std::stoi(listen.substr(colon + 1))));
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen(asio::socket_base::max_listen_connections);
}

Server::~Server() = default;

void Server::start() {
  asio::co_spawn(impl_->executor, impl_->accept_loop(), asio::detached);
}

void Server::stop() {
  impl_->stopped = true;
  boost::system::error_code ec;
  impl_->acceptor.close(ec);
}

uint16_t Server::port() const {
  return impl_->acceptor.local_endpoint().port();
}

}  // namespace berth::http
