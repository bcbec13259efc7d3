// How every command prints: a table for people, the API's JSON for scripts (--json), from one
// place so that all commands look alike. Pure formatting; the streams are passed in.
#pragma once

#include <cstdint>
#include <ctime>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

namespace berth::cli {

using Row = std::vector<std::string>;

// Where a command writes, and whether it was asked for JSON.
struct Output {
  std::ostream& out;
  std::ostream& err;
  bool json = false;
};

// Columns padded to the widest cell plus two spaces; the last column is not padded.
std::string format_table(const std::vector<Row>& rows);
void print_json(std::ostream& out, const nlohmann::json& value);  // indented, one newline

// A list: with --json the items' JSON as one array, exactly as the server sent it; else a
// table of the header and one row per item.
template <class T, class RowOf>
void print_list(const Output& o, const std::vector<T>& items, Row header, RowOf row_of) {
  if (o.json) {
    auto array = nlohmann::json::array();
    for (auto& item : items) array.push_back(item.raw);
    print_json(o.out, array);
    return;
  }
  std::vector<Row> rows{std::move(header)};
  for (auto& item : items) rows.push_back(row_of(item));
  o.out << format_table(rows);
}

// One object: with --json its JSON, else the text `describe` writes.
template <class T, class Describe>
void print_one(const Output& o, const T& item, Describe describe) {
  if (o.json)
    print_json(o.out, item.raw);
  else
    describe(o.out);
}

// 1536 -> "2K", 3 MiB -> "3.0M", 2 GiB -> "2.0G".
std::string human_bytes(int64_t bytes);
// How long ago an RFC 3339 time was: "42s", "5m", "3h", "2d"; "?" when unreadable.
std::string age(const std::string& rfc3339, std::time_t now = std::time(nullptr));

}  // namespace berth::cli
