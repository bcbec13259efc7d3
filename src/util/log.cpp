#include "util/log.hpp"

#include <cstdio>

#include "model/model.hpp"

namespace berth::util {

void log_line(const std::string& line) {
  std::fprintf(stderr, "%s %s\n", model::now_rfc3339().c_str(), line.c_str());
}

}  // namespace berth::util
