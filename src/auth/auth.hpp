// Who may do what: the callers that tokens name, the roles' permissions and what a route needs.
// Pure: the API applies it in one place (Api::handle) and scopes records with sees().
#pragma once

#include <ctime>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "model/model.hpp"

namespace berth::auth {

// What a route needs of its caller's role.
enum class Need {
  open,       // no token at all (health, /metrics, the UI's files)
  whoami,     // any valid token
  discovery,  // Prometheus' service discovery: metrics and operator tokens
  read,       // a project's databases, backups, tasks, events, usage: every project role
  write,      // create, update, back up, restore, switch over: member and up
  remove,     // delete databases and backups: admin and up
  tokens,     // a project's tokens: admin and up
  cluster,    // hosts, drain, network, engines, projects, orphans: operator only
};

struct Caller {
  std::string token_id;  // "admin" for the token `berth up` wrote
  std::string token_name;
  std::string project;  // "" for operator and metrics tokens
  model::TokenRole role = model::TokenRole::viewer;
  std::string expires_at;
  bool is_operator() const { return role == model::TokenRole::operator_; }
};

// nullopt when the caller's role allows it; else the 403's message, naming the role needed.
std::optional<std::string> refusal(const Caller& caller, Need need);
// Whether the caller sees the records of project (an operator sees every project's).
bool sees(const Caller& caller, const std::string& project);

// A token's secret is "<id>.<random>": the id finds its record (and names it in the audit log)
// without a scan; the record keeps only the sha256 of the whole secret.
struct NewSecret {
  std::string id, secret;
};
NewSecret make_secret();

// The caller that an Authorization header names, or the 401's message. Takes "Bearer TOKEN"
// and a bare "TOKEN" (Prometheus' http_sd_configs sends that when its config gives
// credentials without a type). admin_sha256 is the hash of the token `berth up` wrote; token
// finds a record by id; sha256 hashes a secret (the API memoizes it).
std::variant<Caller, std::string> identify(
    std::string_view authorization, const std::string& admin_sha256,
    const std::function<const model::Token*(const std::string&)>& token,
    const std::function<std::string(std::string_view)>& sha256, std::time_t now);

// Roles a project token may have, and their names for messages.
bool project_role(model::TokenRole role);

}  // namespace berth::auth
