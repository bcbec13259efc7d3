// The audit log's two ends in the API: every audited call recorded (Api::handle calls
// record_call once it has the answer) and /v1/audit to read it back, a project's admins their
// project's entries and operators all.
#include "audit/audit.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>

#include "api/handlers.hpp"
#include "api/respond.hpp"
#include "api/scope.hpp"
#include "util/encoding.hpp"
#include "util/log.hpp"

namespace berth::api {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

int64_t now_micros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The project an entry belongs to: the caller's; for an operator, the database it named.
std::string project_of(const Context& c, const Request& r) {
  if (!r.caller.project.empty()) return r.caller.project;
  const std::string prefix = "/v1/databases/";
  if (r.path.starts_with(prefix)) {
    auto ref = r.path.substr(prefix.size());
    ref = ref.substr(0, ref.find('/'));
    if (auto id = resolve(c, r, ref); !id.empty()) return c.view.database(id)->value.project;
  }
  auto it = r.query.find("project");
  return it == r.query.end() ? std::string() : it->second;
}

}  // namespace

asio::awaitable<void> record_call(Context& c, const Request& r, const Route* route, int status) {
  if (!audit::recorded(r.method, status)) co_return;
  // Refusals are counted, not all written: a flood of bad tokens must not fill etcd.
  int64_t second = now_micros() / 1'000'000;
  if (status == 401 || status == 403) {
    if (second != c.audit_second) c.audit_second = second, c.audit_refusals = 0;
    if (++c.audit_refusals > 20) co_return;
  }
  audit::Entry e;
  e.id = audit::id(now_micros(), util::random_hex(2));
  e.time = model::now_rfc3339();
  e.token_id = r.caller.token_id;
  e.token_name = r.caller.token_name;
  e.project = project_of(c, r);
  e.method = r.method;
  e.route = route ? std::string(route->pattern) : "other";
  e.target = r.path.substr(0, 200);
  e.status = status;
  try {
    co_await c.store.put(audit::kPrefix + e.id,
                         json(e).dump(-1, ' ', false, json::error_handler_t::replace));
  } catch (const std::exception& ex) {
    util::log("server: audit entry of {} {} not written: {}", e.method, e.target, ex.what());
  }
}

namespace audit_log {

Reply list(Context& c, const Request& r) {
  auto param = [&](const char* name) {
    auto it = r.query.find(name);
    return it == r.query.end() ? std::string() : it->second;
  };
  std::string after = param("after");
  if (after.find_first_not_of("0123456789-abcdef") != std::string::npos)
    co_return error(400, "after: not an audit entry id");
  bool follow = param("follow") == "1" || param("follow") == "true";
  auto read = [&]() -> asio::awaitable<std::vector<audit::Entry>> {
    std::string from = after.empty() ? audit::kPrefix : audit::kPrefix + after + "\x01";
    auto range = co_await c.store.get_range(from, audit::kPrefix + "~");
    std::vector<audit::Entry> out;
    for (auto& kv : range.kvs) {
      auto e = json::parse(kv.value, nullptr, false);
      if (e.is_discarded()) continue;
      auto entry = e.get<audit::Entry>();
      // A project admin sees its project's entries; an operator all, or ?project='s.
      if (!shown(r, entry.project)) continue;
      out.push_back(std::move(entry));
    }
    if (out.size() > 1000) out.erase(out.begin(), out.end() - 1000);  // the newest
    co_return out;
  };
  if (follow && after.empty()) {
    // From now on: what is there already is the past.
    auto past = co_await read();
    after = past.empty() ? audit::id(now_micros(), "") : past.back().id;
  }
  auto found = co_await read();
  asio::steady_timer timer(c.executor);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  // A long poll: entries are not mirrored, so etcd is asked again twice a second.
  while (follow && found.empty() && std::chrono::steady_clock::now() < deadline) {
    timer.expires_after(std::chrono::milliseconds(500));
    co_await timer.async_wait(asio::use_awaitable);
    found = co_await read();
  }
  std::string next = found.empty() ? after : found.back().id;
  co_return reply(200, json{{"entries", found}, {"after", next}});
}

}  // namespace audit_log

}  // namespace berth::api
