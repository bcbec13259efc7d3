// The transport under the typed client: one private event loop per Client, run only while a
// call is in flight, so kept-alive connections are reused from one call to the next.
#include "client/client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "http/http.hpp"
#include "util/encoding.hpp"

namespace berth::client {

namespace {

// The API's refusal as the user should read it: its `error` text, else the body as sent.
std::string error_text(const std::string& body) {
  try {
    auto j = json::parse(body);
    if (j.is_object() && j.contains("error") && j["error"].is_string())
      return j["error"].get<std::string>();
  } catch (const json::exception&) {
  }
  return body;
}

}  // namespace

struct Client::Impl {
  boost::asio::io_context io;
  http::Client http;
  std::string token;
  std::string project;
  std::chrono::milliseconds timeout;
  Impl(const std::string& server, std::string t, std::chrono::milliseconds to,
       const std::string& ca_file)
      : http(io.get_executor(), server, http::TlsOptions{ca_file, "", ""}),
        token(std::move(t)),
        timeout(to) {}

  http::Response exchange(const std::string& method, const std::string& path, std::string body,
                          const std::string& idempotency_key = "") {
    http::Request req;
    req.method = method;
    req.target = path;
    if (!project.empty())
      req.target += (path.find('?') == std::string::npos ? "?project=" : "&project=") +
                    http::url_encode(project);
    req.body = std::move(body);
    req.headers.push_back({"Authorization", "Bearer " + token});
    if (!idempotency_key.empty()) req.headers.push_back({"Idempotency-Key", idempotency_key});
    io.restart();
    auto future = boost::asio::co_spawn(io, http.request(req, timeout), boost::asio::use_future);
    io.run();
    http::Response res;
    try {
      res = future.get();
    } catch (const http::ConnectError& e) {
      throw ConnectError(std::string("cannot reach the berth server: ") + e.what());
    }
    if (res.status >= 400) throw ApiError(res.status, error_text(res.body));
    return res;
  }
};

Client::Client(std::string server, std::string token, std::chrono::milliseconds timeout,
               std::string ca_file)
    : server_(server.find("://") == std::string::npos ? "http://" + server : std::move(server)),
      impl_(std::make_unique<Impl>(server_, std::move(token), timeout, ca_file)) {}

Client::~Client() = default;

void Client::set_project(std::string project) {
  impl_->project = std::move(project);
}

Reply Client::send(const std::string& method, const std::string& path, const json& body) {
  std::string text = body.is_null() ? std::string() : body.dump();
  http::Response res;
  if (method != "POST") {
    res = impl_->exchange(method, path, text);
  } else {
    // A POST whose answer was lost may have done its work: it is sent again with the same key,
    // and the server answers what the first one did (a create's password included).
    std::string key = util::random_hex(16);
    for (int attempt = 1;; ++attempt) {
      try {
        res = impl_->exchange(method, path, text, key);
        break;
      } catch (const ConnectError&) {
        if (attempt == kPostAttempts) throw;
      }
    }
  }
  Reply out{res.status, nullptr};
  if (!res.body.empty()) {
    try {
      out.body = json::parse(res.body);
    } catch (const json::exception&) {
      throw ApiError(res.status, "the server's answer is not JSON: " + res.body.substr(0, 200));
    }
  }
  return out;
}

std::string Client::send_raw(const std::string& method, const std::string& path) {
  return impl_->exchange(method, path, {}).body;
}

std::string escape(const std::string& text) {
  return http::url_encode(text);
}

}  // namespace berth::client
