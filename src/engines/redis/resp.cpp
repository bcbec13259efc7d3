#include "engines/redis/resp.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <optional>

namespace berth::engines::resp {

namespace {

// The largest bulk string Redis sends (proto-max-bulk-len).
constexpr int64_t kMaxBulk = int64_t{512} << 20;

std::optional<int64_t> parse_int(std::string_view text) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// Length of one whole reply at buf[pos...] (simple, error, integer, bulk string or an array of
// those), or 0 when it has not all arrived. What is not RESP is one line.
size_t reply_length(std::string_view buf, size_t pos, int depth) {
  auto eol = buf.find("\r\n", pos);
  if (eol == std::string_view::npos) return 0;
  size_t line = eol + 2 - pos;
  char type = buf[pos];
  if (type != '$' && type != '*') return line;
  auto n = parse_int(buf.substr(pos + 1, eol - pos - 1));
  if (!n || *n < 0 || *n > kMaxBulk) return line;  // a null, or not RESP
  if (type == '$') {
    size_t end = eol + 2 + static_cast<size_t>(*n) + 2;
    return end > buf.size() ? 0 : end - pos;
  }
  if (depth >= kMaxDepth) return line;
  size_t at = eol + 2;
  for (int64_t i = 0; i < *n; ++i) {
    size_t length = at < buf.size() ? reply_length(buf, at, depth + 1) : 0;
    if (length == 0) return 0;
    at += length;
  }
  return at - pos;
}

}  // namespace

std::string command(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (auto& a : args) out += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return out;
}

int complete_replies(std::string_view buf) {
  int count = 0;
  size_t pos = 0;
  while (pos < buf.size()) {
    size_t n = reply_length(buf, pos, 0);
    if (n == 0) break;
    pos += n;
    ++count;
  }
  return count;
}

std::string info_field(std::string_view info, std::string_view field) {
  size_t start = std::string_view::npos;
  if (info.starts_with(field) && info.substr(field.size()).starts_with(':')) {
    start = field.size() + 1;
  } else {
    std::string key = "\n" + std::string(field) + ":";
    if (auto pos = info.find(key); pos != std::string_view::npos) start = pos + key.size();
  }
  if (start == std::string_view::npos) return {};
  auto end = info.find_first_of("\r\n", start);
  return std::string(info.substr(start, end == std::string_view::npos ? end : end - start));
}

int64_t number(std::string_view text) {
  return parse_int(text).value_or(0);
}

std::string probe_request(const std::string& password) {
  return command({"AUTH", password}) + command({"PING"}) + command({"INFO", "memory"}) +
         command({"INFO", "replication"}) + command({"CONFIG", "GET", "min-replicas-to-write"}) +
         command({"INFO", "clients"}) + command({"INFO", "stats"}) + command({"INFO", "keyspace"});
}

ProbeResult read_probe(std::string_view reply) {
  ProbeResult result;
  auto first_line = [&](size_t from) {
    from = std::min(from, reply.size());
    return std::string(reply.substr(from, reply.find("\r\n", from) - from));
  };
  if (!reply.starts_with("+OK\r\n")) {
    result.refused_password = reply.starts_with("-");
    result.message = "AUTH refused: " + first_line(0);
    return result;
  }
  if (reply.find("+PONG\r\n") == std::string_view::npos) {
    result.message = "PING not answered: " + first_line(5);
    return result;
  }
  result.healthy = true;
  result.memory_used_bytes = number(info_field(reply, "used_memory"));
  auto role = info_field(reply, "role");
  result.role = role == "slave" ? "replica" : (role == "master" ? "primary" : role);
  result.offset = number(
      info_field(reply, result.role == "replica" ? "slave_repl_offset" : "master_repl_offset"));
  result.primary_host = info_field(reply, "master_host");
  result.link_up = info_field(reply, "master_link_status") == "up";
  result.awaiting_role = result.role == "replica" && result.primary_host == "127.0.0.1";
  result.connections = number(info_field(reply, "connected_clients"));
  result.operations = number(info_field(reply, "total_commands_processed"));
  // Keyspace lines read "db0:keys=N,expires=...": one per logical database.
  for (auto pos = reply.find("\r\ndb"); pos != std::string_view::npos;
       pos = reply.find("\r\ndb", pos + 4)) {
    auto keys = reply.find(":keys=", pos);
    auto line_end = reply.find("\r\n", pos + 2);
    if (keys == std::string_view::npos || keys > line_end) continue;
    auto digits = reply.substr(keys + 6);
    digits = digits.substr(0, digits.find_first_not_of("0123456789"));
    int64_t keys_here = number(digits.substr(0, 18));
    result.keys = keys_here > std::numeric_limits<int64_t>::max() - result.keys
                      ? std::numeric_limits<int64_t>::max()
                      : result.keys + keys_here;
  }
  // CONFIG GET min-replicas-to-write answers as the fifth reply: *2 $N name $M value.
  if (auto pos = reply.find("min-replicas-to-write\r\n"); pos != std::string_view::npos) {
    auto value_start = reply.find("\r\n", pos + 23);
    auto value_end =
        value_start == std::string_view::npos ? value_start : reply.find("\r\n", value_start + 2);
    if (value_end != std::string_view::npos) {
      int64_t value = number(reply.substr(value_start + 2, value_end - value_start - 2));
      result.min_replicas_to_write =
          static_cast<int>(std::clamp<int64_t>(value, 0, kFencedMinReplicas));
    }
  }
  result.writes_paused = result.min_replicas_to_write >= kFencedMinReplicas;
  return result;
}

}  // namespace berth::engines::resp
