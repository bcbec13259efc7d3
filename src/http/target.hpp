// A request target taken apart: the percent-decoded path and query parameters. Pure, and
// fuzzed (tests/fuzz/fuzz_headers.cpp): every request's first line passes through it.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace berth::http {

struct Target {
  std::string path;
  std::map<std::string, std::string> query;  // the last value of a repeated key wins
};
Target parse_target(std::string_view target);

// Percent-decoding for paths and query strings ('+' is a space).
std::string url_decode(std::string_view s);
std::string url_encode(std::string_view s);

}  // namespace berth::http
