// A listener that serves only GET /metrics: the agent's, which has no API of its own.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <functional>
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
  std::string start(const std::string& listen, const std::string& advertise_host);
  void stop();

 private:
  boost::asio::awaitable<http::Response> handle(const http::ServerRequest& request);

  boost::asio::any_io_executor executor_;
  std::function<void(Registry&)> collect_;
  std::unique_ptr<http::Server> server_;
};

}  // namespace berth::metrics
