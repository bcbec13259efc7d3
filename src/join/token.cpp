#include "join/token.hpp"

#include "util/encoding.hpp"

namespace berth::join {

namespace {

constexpr std::string_view kPrefix = "bjoin-";

bool lower_hex(std::string_view s, size_t size) {
  return s.size() == size && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

}  // namespace

std::string format(const Token& token) {
  return token.id + "." + token.secret + "." + token.ca_sha256;
}

std::optional<Token> parse(std::string_view text) {
  auto first = text.find('.');
  if (first == std::string_view::npos) return std::nullopt;
  auto second = text.find('.', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  Token t{std::string(text.substr(0, first)),
          std::string(text.substr(first + 1, second - first - 1)),
          std::string(text.substr(second + 1))};
  if (!t.id.starts_with(kPrefix) || !lower_hex(std::string_view(t.id).substr(kPrefix.size()), 8) ||
      !lower_hex(t.secret, 32) || !lower_hex(t.ca_sha256, 64))
    return std::nullopt;
  return t;
}

std::optional<std::string> refusal(const model::JoinToken* record, const Token& token,
                                   std::time_t now) {
  if (!record) return "join token " + token.id + " is unknown or already used";
  if (record->expires_at.empty() || model::parse_time(record->expires_at) <= now)
    return "join token " + token.id + " has expired";
  if (!util::constant_time_equal(record->sha256, util::sha256_hex(token.secret)))
    return "join token " + token.id + ": wrong secret";
  return std::nullopt;
}

bool valid_host_name(std::string_view name) {
  if (name.empty() || name.size() > 63 || name.front() == '-' || name.front() == '.') return false;
  return name.find_first_not_of(
             "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._") ==
         std::string_view::npos;
}

}  // namespace berth::join
