#include "auth/auth.hpp"

#include "util/encoding.hpp"

namespace berth::auth {

using model::TokenRole;

namespace {

// The least role that may do what a need names (cluster and discovery: see refusal()).
TokenRole least_role(Need need) {
  switch (need) {
    case Need::read:
      return TokenRole::viewer;
    case Need::write:
      return TokenRole::member;
    case Need::remove:
    case Need::tokens:
      return TokenRole::admin;
    default:
      return TokenRole::operator_;
  }
}

int rank(TokenRole role) {
  switch (role) {
    case TokenRole::viewer:
      return 1;
    case TokenRole::member:
      return 2;
    case TokenRole::admin:
      return 3;
    case TokenRole::operator_:
      return 4;
    default:
      return 0;  // metrics: nothing of a project
  }
}

bool valid_id(std::string_view id) {
  if (id.size() != 12 || !id.starts_with("tok-")) return false;
  for (char ch : id.substr(4))
    if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) return false;
  return true;
}

}  // namespace

bool project_role(TokenRole role) {
  return role == TokenRole::viewer || role == TokenRole::member || role == TokenRole::admin;
}

std::optional<std::string> refusal(const Caller& caller, Need need) {
  if (need == Need::open || need == Need::whoami) return std::nullopt;
  std::string has = " (this token's role is " + model::to_string(caller.role) + ")";
  if (need == Need::discovery) {
    if (caller.is_operator() || caller.role == TokenRole::metrics) return std::nullopt;
    return "forbidden: this needs a metrics or operator token" + has;
  }
  if (need == Need::cluster) {
    if (caller.is_operator()) return std::nullopt;
    return "forbidden: this is a cluster endpoint: it needs an operator token" + has;
  }
  if (rank(caller.role) >= rank(least_role(need))) return std::nullopt;
  return "forbidden: this needs role " + model::to_string(least_role(need)) + has;
}

bool sees(const Caller& caller, const std::string& project) {
  return caller.is_operator() || (!caller.project.empty() && caller.project == project);
}

NewSecret make_secret() {
  NewSecret s;
  s.id = "tok-" + util::random_hex(4);
  s.secret = s.id + "." + util::random_hex(24);
  return s;
}

std::variant<Caller, std::string> identify(
    std::string_view authorization, const std::string& admin_sha256,
    const std::function<const model::Token*(const std::string&)>& token,
    const std::function<std::string(std::string_view)>& sha256, std::time_t now) {
  const std::string missing = "authorization: missing or wrong token (Authorization: Bearer TOKEN)";
  std::string_view secret = authorization;
  if (secret.starts_with("Bearer ")) secret.remove_prefix(7);
  while (!secret.empty() && secret.front() == ' ') secret.remove_prefix(1);
  while (!secret.empty() && secret.back() == ' ') secret.remove_suffix(1);
  if (secret.empty() || secret.size() > 256) return missing;
  auto dot = secret.find('.');
  if (dot == std::string_view::npos) {
    // The token `berth up` wrote: an operator's, with no record of its own.
    if (admin_sha256.empty() || !util::constant_time_equal(sha256(secret), admin_sha256))
      return missing;
    return Caller{"admin", "berth up", "", TokenRole::operator_, ""};
  }
  std::string id(secret.substr(0, dot));
  const model::Token* record = valid_id(id) ? token(id) : nullptr;
  if (!record || !util::constant_time_equal(sha256(secret), record->sha256))
    return std::string("authorization: unknown or revoked token");
  if (!record->expires_at.empty() && model::parse_time(record->expires_at) <= now)
    return "authorization: token " + id + " expired at " + record->expires_at;
  return Caller{record->id, record->name, record->project, record->role, record->expires_at};
}

}  // namespace berth::auth
