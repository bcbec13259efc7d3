#include "util/duration.hpp"

#include <cstdint>

namespace berth::util {

std::optional<std::chrono::seconds> parse_duration(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || digits > 9 || text.size() - digits > 1) return std::nullopt;
  int64_t n = std::stoll(text.substr(0, digits));
  char unit = digits < text.size() ? text[digits] : 's';
  int64_t scale = unit == 's' ? 1 : unit == 'm' ? 60 : unit == 'h' ? 3600 : unit == 'd' ? 86400 : 0;
  if (n == 0 || scale == 0) return std::nullopt;
  return std::chrono::seconds(n * scale);
}

}  // namespace berth::util
