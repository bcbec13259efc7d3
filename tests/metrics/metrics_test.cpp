// The metrics library: the text exposition format 0.0.4 as Prometheus parses it.
#include "metrics/metrics.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace berth::metrics {
namespace {

TEST(MetricsRender, CounterAndGaugeWithHelpAndType) {
  Registry r;
  r.counter("jobs_total", "Jobs done.", {{"kind", "backup"}}).inc();
  r.counter("jobs_total", "Jobs done.", {{"kind", "backup"}}).inc(2);
  r.gauge("temperature", "Degrees.").set(21.5);
  EXPECT_EQ(r.render(),
            "# HELP jobs_total Jobs done.\n"
            "# TYPE jobs_total counter\n"
            "jobs_total{kind=\"backup\"} 3\n"
            "# HELP temperature Degrees.\n"
            "# TYPE temperature gauge\n"
            "temperature 21.5\n");
}

TEST(MetricsRender, LabelsAreSortedAndEachSetIsOneSeries) {
  Registry r;
  r.gauge("g", "h", {{"b", "2"}, {"a", "1"}}).set(1);
  r.gauge("g", "h", {{"a", "1"}, {"b", "2"}}).add(1);
  r.gauge("g", "h", {{"a", "x"}, {"b", "2"}}).set(5);
  EXPECT_EQ(r.render(),
            "# HELP g h\n# TYPE g gauge\n"
            "g{a=\"1\",b=\"2\"} 2\n"
            "g{a=\"x\",b=\"2\"} 5\n");
}

TEST(MetricsRender, EscapesLabelValuesAndHelp) {
  EXPECT_EQ(escape_label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  EXPECT_EQ(escape_help("line\\one\nline \"two\""), "line\\\\one\\nline \"two\"");
  Registry r;
  r.gauge("g", "first\nsecond", {{"path", "C:\\x \"y\"\n"}}).set(1);
  EXPECT_EQ(r.render(),
            "# HELP g first\\nsecond\n# TYPE g gauge\n"
            "g{path=\"C:\\\\x \\\"y\\\"\\n\"} 1\n");
}

TEST(MetricsRender, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  Registry r;
  auto& h = r.histogram("latency_seconds", "Latency.", {0.125, 0.5, 1}, {{"op", "get"}});
  for (double v : {0.0625, 0.125, 0.25, 0.75, 2.0}) h.observe(v);
  EXPECT_EQ(r.render(),
            "# HELP latency_seconds Latency.\n"
            "# TYPE latency_seconds histogram\n"
            "latency_seconds_bucket{op=\"get\",le=\"0.125\"} 2\n"
            "latency_seconds_bucket{op=\"get\",le=\"0.5\"} 3\n"
            "latency_seconds_bucket{op=\"get\",le=\"1\"} 4\n"
            "latency_seconds_bucket{op=\"get\",le=\"+Inf\"} 5\n"
            "latency_seconds_sum{op=\"get\"} 3.1875\n"
            "latency_seconds_count{op=\"get\"} 5\n");
}

TEST(MetricsRender, HistogramWithoutLabelsAndAnExplicitInfBound) {
  Registry r;
  r.histogram("h", "x", {1, std::numeric_limits<double>::infinity()}).observe(3);
  EXPECT_EQ(r.render(),
            "# HELP h x\n# TYPE h histogram\n"
            "h_bucket{le=\"1\"} 0\nh_bucket{le=\"+Inf\"} 1\nh_sum 3\nh_count 1\n");
}

TEST(MetricsHistogram, ValueOnABoundGoesInThatBucket) {
  Histogram h({1, 2});
  h.observe(1);
  h.observe(2);
  h.observe(2.0001);
  EXPECT_EQ(h.counts(), (std::vector<uint64_t>{1, 1, 1}));
  EXPECT_EQ(h.count(), 3u);
}

TEST(MetricsHistogram, FamilyKeepsTheBucketsItWasMadeWith) {
  Registry r;
  r.histogram("h", "x", {1, 2}, {{"a", "1"}});
  auto& other = r.histogram("h", "x", {5}, {{"a", "2"}});
  EXPECT_EQ(other.bounds(), (std::vector<double>{1, 2}));
}

TEST(MetricsHistogram, BoundsMustIncrease) {
  EXPECT_THROW(Histogram({2, 1}), std::invalid_argument);
  EXPECT_THROW(Histogram({1, 1}), std::invalid_argument);
}

TEST(MetricsRegistry, RejectsBadNamesAndTypeClashes) {
  Registry r;
  EXPECT_THROW(r.gauge("1abc", "x"), std::invalid_argument);
  EXPECT_THROW(r.gauge("a-b", "x"), std::invalid_argument);
  EXPECT_THROW(r.gauge("ok", "x", {{"bad-label", "v"}}), std::invalid_argument);
  EXPECT_THROW(r.gauge("ok", "x", {{"__reserved", "v"}}), std::invalid_argument);
  EXPECT_THROW(r.histogram("hist", "x", {1}, {{"le", "v"}}), std::invalid_argument);
  r.counter("things_total", "x");
  EXPECT_THROW(r.gauge("things_total", "x"), std::invalid_argument);
  EXPECT_THROW(r.counter("things_total", "x").inc(-1), std::invalid_argument);
  EXPECT_NO_THROW(r.gauge("name:with_colon", "x"));
}

TEST(MetricsRegistry, IsAValueAScrapeCanCopyAndExtend) {
  Registry base;
  base.counter("c_total", "x").inc();
  Registry scrape = base;
  scrape.gauge("g", "y").set(2);
  scrape.counter("c_total", "x").inc();
  EXPECT_EQ(base.find_counter("c_total")->value(), 1);
  EXPECT_EQ(scrape.find_counter("c_total")->value(), 2);
  EXPECT_EQ(base.find_gauge("g"), nullptr);
}

TEST(MetricsFormat, Values) {
  EXPECT_EQ(format_value(0), "0");
  EXPECT_EQ(format_value(3), "3");
  EXPECT_EQ(format_value(-7), "-7");
  EXPECT_EQ(format_value(1073741824), "1073741824");
  EXPECT_EQ(format_value(0.25), "0.25");
  EXPECT_EQ(format_value(0.1), "0.1");
  EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_value(std::nan("")), "NaN");
  EXPECT_EQ(std::stod(format_value(1e21)), 1e21);
}

TEST(MetricsFormat, Names) {
  EXPECT_TRUE(valid_metric_name("berth_instances"));
  EXPECT_TRUE(valid_metric_name("_x:y"));
  EXPECT_FALSE(valid_metric_name(""));
  EXPECT_FALSE(valid_metric_name("9x"));
  EXPECT_TRUE(valid_label_name("database_id"));
  EXPECT_FALSE(valid_label_name("a:b"));
  EXPECT_EQ(sanitize_label_name("zone.name-1"), "zone_name_1");
  EXPECT_EQ(sanitize_label_name("1rack"), "_1rack");
  EXPECT_EQ(sanitize_label_name(""), "_");
}

}  // namespace
}  // namespace berth::metrics
