// The closed sets of names in berth's records (roles, states, kinds) as enum classes, with
// the same lower-case strings on the wire as before they were enums. No I/O.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace berth::model {

// Defines name(E) for logs and messages, from_name(s, E&) and the JSON conversions of enum E
// from one table of {value, "name"}. The table's first row is the fallback both ways: a string
// no row names (written by a newer berth, or by hand in etcd) reads as it, never throws, so a
// server keeps reading the rest of its state.
#define BERTH_MODEL_ENUM(E, ...)                                                                \
  inline constexpr std::pair<E, std::string_view> k##E##Names[] = {__VA_ARGS__};                \
  inline std::string_view name(E value) {                                                       \
    for (auto& [v, n] : k##E##Names)                                                            \
      if (v == value) return n;                                                                 \
    return k##E##Names[0].second;                                                               \
  }                                                                                             \
  inline void from_name(std::string_view s, E& out) {                                           \
    out = k##E##Names[0].first;                                                                 \
    for (auto& [v, n] : k##E##Names)                                                            \
      if (n == s) out = v;                                                                      \
  }                                                                                             \
  inline std::string to_string(E value) {                                                       \
    return std::string(name(value));                                                            \
  }                                                                                             \
  template <class Json>                                                                         \
  void to_json(Json& j, const E& value) {                                                       \
    j = std::string(name(value));                                                               \
  }                                                                                             \
  template <class Json>                                                                         \
  void from_json(const Json& j, E& value) {                                                     \
    from_name(j.is_string() ? j.template get_ref<const std::string&>() : std::string(), value); \
  }

// The replication role of an allocation (what it should be) or of an instance (what its
// engine reports). none ("") is an instance not yet seen healthy, and any unknown string.
enum class Role { none, primary, replica };
BERTH_MODEL_ENUM(Role, {Role::none, ""}, {Role::primary, "primary"}, {Role::replica, "replica"})

// What an agent last saw of an instance. none ("") is a status never probed, and any unknown
// string: code treats it as neither healthy nor failed.
enum class InstanceState { none, starting, healthy, unhealthy, failed };
BERTH_MODEL_ENUM(InstanceState, {InstanceState::none, ""}, {InstanceState::starting, "starting"},
                 {InstanceState::healthy, "healthy"}, {InstanceState::unhealthy, "unhealthy"},
                 {InstanceState::failed, "failed"})

// Where a task is. An unknown state reads as failed: finished, so that no server dispatches,
// requeues or runs a task it does not understand.
enum class TaskState { pending, running, done, failed, cancelled };
BERTH_MODEL_ENUM(TaskState, {TaskState::failed, "failed"}, {TaskState::pending, "pending"},
                 {TaskState::running, "running"}, {TaskState::done, "done"},
                 {TaskState::cancelled, "cancelled"})

// What a task does. none is an unknown kind: an agent fails such a task rather than guess.
enum class TaskKind { none, backup, restore };
BERTH_MODEL_ENUM(TaskKind, {TaskKind::none, ""}, {TaskKind::backup, "backup"},
                 {TaskKind::restore, "restore"})

// Whether a backup was loaded in a scratch container. Unknown reads as unverified.
enum class Verification { unverified, verified, failed };
BERTH_MODEL_ENUM(Verification, {Verification::unverified, "unverified"},
                 {Verification::verified, "verified"}, {Verification::failed, "failed"})

// What an API token may do (auth/auth.hpp holds the table). An unknown string reads as viewer,
// the least a project token can do.
enum class TokenRole { viewer, member, admin, operator_, metrics };
BERTH_MODEL_ENUM(TokenRole, {TokenRole::viewer, "viewer"}, {TokenRole::member, "member"},
                 {TokenRole::admin, "admin"}, {TokenRole::operator_, "operator"},
                 {TokenRole::metrics, "metrics"})

#undef BERTH_MODEL_ENUM

template <class E>
E from_name(std::string_view s) {
  E value{};
  from_name(s, value);
  return value;
}

inline bool task_finished(TaskState state) {
  return state == TaskState::done || state == TaskState::failed || state == TaskState::cancelled;
}

}  // namespace berth::model
