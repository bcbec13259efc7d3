#include "cron/cron.hpp"

#include <sstream>
#include <vector>

namespace berth::cron {

namespace {

// One field: "*", "N", "A-B", "*/S", "A-B/S", or a comma list of those. Sets bits [lo, hi].
template <size_t Bits>
bool parse_field(const std::string& field, int lo, int hi, const char* name, std::bitset<Bits>* out,
                 bool* any, std::string* error) {
  *any = field == "*";
  std::stringstream items(field);
  std::string item;
  auto number = [&](const std::string& s, int* value) {
    if (s.empty() || s.size() > 2 || s.find_first_not_of("0123456789") != std::string::npos) {
      *error = std::string(name) + ": '" + s + "' is not a number";
      return false;
    }
    *value = std::stoi(s);
    return true;
  };
  while (std::getline(items, item, ',')) {
    int step = 1;
    if (auto slash = item.find('/'); slash != std::string::npos) {
      if (!number(item.substr(slash + 1), &step)) return false;
      if (step == 0) {
        *error = std::string(name) + ": a step of 0";
        return false;
      }
      item = item.substr(0, slash);
    }
    int from = lo, to = hi;
    if (item != "*") {
      auto dash = item.find('-');
      if (!number(item.substr(0, dash), &from)) return false;
      to = from;
      if (dash != std::string::npos && !number(item.substr(dash + 1), &to)) return false;
      if (dash == std::string::npos && step > 1) to = hi;  // "5/15": from 5 on
    }
    // Day of week 7 is Sunday too.
    if (hi == 6 && from == 7 && to == 7) from = to = 0;
    if (hi == 6 && to == 7) to = 6, out->set(0);
    if (from < lo || to > hi || from > to) {
      *error = std::string(name) + ": " + item + " is out of range " + std::to_string(lo) + "-" +
               std::to_string(hi);
      return false;
    }
    for (int v = from; v <= to; v += step) out->set(v);
  }
  if (field.empty() || field.back() == ',') {
    *error = std::string(name) + ": empty";
    return false;
  }
  return true;
}

}  // namespace

std::optional<Cron> parse_cron(const std::string& text, std::string* error) {
  std::stringstream in(text);
  std::vector<std::string> fields;
  for (std::string f; in >> f;) fields.push_back(f);
  if (fields.size() != 5) {
    *error = "expected 5 fields (minute hour day-of-month month day-of-week), got " +
             std::to_string(fields.size());
    return std::nullopt;
  }
  Cron c;
  bool unused;
  if (!parse_field(fields[0], 0, 59, "minute", &c.minutes, &unused, error) ||
      !parse_field(fields[1], 0, 23, "hour", &c.hours, &unused, error) ||
      !parse_field(fields[2], 1, 31, "day of month", &c.days, &c.any_day, error) ||
      !parse_field(fields[3], 1, 12, "month", &c.months, &unused, error) ||
      !parse_field(fields[4], 0, 6, "day of week", &c.weekdays, &c.any_weekday, error))
    return std::nullopt;
  return c;
}

std::time_t next_fire(const Cron& cron, std::time_t after) {
  std::time_t t = after - after % 60 + 60;
  // Every schedule fires within about 4 years (29 February); search minute by minute with
  // skips by hour and day.
  for (int guard = 0; guard < 5 * 366 * 24 * 60; ++guard) {
    std::tm tm{};
    gmtime_r(&t, &tm);
    bool day_ok;
    bool dom = cron.days.test(tm.tm_mday), dow = cron.weekdays.test(tm.tm_wday);
    if (cron.any_day && cron.any_weekday)
      day_ok = true;
    else if (cron.any_day)
      day_ok = dow;
    else if (cron.any_weekday)
      day_ok = dom;
    else
      day_ok = dom || dow;  // both restricted: either matches, as cron does
    if (!cron.months.test(tm.tm_mon + 1) || !day_ok) {
      t += (24 * 60 - tm.tm_hour * 60 - tm.tm_min) * 60;  // next midnight
      continue;
    }
    if (!cron.hours.test(tm.tm_hour)) {
      t += (60 - tm.tm_min) * 60;  // next hour
      continue;
    }
    if (cron.minutes.test(tm.tm_min)) return t;
    t += 60;
  }
  return 0;
}

}  // namespace berth::cron
