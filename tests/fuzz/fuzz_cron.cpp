// Backup schedules as users write them.
#include <cstdint>
#include <cstring>
#include <ctime>
#include <string>

#include "cron/cron.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::time_t after = 1700000000;
  if (size >= 4) {
    uint32_t offset = 0;
    std::memcpy(&offset, data, 4);
    after += offset;
    data += 4;
    size -= 4;
  }
  std::string error;
  auto cron =
      berth::cron::parse_cron(std::string(reinterpret_cast<const char*>(data), size), &error);
  if (!cron) {
    if (error.empty()) __builtin_trap();  // a refusal says why
    return 0;
  }
  std::time_t next = berth::cron::next_fire(*cron, after);
  if (next != 0 && (next <= after || next % 60 != 0)) __builtin_trap();
  return 0;
}
