#include "metrics/metrics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace berth::metrics {

namespace {

bool name_char(char c, bool first, bool colon) {
  bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  if (colon && c == ':') return true;
  return alpha || (!first && c >= '0' && c <= '9');
}

const char* type_name(Type type) {
  switch (type) {
    case Type::Counter:
      return "counter";
    case Type::Gauge:
      return "gauge";
    case Type::Histogram:
      return "histogram";
  }
  return "untyped";
}

// {a="x",b="y"} with extra appended last (le for buckets); empty when there are no labels.
std::string label_text(const Labels& labels, const std::string& extra_name = {},
                       const std::string& extra_value = {}) {
  if (labels.empty() && extra_name.empty()) return {};
  std::string out = "{";
  bool first = true;
  auto add = [&](const std::string& name, const std::string& value) {
    if (!first) out += ',';
    first = false;
    out += name;
    out += "=\"";
    out += escape_label_value(value);
    out += '"';
  };
  for (auto& [name, value] : labels) add(name, value);
  if (!extra_name.empty()) add(extra_name, extra_value);
  out += '}';
  return out;
}

}  // namespace

void Counter::inc(double by) {
  if (by < 0) throw std::invalid_argument("a counter cannot go down");
  value_ += by;
}

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {
  if (!std::is_sorted(bounds_.begin(), bounds_.end()) ||
      std::adjacent_find(bounds_.begin(), bounds_.end()) != bounds_.end())
    throw std::invalid_argument("histogram buckets must increase");
  if (!bounds_.empty() && std::isinf(bounds_.back())) bounds_.pop_back();  // implied
  counts_.assign(bounds_.size() + 1, 0);
}

void Histogram::observe(double value) {
  // The first bucket whose upper bound holds the value (le: less or equal).
  auto it = std::lower_bound(bounds_.begin(), bounds_.end(), value);
  ++counts_[static_cast<size_t>(it - bounds_.begin())];
  ++count_;
  sum_ += value;
}

Registry::Family& Registry::family(const std::string& name, const std::string& help, Type type,
                                   const Labels& labels) {
  auto it = families_.find(name);
  if (it == families_.end()) {
    if (!valid_metric_name(name)) throw std::invalid_argument("bad metric name: " + name);
    it = families_.emplace(name, Family{}).first;
    it->second.help = help;
    it->second.type = type;
  } else if (it->second.type != type) {
    throw std::invalid_argument("metric " + name + " is a " + type_name(it->second.type) +
                                ", not a " + type_name(type));
  }
  for (auto& [label, value] : labels)
    if (!valid_label_name(label) || (type == Type::Histogram && label == "le"))
      throw std::invalid_argument("bad label name for " + name + ": " + label);
  return it->second;
}

Counter& Registry::counter(const std::string& name, const std::string& help, const Labels& labels) {
  return family(name, help, Type::Counter, labels).counters[labels];
}

Gauge& Registry::gauge(const std::string& name, const std::string& help, const Labels& labels) {
  return family(name, help, Type::Gauge, labels).gauges[labels];
}

Histogram& Registry::histogram(const std::string& name, const std::string& help,
                               const std::vector<double>& buckets, const Labels& labels) {
  bool made = families_.count(name) == 0;
  auto& f = family(name, help, Type::Histogram, labels);
  if (made) f.buckets = Histogram(buckets).bounds();  // validated once
  auto it = f.histograms.find(labels);
  if (it == f.histograms.end()) it = f.histograms.emplace(labels, Histogram(f.buckets)).first;
  return it->second;
}

const Registry::Family* Registry::find(const std::string& name, Type type) const {
  auto it = families_.find(name);
  return it == families_.end() || it->second.type != type ? nullptr : &it->second;
}

const Counter* Registry::find_counter(const std::string& name, const Labels& labels) const {
  auto* f = find(name, Type::Counter);
  if (!f) return nullptr;
  auto it = f->counters.find(labels);
  return it == f->counters.end() ? nullptr : &it->second;
}

const Gauge* Registry::find_gauge(const std::string& name, const Labels& labels) const {
  auto* f = find(name, Type::Gauge);
  if (!f) return nullptr;
  auto it = f->gauges.find(labels);
  return it == f->gauges.end() ? nullptr : &it->second;
}

const Histogram* Registry::find_histogram(const std::string& name, const Labels& labels) const {
  auto* f = find(name, Type::Histogram);
  if (!f) return nullptr;
  auto it = f->histograms.find(labels);
  return it == f->histograms.end() ? nullptr : &it->second;
}

std::string Registry::render() const {
  std::string out;
  for (auto& [name, f] : families_) {
    out += "# HELP " + name + " " + escape_help(f.help) + "\n";
    out += "# TYPE " + name + " " + type_name(f.type) + "\n";
    switch (f.type) {
      case Type::Counter:
        for (auto& [labels, c] : f.counters)
          out += name + label_text(labels) + " " + format_value(c.value()) + "\n";
        break;
      case Type::Gauge:
        for (auto& [labels, g] : f.gauges)
          out += name + label_text(labels) + " " + format_value(g.value()) + "\n";
        break;
      case Type::Histogram:
        for (auto& [labels, h] : f.histograms) {
          uint64_t cumulative = 0;
          for (size_t i = 0; i <= h.bounds().size(); ++i) {
            cumulative += h.counts()[i];
            std::string le = i < h.bounds().size() ? format_value(h.bounds()[i]) : "+Inf";
            out += name + "_bucket" + label_text(labels, "le", le) + " " +
                   std::to_string(cumulative) + "\n";
          }
          out += name + "_sum" + label_text(labels) + " " + format_value(h.sum()) + "\n";
          out += name + "_count" + label_text(labels) + " " + std::to_string(h.count()) + "\n";
        }
        break;
    }
  }
  return out;
}

Registry& global() {
  static Registry registry;
  return registry;
}

const std::vector<double>& latency_buckets() {
  static const std::vector<double> buckets{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                           0.5,   1,      2.5,   5,    10,    30,   60};
  return buckets;
}

bool valid_metric_name(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i)
    if (!name_char(name[i], i == 0, true)) return false;
  return true;
}

bool valid_label_name(std::string_view name) {
  if (name.empty() || name.starts_with("__")) return false;  // __ is Prometheus's own
  for (size_t i = 0; i < name.size(); ++i)
    if (!name_char(name[i], i == 0, false)) return false;
  return true;
}

std::string sanitize_label_name(std::string_view name) {
  std::string out;
  for (char c : name) out += name_char(c, false, false) ? c : '_';
  if (out.empty() || (out[0] >= '0' && out[0] <= '9')) out.insert(out.begin(), '_');
  return out;
}

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string escape_help(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // Whole numbers as integers (byte counts, offsets), the rest in the shortest exact form.
  if (value == std::floor(value) && std::fabs(value) < 1e15)
    return fmt::format("{}", static_cast<int64_t>(value));
  return fmt::format("{}", value);
}

}  // namespace berth::metrics
