// Cron schedules ("0 3 * * *": minute hour day-of-month month day-of-week, in UTC) for backups:
// parsing with an error that names what is wrong, and the next time a schedule fires. Pure.
#pragma once

#include <bitset>
#include <ctime>
#include <optional>
#include <string>

namespace berth::cron {

struct Cron {
  std::bitset<60> minutes;
  std::bitset<24> hours;
  std::bitset<32> days;                     // 1-31
  std::bitset<13> months;                   // 1-12
  std::bitset<7> weekdays;                  // 0-6, Sunday is 0 (7 is read as 0)
  bool any_day = true, any_weekday = true;  // "*": the other field alone decides
};

// Parses five fields; on failure returns nullopt and sets *error (e.g. "hour: 25 is out of
// range 0-23").
std::optional<Cron> parse_cron(const std::string& text, std::string* error);

// The first whole minute strictly after `after` (Unix seconds, UTC) at which cron fires.
std::time_t next_fire(const Cron& cron, std::time_t after);

}  // namespace berth::cron
