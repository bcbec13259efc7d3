#include "usage/usage.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace berth::usage {

std::string database_prefix(const std::string& database_id) {
  return kRoot + database_id + "/";
}

std::string tier_prefix(const std::string& database_id, Tier tier) {
  return database_prefix(database_id) + (tier == Tier::Fine ? "fine/" : "coarse/");
}

std::string key(const std::string& database_id, Tier tier, int64_t time) {
  return tier_prefix(database_id, tier) + fmt::format("{:012d}", std::max<int64_t>(0, time));
}

Observed Tracker::observe(const std::string& database_id, int64_t memory_limit_bytes,
                          const std::vector<Reading>& readings, int64_t now) {
  Observed out;
  Point point;
  point.time = now;
  point.memory_limit_bytes = memory_limit_bytes;
  bool have_primary = false;
  for (auto& r : readings) {
    auto& counter = counters_[r.instance];
    if (r.reported_at != counter.reported_at) {
      // A counter that went back means the engine restarted: no rate across the restart.
      if (counter.reported_at != 0 && r.reported_at > counter.reported_at &&
          r.operations >= counter.operations)
        counter.rate =
            double(r.operations - counter.operations) / double(r.reported_at - counter.reported_at);
      else if (counter.reported_at != 0)
        counter.rate = 0.0;
      counter.operations = r.operations;
      counter.reported_at = r.reported_at;
    }
    if (!r.healthy) continue;
    point.connections += r.connections;
    point.ops_per_sec += counter.rate.value_or(0.0);
    // The primary holds the data; replicas copy it.
    bool primary = r.role == "primary";
    if (primary && !have_primary) {
      point.memory_used_bytes = r.memory_used_bytes;
      point.keys = r.keys;
      have_primary = true;
    } else if (!have_primary) {
      point.memory_used_bytes = std::max(point.memory_used_bytes, r.memory_used_bytes);
      point.keys = std::max(point.keys, r.keys);
    }
  }
  bool first = !seen_[database_id];
  seen_[database_id] = true;
  if (first) return out;  // rates need a second look

  auto& span = spans_[database_id];
  int64_t span_start = now - now % coarse_step();
  if (span.start != 0 && span.start != span_start && !span.points.empty())
    out.coarse = rollup(span.points, span.start);
  if (span.start != span_start) {
    span.start = span_start;
    span.points.clear();
  }
  span.points.push_back(point);
  out.fine = point;
  return out;
}

void Tracker::retain(const std::vector<std::string>& present) {
  std::set<std::string> keep(present.begin(), present.end());
  auto database_of = [](const std::string& instance) {
    return instance.substr(0, instance.find('/'));
  };
  std::erase_if(counters_, [&](auto& kv) { return !keep.count(database_of(kv.first)); });
  std::erase_if(spans_, [&](auto& kv) { return !keep.count(kv.first); });
  std::erase_if(seen_, [&](auto& kv) { return !keep.count(kv.first); });
}

Point rollup(const std::vector<Point>& points, int64_t span_start) {
  Point out;
  out.time = span_start;
  if (points.empty()) return out;
  double ops = 0;
  for (auto& p : points) {
    out.memory_used_bytes = std::max(out.memory_used_bytes, p.memory_used_bytes);
    out.connections = std::max(out.connections, p.connections);
    ops += p.ops_per_sec;
  }
  out.memory_limit_bytes = points.back().memory_limit_bytes;
  out.keys = points.back().keys;
  out.ops_per_sec = ops / double(points.size());
  return out;
}

Tier tier_for(int64_t seconds, int64_t step) {
  return seconds <= step * kFinePoints ? Tier::Fine : Tier::Coarse;
}

std::optional<int64_t> parse_range(const std::string& text) {
  if (text.size() < 2) return std::nullopt;
  int64_t unit = 0;
  switch (text.back()) {
    case 's':
      unit = 1;
      break;
    case 'm':
      unit = 60;
      break;
    case 'h':
      unit = 3600;
      break;
    case 'd':
      unit = 86400;
      break;
    default:
      return std::nullopt;
  }
  std::string digits = text.substr(0, text.size() - 1);
  if (digits.empty() || digits.size() > 6 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  int64_t value = std::stoll(digits) * unit;
  if (value <= 0) return std::nullopt;
  return value;
}

}  // namespace berth::usage
