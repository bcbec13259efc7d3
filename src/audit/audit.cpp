#include "audit/audit.hpp"

#include <fmt/format.h>

namespace berth::audit {

bool recorded(const std::string& method, int status) {
  return status == 401 || status == 403 || (method != "GET" && method != "HEAD");
}

std::string id(int64_t unix_micros, const std::string& suffix) {
  return fmt::format("{:016d}-{}", unix_micros, suffix);
}

std::string key_before(int64_t unix_micros) {
  return kPrefix + fmt::format("{:016d}", unix_micros);
}

}  // namespace berth::audit
