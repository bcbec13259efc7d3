#include "metrics/exporter.hpp"

#include "metrics/berth.hpp"
#include "util/log.hpp"

namespace berth::metrics {

namespace asio = boost::asio;

Exporter::Exporter(asio::any_io_executor executor, std::function<void(Registry&)> collect)
    : executor_(executor), collect_(std::move(collect)) {}

Exporter::~Exporter() = default;

std::string Exporter::start(const std::string& listen, const std::string& advertise_host,
                            const std::string& tls_cert_file, const std::string& tls_key_file) {
  try {
    http::ServerOptions options;
    options.tls_cert_file = tls_cert_file;
    options.tls_key_file = tls_key_file;
    server_ = std::make_unique<http::Server>(
        executor_, listen, [this](const http::ServerRequest& r) { return handle(r); }, options);
  } catch (const std::exception& e) {
    util::log("metrics: cannot listen on {}: {}; no /metrics here", listen, e.what());
    return {};
  }
  server_->start();
  std::string host = listen.substr(0, listen.rfind(':'));
  if (host.empty() || host == "0.0.0.0" || host == "::" || host == "[::]") host = advertise_host;
  return host + ":" + std::to_string(server_->port());
}

void Exporter::stop() {
  if (server_) server_->stop();
}

asio::awaitable<http::Response> Exporter::handle(const http::ServerRequest& request) {
  if (auto extra = extra_.find(request.path); extra != extra_.end() && request.method == "GET")
    co_return co_await extra->second(request);
  if (request.path != "/metrics") {
    http::Response r;
    r.status = 404;
    r.body = R"({"error":"only /metrics is served here"})";
    co_return r;
  }
  if (request.method != "GET" && request.method != "HEAD") {
    http::Response r;
    r.status = 405;
    r.body = R"({"error":"method not allowed"})";
    co_return r;
  }
  Registry scrape = global();
  if (collect_) collect_(scrape);
  co_return exposition(scrape);
}

}  // namespace berth::metrics
