// The requests that make or change a database, parsed and checked once: create, update and
// restore-to-new share one rule and one message per field. Pure: no I/O, no state.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "model/model.hpp"

namespace berth::engines {
class Engine;
}

namespace berth::api {

// Why a request is refused: an HTTP status and a message naming the field. Empty: accepted.
struct Invalid {
  int status = 0;
  std::string message;
  explicit operator bool() const { return status != 0; }
};

// POST /v1/databases.
struct CreateRequest {
  std::string name;
  std::string project = "default";  // set by the handler (api/scope.hpp), not parsed
  const berth::engines::Engine* engine = nullptr;
  int64_t memory_mb = 0;
  std::optional<std::string> password;  // none: made up (or none, when the engine allows)
  int replicas = 0;
  std::map<std::string, std::string> constraints;  // host labels every instance needs
};
Invalid parse_create(const nlohmann::json& body, CreateRequest* out);

// PATCH /v1/databases/{name}: what is absent stays as it is.
struct UpdateRequest {
  std::optional<int64_t> memory_mb;
  std::optional<int> replicas;
  std::optional<std::string> backup_schedule;  // empty: no schedule
  std::optional<int> backup_keep;
  std::optional<bool> backup_verify;
};
Invalid parse_update(const nlohmann::json& body, const berth::engines::Engine& engine,
                     UpdateRequest* out);

// POST /v1/backups/{id}/restore {"to": NAME, "memory_mb"?, "replicas"?}: a new database of
// the backup's engine, with at least the memory the original had (64 MiB or more).
Invalid parse_restore_to_new(const nlohmann::json& body, const std::string& engine,
                             int64_t original_memory_mb, CreateRequest* out);

// POST /v1/databases/{name}/password {"password"?}: the new password; none given (or no body),
// one is made up.
Invalid parse_password(const nlohmann::json& body, const berth::engines::Engine& engine,
                       std::optional<std::string>* out);

// POST /v1/projects {"name", "memory_quota_mb"?, "database_quota"?}; PATCH: the quotas only.
struct ProjectRequest {
  std::string name;
  std::optional<int64_t> memory_quota_mb;  // 0: none
  std::optional<int> database_quota;       // 0: none
};
Invalid parse_project(const nlohmann::json& body, bool create, ProjectRequest* out);

// POST /v1/tokens {"project"?, "role", "name"?, "ttl"?}.
struct TokenRequest {
  std::string project;
  model::TokenRole role = model::TokenRole::viewer;
  std::string name;
  std::optional<std::chrono::seconds> ttl;  // none: never expires
};
Invalid parse_token(const nlohmann::json& body, TokenRequest* out);

// POST /v1/join-tokens {"ttl"?}: how long the token may be used (default 1h, at most 7d).
struct JoinTokenRequest {
  std::chrono::seconds ttl{3600};
};
Invalid parse_join_token(const nlohmann::json& body, JoinTokenRequest* out);

// POST /v1/join {"token", "host", "address", "csr"}: a host asks to join. The token is kept as
// text here (join::parse reads it); the address is the IP the host is reached at.
struct JoinRequest {
  std::string token;
  std::string host;
  std::string address;
  std::string csr;  // PEM certificate request
};
Invalid parse_join(const nlohmann::json& body, JoinRequest* out);

}  // namespace berth::api
