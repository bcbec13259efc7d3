// Log lines to stderr with a UTC timestamp: "2026-11-24T23:59:59.123Z message".
#pragma once

#include <fmt/format.h>

#include <string>

namespace berth::util {

void log_line(const std::string& line);

template <class... Args>
void log(fmt::format_string<Args...> format, Args&&... args) {
  log_line(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace berth::util
