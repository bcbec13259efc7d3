#include "model/model.hpp"

#include <charconv>
#include <chrono>
#include <ctime>

namespace berth::model {

std::string format_time(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool keys::parse_status_key(std::string_view key, std::string* host, std::string* id, int* n) {
  if (!key.starts_with(kStatus)) return false;
  key.remove_prefix(kStatus.size());
  auto first = key.find('/');
  auto last = key.rfind('/');
  if (first == std::string_view::npos || first == 0 || last == first || last == first + 1)
    return false;
  auto digits = key.substr(last + 1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), *n);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) return false;
  *host = std::string(key.substr(0, first));
  *id = std::string(key.substr(first + 1, last - first - 1));
  return true;
}

std::time_t parse_time(const std::string& rfc3339) {
  std::tm tm{};
  if (!strptime(rfc3339.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return 0;
  return timegm(&tm);
}

std::string now_rfc3339() {
  auto now = std::chrono::system_clock::now();
  auto seconds = std::chrono::system_clock::to_time_t(now);
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[40];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms));
  return buf;
}

}  // namespace berth::model
