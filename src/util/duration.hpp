// Durations as operators write them on a command line: 30s, 5m, 1h, 7d (a bare number is
// seconds).
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace berth::util {

// nullopt for anything else, zero and negatives included.
std::optional<std::chrono::seconds> parse_duration(const std::string& text);

}  // namespace berth::util
