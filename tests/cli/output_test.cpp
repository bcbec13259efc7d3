#include "cli/output.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace berth::cli {
namespace {

struct Item {
  std::string name;
  int n;
  nlohmann::json raw;
};

std::vector<Item> items() {
  return {{"alpha", 1, {{"name", "alpha"}, {"n", 1}}}, {"b", 22, {{"name", "b"}, {"n", 22}}}};
}

TEST(OutputTest, TableColumnsAreTheWidestCellPlusTwoAndTheLastIsNotPadded) {
  EXPECT_EQ(format_table({{"NAME", "N"}, {"alpha", "1"}, {"b", "22"}}),
            "NAME   N\n"
            "alpha  1\n"
            "b      22\n");
  EXPECT_EQ(format_table({}), "");
}

TEST(OutputTest, AListIsATableOrTheItemsJsonAsOneArray) {
  auto row = [](const Item& i) -> Row { return {i.name, std::to_string(i.n)}; };
  std::ostringstream out, err;
  print_list(Output{out, err, false}, items(), {"NAME", "N"}, row);
  EXPECT_EQ(out.str(), "NAME   N\nalpha  1\nb      22\n");
  std::ostringstream js;
  print_list(Output{js, err, true}, items(), {"NAME", "N"}, row);
  EXPECT_EQ(js.str(), nlohmann::json::array({items()[0].raw, items()[1].raw}).dump(2) + "\n");
  std::ostringstream empty;
  print_list(Output{empty, err, true}, std::vector<Item>{}, {"NAME"}, row);
  EXPECT_EQ(empty.str(), "[]\n");
  EXPECT_EQ(err.str(), "");
}

TEST(OutputTest, OneObjectIsItsTextOrItsJson) {
  auto item = items()[0];
  std::ostringstream text, js, err;
  print_one(Output{text, err, false}, item, [](std::ostream& o) { o << "alpha is here\n"; });
  print_one(Output{js, err, true}, item, [](std::ostream& o) { o << "never\n"; });
  EXPECT_EQ(text.str(), "alpha is here\n");
  EXPECT_EQ(js.str(), "{\n  \"n\": 1,\n  \"name\": \"alpha\"\n}\n");
}

TEST(OutputTest, HumanBytes) {
  EXPECT_EQ(human_bytes(0), "0K");
  EXPECT_EQ(human_bytes(1536), "2K");
  EXPECT_EQ(human_bytes(3 << 20), "3.0M");
  EXPECT_EQ(human_bytes(int64_t{5} << 30), "5.0G");
}

TEST(OutputTest, Age) {
  std::time_t now = 1795780800;  // 2026-11-27T12:00:00Z
  EXPECT_EQ(age("2026-11-27T11:59:18Z", now), "42s");
  EXPECT_EQ(age("2026-11-27T11:55:00Z", now), "5m");
  EXPECT_EQ(age("2026-11-27T09:00:00Z", now), "3h");
  EXPECT_EQ(age("2026-11-25T12:00:00Z", now), "2d");
  EXPECT_EQ(age("2026-11-27T13:00:00Z", now), "0s");
  EXPECT_EQ(age("", now), "?");
}

}  // namespace
}  // namespace berth::cli
