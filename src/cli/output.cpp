#include "cli/output.hpp"

#include <algorithm>
#include <cstdio>

namespace berth::cli {

std::string format_table(const std::vector<Row>& rows) {
  std::vector<size_t> widths;
  for (auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) {
      if (widths.size() <= i) widths.push_back(0);
      widths[i] = std::max(widths[i], row[i].size());
    }
  std::string text;
  for (auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      text += row[i];
      if (i + 1 < row.size()) text += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    text += "\n";
  }
  return text;
}

void print_json(std::ostream& out, const nlohmann::json& value) {
  out << value.dump(2) << "\n";
}

std::string human_bytes(int64_t bytes) {
  char buf[32];
  if (bytes >= (int64_t{1} << 30))
    std::snprintf(buf, sizeof buf, "%.1fG", bytes / double(int64_t{1} << 30));
  else if (bytes >= (1 << 20))
    std::snprintf(buf, sizeof buf, "%.1fM", bytes / double(1 << 20));
  else
    std::snprintf(buf, sizeof buf, "%.0fK", bytes / 1024.0);
  return buf;
}

std::string age(const std::string& rfc3339, std::time_t now) {
  std::tm tm{};
  if (!strptime(rfc3339.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return "?";
  long seconds = static_cast<long>(now - timegm(&tm));
  if (seconds < 0) seconds = 0;
  if (seconds < 120) return std::to_string(seconds) + "s";
  if (seconds < 7200) return std::to_string(seconds / 60) + "m";
  if (seconds < 172800) return std::to_string(seconds / 3600) + "h";
  return std::to_string(seconds / 86400) + "d";
}

}  // namespace berth::cli
