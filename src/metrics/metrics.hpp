// Counters, gauges and histograms with labels, rendered in the Prometheus text exposition
// format 0.0.4. Pure: no I/O, no clock but the one a ScopedTimer reads. A Registry is a value;
// the process keeps one (global()) for what it measures as it goes, and a scrape copies it and
// adds what is computed at that moment (cluster gauges) before rendering.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace berth::metrics {

// Label name -> value. Ordered, so one label set has one spelling.
using Labels = std::map<std::string, std::string>;

inline constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

enum class Type { Counter, Gauge, Histogram };

class Counter {
 public:
  void inc(double by = 1);  // by >= 0: a counter only goes up
  double value() const { return value_; }

 private:
  double value_ = 0;
};

class Gauge {
 public:
  void set(double value) { value_ = value; }
  void add(double by) { value_ += by; }
  double value() const { return value_; }

 private:
  double value_ = 0;
};

class Histogram {
 public:
  // bounds: the upper bounds of the buckets, increasing; +Inf is implied.
  explicit Histogram(std::vector<double> bounds = {});
  void observe(double value);
  const std::vector<double>& bounds() const { return bounds_; }
  // Observations per bucket, not cumulative; one more entry than bounds (the +Inf bucket).
  const std::vector<uint64_t>& counts() const { return counts_; }
  uint64_t count() const { return count_; }
  double sum() const { return sum_; }

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  double sum_ = 0;
};

// Metric families by name, each with its series by label set. Asking for a series creates it
// (at zero); asking for a name with another type than it was made with throws.
class Registry {
 public:
  Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& gauge(const std::string& name, const std::string& help, const Labels& labels = {});
  // buckets count when the family is made; later calls get its buckets whatever they pass.
  Histogram& histogram(const std::string& name, const std::string& help,
                       const std::vector<double>& buckets, const Labels& labels = {});

  // The family's series, for tests and collectors; null when there is no such family.
  const Counter* find_counter(const std::string& name, const Labels& labels = {}) const;
  const Gauge* find_gauge(const std::string& name, const Labels& labels = {}) const;
  const Histogram* find_histogram(const std::string& name, const Labels& labels = {}) const;

  // The whole registry in the text format, families sorted by name.
  std::string render() const;
  bool empty() const { return families_.empty(); }

 private:
  struct Family {
    std::string help;
    Type type = Type::Gauge;
    std::vector<double> buckets;
    std::map<Labels, Counter> counters;
    std::map<Labels, Gauge> gauges;
    std::map<Labels, Histogram> histograms;
  };
  Family& family(const std::string& name, const std::string& help, Type type, const Labels& labels);
  const Family* find(const std::string& name, Type type) const;

  std::map<std::string, Family> families_;
};

// The process's own registry (one io_context per process: no locking).
Registry& global();

// Observes the time from construction to destruction, in seconds: on return or on a throw.
class ScopedTimer {
 public:
  explicit ScopedTimer(Histogram& histogram)
      : histogram_(histogram), started_(std::chrono::steady_clock::now()) {}
  ~ScopedTimer() { histogram_.observe(seconds_since(started_)); }
  ScopedTimer(const ScopedTimer&) = delete;
  ScopedTimer& operator=(const ScopedTimer&) = delete;

  static double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

 private:
  Histogram& histogram_;
  std::chrono::steady_clock::time_point started_;
};

// Request latencies: 1 ms to 60 s.
const std::vector<double>& latency_buckets();

// The pieces of the format, public for tests and for other writers.
bool valid_metric_name(std::string_view name);
bool valid_label_name(std::string_view name);
// A label name made valid: every character outside [a-zA-Z0-9_] becomes '_', and a leading
// digit gets a '_' before it.
std::string sanitize_label_name(std::string_view name);
std::string escape_label_value(std::string_view value);  // \ " and newline
std::string escape_help(std::string_view help);          // \ and newline
// 3, 0.25, 1e+21, +Inf, -Inf, NaN.
std::string format_value(double value);

}  // namespace berth::metrics
