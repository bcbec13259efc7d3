// An instance's engine log, as its agent serves it to the API server (GET /v1/logs on the
// agent's metrics listener): the caller's own token checked again here, since anyone on the LAN
// can reach this port.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/reconciler.hpp"
#include "docker/docker.hpp"
#include "http/http.hpp"
#include "store/store.hpp"

namespace berth::agent {

struct LogLine {
  std::string time;   // Docker's RFC 3339 timestamp
  int64_t nanos = 0;  // the same as Unix nanoseconds (0 when unreadable)
  std::string text;
};
// Docker's timestamped log text ("TIME TEXT\n" per line) as lines. Pure.
std::vector<LogLine> parse_log_lines(std::string_view text);
// "2026-11-28T16:20:00.123456789Z" as Unix nanoseconds; 0 when unreadable. Pure.
int64_t rfc3339_nanos(std::string_view time);

// GET /v1/logs?database=ID&instance=N&tail=T&after=NANOS: {"lines": [{"time","text"}...],
// "after"} with the lines after `after` (the last `tail` of them).
boost::asio::awaitable<http::Response> serve_logs(store::Store& store, docker::Docker& docker,
                                                  const Reconciler& reconciler,
                                                  const http::ServerRequest& request);

}  // namespace berth::agent
