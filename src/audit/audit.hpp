// The audit log: one entry per call that changed something or was refused (401, 403), kept in
// etcd under /berth-audit/ (outside the mirrored /berth/) for 30 days. Pure: keys and records.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace berth::audit {

inline const std::string kPrefix = "/berth-audit/";
inline constexpr int64_t kRetentionSeconds = 30 * 24 * 3600;

struct Entry {
  std::string id;  // sorts by time: the key under kPrefix
  std::string time;
  std::string token_id, token_name;  // empty for a call with no valid token
  std::string project;               // the caller's, or the one the call named
  std::string method, route, target;
  int status = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Entry, id, time, token_id, token_name, project,
                                                method, route, target, status)

// Whether a call goes in the log: every change (anything but GET and HEAD), and every refusal.
bool recorded(const std::string& method, int status);
// The id of an entry written at Unix time micros (suffix: a random tie-breaker).
std::string id(int64_t unix_micros, const std::string& suffix);
// The first key at or after Unix time micros: what pruning and ?after= compare with.
std::string key_before(int64_t unix_micros);

}  // namespace berth::audit
