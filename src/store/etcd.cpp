#include "store/etcd.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "http/http.hpp"
#include "store/etcd_wire.hpp"
#include "store/quorum.hpp"
#include "util/encoding.hpp"
#include "util/log.hpp"

namespace berth::store {

using nlohmann::json;
using util::base64_decode;
using util::base64_encode;

std::string prefix_end(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    unsigned char last = static_cast<unsigned char>(end.back());
    if (last < 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key
}

int64_t int_field(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end()) return 0;
  if (it->is_string()) return std::stoll(it->get<std::string>());
  if (it->is_number()) return it->get<int64_t>();
  return 0;
}

KeyValue parse_kv(const json& j) {
  KeyValue kv;
  kv.key = base64_decode(j.value("key", ""));
  kv.value = base64_decode(j.value("value", ""));
  kv.create_revision = int_field(j, "create_revision");
  kv.mod_revision = int_field(j, "mod_revision");
  kv.version = int_field(j, "version");
  kv.lease = int_field(j, "lease");
  return kv;
}

int64_t header_revision(const json& j) {
  auto it = j.find("header");
  return it == j.end() ? 0 : int_field(*it, "revision");
}

namespace {

json operation_json(const Operation& op) {
  switch (op.kind) {
    case Operation::Kind::Put: {
      json put = {{"key", base64_encode(op.key)}, {"value", base64_encode(op.value)}};
      if (op.lease) put["lease"] = std::to_string(op.lease);
      return {{"request_put", put}};
    }
    case Operation::Kind::Delete:
      return {{"request_delete_range", {{"key", base64_encode(op.key)}}}};
    case Operation::Kind::DeletePrefix:
      return {{"request_delete_range",
               {{"key", base64_encode(op.key)}, {"range_end", base64_encode(prefix_end(op.key))}}}};
    case Operation::Kind::DeleteRange:
      return {{"request_delete_range",
               {{"key", base64_encode(op.key)}, {"range_end", base64_encode(op.range_end)}}}};
  }
  return {};
}

json compare_json(const Compare& c) {
  static const char* targets[] = {"CREATE", "MOD", "VERSION", "VALUE"};
  static const char* results[] = {"EQUAL", "GREATER", "LESS", "NOT_EQUAL"};
  json j = {{"key", base64_encode(c.key)},
            {"target", targets[static_cast<int>(c.target)]},
            {"result", results[static_cast<int>(c.op)]}};
  switch (c.target) {
    case Compare::Target::Create:
      j["create_revision"] = std::to_string(c.number);
      break;
    case Compare::Target::Mod:
      j["mod_revision"] = std::to_string(c.number);
      break;
    case Compare::Target::Version:
      j["version"] = std::to_string(c.number);
      break;
    case Compare::Target::Value:
      j["value"] = base64_encode(c.value);
      break;
  }
  return j;
}

RangeResult parse_range(const std::string& body) {
  auto j = json::parse(body);
  RangeResult r;
  r.revision = header_revision(j);
  if (auto it = j.find("kvs"); it != j.end())
    for (auto& kv : *it) r.kvs.push_back(parse_kv(kv));
  return r;
}

}  // namespace

std::vector<std::string> EtcdStore::split_endpoints(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    auto comma = list.find(',', start);
    std::string part = list.substr(start, comma == std::string::npos ? comma : comma - start);
    if (!part.empty()) {
      if (part.find("://") == std::string::npos) part = "http://" + part;
      out.push_back(part);
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string etcd_operation(std::string_view path) {
  if (path.starts_with("/v3/")) path.remove_prefix(4);
  if (path.starts_with("kv/")) path.remove_prefix(3);
  std::string op(path);
  for (auto& c : op)
    if (c == '/') c = '_';
  return op.empty() ? "other" : op;
}

namespace {
// Tells the observer, if any, how long one request took: on return or on a throw.
class TimedOperation {
 public:
  TimedOperation(Observer* observer, std::string_view path)
      : observer_(observer), path_(path), started_(std::chrono::steady_clock::now()) {}
  ~TimedOperation() {
    if (!observer_) return;
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - started_;
    observer_->operation(etcd_operation(path_), took.count());
  }
  TimedOperation(const TimedOperation&) = delete;
  TimedOperation& operator=(const TimedOperation&) = delete;

 private:
  Observer* observer_;
  std::string_view path_;
  std::chrono::steady_clock::time_point started_;
};
}  // namespace

EtcdStore::EtcdStore(asio::any_io_executor executor, std::vector<std::string> endpoints,
                     http::TlsOptions tls, EtcdLogin login)
    : executor_(executor), tls_(std::move(tls)), login_(std::move(login)) {
  std::vector<std::string> all;
  for (auto& e : endpoints)
    for (auto& part : split_endpoints(e)) all.push_back(part);
  if (all.empty()) throw std::invalid_argument("no etcd endpoint given");
  for (auto& e : all) clients_.push_back(std::make_unique<http::Client>(executor, e, tls_));
}

EtcdStore::~EtcdStore() = default;

// etcd's own words from a refusal: {"error": ..., "message": ...} or the body as it is.
std::string refusal_message(const std::string& body) {
  try {
    auto j = json::parse(body);
    return j.value("error", j.value("message", body));
  } catch (...) {
    return body;
  }
}

asio::awaitable<std::string> EtcdStore::call(const std::string& path, const std::string& body,
                                             std::chrono::milliseconds timeout) {
  TimedOperation timed(observer_, path);
  std::string errors;
  for (size_t tried = 0; tried < clients_.size(); ++tried) {
    auto& client = *clients_[current_];
    try {
      http::Request req{"POST", path, body};
      auto res = co_await signed_in_request(client, req, timeout);
      if (res.status == 200) co_return res.body;
      // etcd answered but refused: a real error, no point asking another member
      // unless it says it has no leader.
      std::string message = refusal_message(res.body);
      if (message.find("no leader") == std::string::npos &&
          message.find("timed out") == std::string::npos)
        throw std::runtime_error("etcd " + path + ": " + message);
      errors += " " + client.endpoint() + ": " + message + ";";
    } catch (const http::ConnectError& e) {
      errors += std::string(" ") + e.what() + ";";
    }
    current_ = (current_ + 1) % clients_.size();
  }
  throw Unavailable("no etcd endpoint answers:" + errors);
}

asio::awaitable<RangeResult> EtcdStore::get(std::string key) {
  json req = {{"key", base64_encode(key)}};
  co_return parse_range(co_await call("/v3/kv/range", req.dump()));
}

asio::awaitable<RangeResult> EtcdStore::get_prefix(std::string prefix, int64_t revision) {
  json req = {{"key", base64_encode(prefix)}, {"range_end", base64_encode(prefix_end(prefix))}};
  if (revision > 0) req["revision"] = std::to_string(revision);
  co_return parse_range(co_await call("/v3/kv/range", req.dump()));
}

asio::awaitable<RangeResult> EtcdStore::get_range(std::string from, std::string to) {
  json req = {{"key", base64_encode(from)}, {"range_end", base64_encode(to)}};
  co_return parse_range(co_await call("/v3/kv/range", req.dump()));
}

asio::awaitable<int64_t> EtcdStore::put(std::string key, std::string value, int64_t lease) {
  json req = {{"key", base64_encode(key)}, {"value", base64_encode(value)}};
  if (lease) req["lease"] = std::to_string(lease);
  co_return header_revision(json::parse(co_await call("/v3/kv/put", req.dump())));
}

asio::awaitable<int64_t> EtcdStore::erase(std::string key) {
  json req = {{"key", base64_encode(key)}};
  co_return header_revision(json::parse(co_await call("/v3/kv/deleterange", req.dump())));
}

asio::awaitable<TxnResult> EtcdStore::txn(std::vector<Compare> compares,
                                          std::vector<Operation> success,
                                          std::vector<Operation> failure) {
  json req = {{"compare", json::array()}, {"success", json::array()}, {"failure", json::array()}};
  for (auto& c : compares) req["compare"].push_back(compare_json(c));
  for (auto& op : success) req["success"].push_back(operation_json(op));
  for (auto& op : failure) req["failure"].push_back(operation_json(op));
  auto j = json::parse(co_await call("/v3/kv/txn", req.dump()));
  co_return TxnResult{j.value("succeeded", false), header_revision(j)};
}

asio::awaitable<int64_t> EtcdStore::lease_grant(int64_t ttl_seconds) {
  json req = {{"TTL", std::to_string(ttl_seconds)}};
  auto j = json::parse(co_await call("/v3/lease/grant", req.dump()));
  co_return int_field(j, "ID");
}

asio::awaitable<int64_t> EtcdStore::lease_keep_alive(int64_t lease) {
  json req = {{"ID", std::to_string(lease)}};
  // Short: a keep-alive that cannot get through in a second is better retried.
  auto body = co_await call("/v3/lease/keepalive", req.dump(), std::chrono::milliseconds(1000));
  // The gateway streams: one line {"result": {...}} per keep-alive sent.
  auto line = body.substr(0, body.find('\n'));
  auto j = json::parse(line);
  co_return int_field(j.contains("result") ? j["result"] : j, "TTL");
}

asio::awaitable<void> EtcdStore::lease_revoke(int64_t lease) {
  json req = {{"ID", std::to_string(lease)}};
  co_await call("/v3/lease/revoke", req.dump());
}

asio::awaitable<void> EtcdStore::compact(int64_t revision) {
  json req = {{"revision", std::to_string(revision)}};
  co_await call("/v3/kv/compaction", req.dump());
}

namespace {
// The file's size and what of it is in use, from a /v3/maintenance/status answer.
template <class Sizes>
void read_sizes(const json& status, Sizes& out) {
  out.db_size_bytes = int_field(status, "dbSize");
  out.db_size_in_use_bytes = int_field(status, "dbSizeInUse");
}

// One member's word on itself, asked of that member only (no failing over to another).
asio::awaitable<http::Response> ask_status(http::Client& member,
                                           std::chrono::milliseconds timeout) {
  http::Request req{"POST", "/v3/maintenance/status", "{}"};
  co_return co_await member.request(req, timeout);
}
}  // namespace

asio::awaitable<StoreStatus> EtcdStore::status() {
  StoreStatus out;
  auto status = json::parse(co_await call("/v3/maintenance/status", "{}"));
  read_sizes(status, out);
  if (auto header = status.find("header"); header != status.end() && header->is_object())
    out.revision = int_field(*header, "revision");
  json get = {{"action", "GET"}};
  auto alarms = json::parse(co_await call("/v3/maintenance/alarm", get.dump()));
  if (auto it = alarms.find("alarms"); it != alarms.end() && it->is_array())
    for (auto& a : *it) out.alarms.push_back(a.value("alarm", std::string("NONE")));
  co_return out;
}

asio::awaitable<std::vector<MemberStatus>> EtcdStore::member_statuses() {
  std::vector<MemberStatus> out;
  for (auto& client : clients_) {
    MemberStatus m;
    m.endpoint = client->endpoint();
    try {
      auto res = co_await ask_status(*client, std::chrono::seconds(2));
      if (res.status == 200) {
        read_sizes(json::parse(res.body), m);
        m.answered = true;
      }
    } catch (const std::exception&) {
    }
    out.push_back(m);
  }
  co_return out;
}

asio::awaitable<void> EtcdStore::defragment(std::string endpoint) {
  for (auto& client : clients_) {
    if (client->endpoint() != endpoint) continue;
    // It copies the whole file: give it time. etcd keeps it for its root role.
    http::Request req{"POST", "/v3/maintenance/defragment", "{}"};
    auto res = co_await signed_in_request(*client, req, std::chrono::seconds(60));
    if (res.status != 200)
      throw std::runtime_error("etcd defragment " + endpoint + ": " + res.body);
    co_return;
  }
  throw std::runtime_error("no etcd endpoint " + endpoint);
}

asio::awaitable<void> EtcdStore::learn_members() {
  auto answer = json::parse(co_await call("/v3/cluster/member/list", "{}"));
  std::vector<std::shared_ptr<http::Client>> members;
  for (auto& m : answer.value("members", json::array())) {
    auto urls = m.value("clientURLs", json::array());
    std::shared_ptr<http::Client> member;
    if (!urls.empty() && urls[0].is_string())
      member = std::make_shared<http::Client>(executor_, urls[0].get<std::string>(), tls_);
    // Only a member this client reaches now, with etcd healthy, may later be taken at its
    // word: one that advertises an address not reachable from here (127.0.0.1 on another
    // machine) would read as "refused" and pass for down. It still counts, as unknown.
    bool reached = false;
    if (member) {
      try {
        reached = (co_await ask_status(*member, std::chrono::seconds(1))).status == 200;
      } catch (const std::exception&) {
      }
    }
    members.push_back(reached ? member : nullptr);
  }
  if (!members.empty()) members_ = std::move(members);
}

asio::awaitable<bool> EtcdStore::quorum_lost() {
  std::vector<MemberWord> words;
  auto members = members_;  // a copy: learn_members may replace the list while we ask
  for (auto& member : members) {
    MemberWord word = MemberWord::Unknown;
    if (member) {
      try {
        auto res = co_await ask_status(*member, std::chrono::milliseconds(250));
        word = member_word(res.status, res.body);
      } catch (const http::ConnectError& e) {
        if (e.refused) word = MemberWord::Refused;
      } catch (const std::exception&) {
      }
    }
    words.push_back(word);
  }
  co_return store::quorum_lost(words);
}

}  // namespace berth::store
