// Usage analytics: each database's memory, keys, connections and operations per second,
// sampled at a fine step and rolled up to a coarser one as it ages. Pure: the leader's
// controller feeds it readings and writes what it returns (keys below, outside /berth/).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace berth::usage {

// Samples live outside the mirrored /berth/ prefix: servers read them only when asked.
inline const std::string kRoot = "/berth-usage/";
inline constexpr int64_t kDefaultStep = 15;            // seconds between fine samples
inline constexpr int64_t kRollupFactor = 20;           // a coarse point spans 20 fine steps (5 min)
inline constexpr int64_t kFinePoints = 1440;           // fine samples kept (6 h at 15 s)
inline constexpr int64_t kCoarseKeep = 7 * 24 * 3600;  // coarse points kept 7 days

struct Point {
  int64_t time = 0;  // Unix seconds: the sample's time, or the start of a coarse point's span
  int64_t memory_used_bytes = 0;
  int64_t memory_limit_bytes = 0;
  int64_t keys = 0;
  int64_t connections = 0;
  double ops_per_sec = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Point, time, memory_used_bytes, memory_limit_bytes,
                                                keys, connections, ops_per_sec)

enum class Tier { Fine, Coarse };

// /berth-usage/ID/fine/ and /berth-usage/ID/coarse/; a point's key sorts by its time.
std::string database_prefix(const std::string& database_id);
std::string tier_prefix(const std::string& database_id, Tier tier);
std::string key(const std::string& database_id, Tier tier, int64_t time);

// What one instance's agent last reported.
struct Reading {
  std::string instance;  // "id/n"
  std::string role;
  bool healthy = false;
  int64_t memory_used_bytes = 0;
  int64_t keys = 0;
  int64_t connections = 0;
  int64_t operations = 0;   // a counter since the engine started
  int64_t reported_at = 0;  // Unix seconds of the report
};

struct Observed {
  std::optional<Point> fine;    // this step's point (none at first sight: no rate yet)
  std::optional<Point> coarse;  // the roll-up of a span that just ended
};

// Turns readings into points: operation counters into rates, instances into one database
// figure (the primary's memory and keys, connections and rates summed), fine points into
// coarse ones. Holds the counters and the open span between calls.
class Tracker {
 public:
  explicit Tracker(int64_t step = kDefaultStep) : step_(step) {}
  int64_t step() const { return step_; }
  int64_t coarse_step() const { return step_ * kRollupFactor; }

  Observed observe(const std::string& database_id, int64_t memory_limit_bytes,
                   const std::vector<Reading>& readings, int64_t now);
  // Drops what it holds of databases not in `present`.
  void retain(const std::vector<std::string>& present);

 private:
  struct Counter {
    int64_t operations = 0;
    int64_t reported_at = 0;
    std::optional<double> rate;
  };
  struct Span {
    int64_t start = 0;
    std::vector<Point> points;
  };
  int64_t step_;
  std::map<std::string, Counter> counters_;  // by instance
  std::map<std::string, Span> spans_;        // by database
  std::map<std::string, bool> seen_;         // databases observed at least once
};

// One coarse point of a span's fine points: memory and connections at their peak, keys and
// limit as last seen, the mean rate.
Point rollup(const std::vector<Point>& points, int64_t span_start);

// Which tier answers a range of `seconds`, given the fine step: fine while it covers it.
Tier tier_for(int64_t seconds, int64_t step);

// "1h", "30m", "7d", "90s" to seconds; nullopt when unreadable or not positive.
std::optional<int64_t> parse_range(const std::string& text);

}  // namespace berth::usage
