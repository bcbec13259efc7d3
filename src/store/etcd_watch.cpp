// EtcdStore::watch: one prefix followed through etcd's watch stream, across members, restarts
// and compactions.
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "http/http.hpp"
#include "store/etcd.hpp"
#include "store/etcd_wire.hpp"
#include "util/encoding.hpp"
#include "util/log.hpp"

namespace berth::store {

using nlohmann::json;
using util::base64_decode;
using util::base64_encode;

asio::awaitable<void> EtcdStore::watch(
    std::string prefix, int64_t start_revision,
    std::function<void(int64_t, const std::vector<WatchEvent>&)> on_events) {
  int64_t next = start_revision;
  asio::steady_timer backoff(executor_);
  int failures = 0;
  for (;;) {
    auto& client = *clients_[current_];
    json create = {{"key", base64_encode(prefix)},
                   {"range_end", base64_encode(prefix_end(prefix))},
                   {"progress_notify", true}};
    if (next > 0) create["start_revision"] = std::to_string(next);
    json req = {{"create_request", create}};
    bool delivered = false;
    std::optional<int64_t> compacted;
    auto on_line = [&](const std::string& line) {
      auto j = json::parse(line);
      if (j.contains("error")) {
        // Unauthenticated, or signed in before etcd's users changed: sign in again.
        if (j.value("code", 0) == 16 || line.find(kOldAuthRevision) != std::string::npos)
          token_.clear();
        return false;
      }
      auto& result = j["result"];
      if (int64_t c = int_field(result, "compact_revision"); c > 0) {
        compacted = c;
        return false;
      }
      // etcd cancels a watch it does not permit (a token it no longer knows, after a restart)
      // and keeps the stream open with nothing on it: sign in again and watch anew.
      if (auto canceled = result.find("canceled"); canceled != result.end() && *canceled == true) {
        token_.clear();
        return false;
      }
      auto events_it = result.find("events");
      if (events_it == result.end()) return true;
      std::vector<WatchEvent> events;
      int64_t revision = 0;
      for (auto& e : *events_it) {
        WatchEvent ev;
        ev.type =
            e.value("type", "PUT") == "DELETE" ? WatchEvent::Type::Delete : WatchEvent::Type::Put;
        ev.kv = parse_kv(e["kv"]);
        revision = std::max(revision, ev.kv.mod_revision);
        events.push_back(std::move(ev));
      }
      if (revision == 0) revision = header_revision(result);
      next = revision + 1;
      delivered = true;
      on_events(revision, events);
      return true;
    };
    try {
      http::Request r{"POST", "/v3/watch", req.dump()};
      co_await authorize(client, r);
      co_await client.stream(r, nullptr, http::split_lines(on_line));
    } catch (const http::ConnectError&) {
    } catch (const std::runtime_error& e) {
      if (login_.user.empty()) throw;
      util::log("etcd watch {}: {}", prefix, e.what());  // a failed sign-in: try again
    }
    if (compacted) throw Compacted(*compacted);
    // The stream ended: etcd restarted or the member went away. Resume on the next member.
    current_ = (current_ + 1) % clients_.size();
    failures = delivered ? 0 : failures + 1;
    backoff.expires_after(std::chrono::milliseconds(std::min(1000, 50 * failures)));
    co_await backoff.async_wait(asio::use_awaitable);
  }
}

}  // namespace berth::store
