// A listener that serves GET /metrics (and the few paths its owner adds with serve()): the
// agent's, which has no API of its own.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "http/http.hpp"
#include "metrics/metrics.hpp"

namespace berth::metrics {

class Exporter {
 public:
  // collect fills a copy of the process's registry with what is computed at scrape time.
  Exporter(boost::asio::any_io_executor executor, std::function<void(Registry&)> collect);
  ~Exporter();

  // Listens on listen (ADDR:PORT; port 0 takes any free port) and returns the address to scrape:
  // the listen address, or advertise_host with the port when it listens on every interface.
  // Empty, after a log line, when it cannot listen: an agent keeps working without metrics.
  // With tls_cert_file and tls_key_file (PEM) it speaks HTTPS only.
  std::string start(const std::string& listen, const std::string& advertise_host,
                    const std::string& tls_cert_file = {}, const std::string& tls_key_file = {});
  void stop();
  // Answers GET path with handler (the agent's /v1/logs).
  using Handler = std::function<boost::asio::awaitable<http::Response>(const http::ServerRequest&)>;
  void serve(std::string path, Handler handler) { extra_[std::move(path)] = std::move(handler); }

 private:
  boost::asio::awaitable<http::Response> handle(const http::ServerRequest& request);

  boost::asio::any_io_executor executor_;
  std::function<void(Registry&)> collect_;
  std::unique_ptr<http::Server> server_;
  std::map<std::string, Handler> extra_;
};

}  // namespace berth::metrics
