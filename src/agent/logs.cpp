#include "agent/logs.hpp"

#include <charconv>
#include <ctime>
#include <nlohmann/json.hpp>

#include "auth/auth.hpp"
#include "engines/engine.hpp"
#include "util/encoding.hpp"

namespace berth::agent {

namespace asio = boost::asio;
namespace keys = model::keys;
using nlohmann::json;

namespace {

http::Response answer(int status, const json& body) {
  http::Response r;
  r.status = status;
  r.body = body.dump();
  return r;
}

http::Response refuse(int status, const std::string& message) {
  return answer(status, json{{"error", message}});
}

// A query number in [low, high]; fallback when absent or unreadable.
int64_t number(const http::ServerRequest& r, const char* name, int64_t fallback, int64_t low,
               int64_t high) {
  auto it = r.query.find(name);
  if (it == r.query.end()) return fallback;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
  if (ec != std::errc() || end != it->second.data() + it->second.size()) return fallback;
  return std::clamp(v, low, high);
}

}  // namespace

int64_t rfc3339_nanos(std::string_view time) {
  if (time.size() < 20) return 0;
  std::time_t seconds = model::parse_time(std::string(time.substr(0, 19)) + "Z");
  if (seconds == 0) return 0;
  int64_t nanos = 0;
  if (time[19] == '.') {
    int digits = 0;
    for (size_t i = 20; i < time.size() && std::isdigit(static_cast<unsigned char>(time[i])); ++i)
      if (digits++ < 9) nanos = nanos * 10 + (time[i] - '0');
    for (; digits < 9; ++digits) nanos *= 10;
  }
  return int64_t{seconds} * 1'000'000'000 + nanos;
}

std::vector<LogLine> parse_log_lines(std::string_view text) {
  std::vector<LogLine> out;
  while (!text.empty()) {
    auto end = text.find('\n');
    auto line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    auto space = line.find(' ');
    LogLine l;
    if (space != std::string_view::npos) l.nanos = rfc3339_nanos(line.substr(0, space));
    if (l.nanos != 0) {
      l.time = std::string(line.substr(0, space));
      l.text = std::string(line.substr(space + 1));
    } else {
      l.text = std::string(line);
    }
    out.push_back(std::move(l));
  }
  return out;
}

asio::awaitable<http::Response> serve_logs(store::Store& store, docker::Docker& docker,
                                           const Reconciler& reconciler,
                                           const http::ServerRequest& request) {
  // The caller's token, checked as the API checks it: a read of the database's project.
  std::string header = request.header("authorization");
  std::string secret = header.starts_with("Bearer ") ? header.substr(7) : header;
  auto token_id = secret.substr(0, secret.find('.'));
  model::Token token;
  bool have_token = false;
  if (token_id.starts_with("tok-") && token_id.size() <= 16) {
    auto record = co_await store.get(keys::token(token_id));
    if (!record.kvs.empty()) token = model::parse<model::Token>(record.kvs[0].value);
    have_token = !record.kvs.empty();
  }
  auto admin = co_await store.get(keys::kAdminTokenHash);
  auto who = auth::identify(
      header, admin.kvs.empty() ? std::string() : admin.kvs[0].value,
      [&](const std::string& id) { return have_token && id == token.id ? &token : nullptr; },
      [](std::string_view s) { return util::sha256_hex(s); }, std::time(nullptr));
  if (auto* refused = std::get_if<std::string>(&who)) co_return refuse(401, *refused);
  auto& caller = std::get<auth::Caller>(who);
  if (auto refusal = auth::refusal(caller, auth::Need::read)) co_return refuse(403, *refusal);
  auto id = request.query.count("database") ? request.query.at("database") : std::string();
  auto record = co_await store.get(keys::database(id));
  if (id.empty() || record.kvs.empty() ||
      !auth::sees(caller, model::parse<model::Database>(record.kvs[0].value).project))
    co_return refuse(404, "database: no database with id '" + id + "'");
  int n = static_cast<int>(number(request, "instance", 0, 0, 1000));
  auto* instance = reconciler.find(keys::instance_owner(id, n));
  if (!instance) co_return refuse(404, "instance: " + std::to_string(n) + " is not on this host");
  int64_t tail = number(request, "tail", 100, 1, 10000);
  int64_t after = number(request, "after", 0, 0, INT64_MAX);
  auto text = co_await docker.container_log_lines(engines::container_name(instance->allocation()),
                                                  after > 0 ? 10000 : static_cast<int>(tail),
                                                  after / 1'000'000'000);
  json lines = json::array();
  std::vector<LogLine> kept;
  for (auto& l : parse_log_lines(text))
    if (after == 0 || l.nanos > after) kept.push_back(std::move(l));
  if (kept.size() > static_cast<size_t>(tail))
    kept.erase(kept.begin(), kept.end() - static_cast<std::ptrdiff_t>(tail));
  int64_t last = after;
  for (auto& l : kept) {
    lines.push_back({{"time", l.time}, {"text", l.text}});
    last = std::max(last, l.nanos);
  }
  co_return answer(200, json{{"database", id},
                             {"instance", n},
                             {"host", instance->allocation().host},
                             {"lines", lines},
                             {"after", std::to_string(last)}});
}

}  // namespace berth::agent
