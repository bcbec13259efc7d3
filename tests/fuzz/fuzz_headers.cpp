// What a request's first line and headers carry, and texts from outside read beside them: the
// target (path and query), the Authorization header, durations and ranges from query strings
// and bodies, base64, and sealed passwords as etcd holds them.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <variant>

#include "auth/auth.hpp"
#include "http/target.hpp"
#include "secrets/keyring.hpp"
#include "usage/usage.hpp"
#include "util/duration.hpp"
#include "util/encoding.hpp"

using namespace berth;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::string text(bytes);
  http::parse_target(bytes);
  if (http::url_decode(http::url_encode(bytes)) != bytes) __builtin_trap();

  static const std::string admin_sha256 = util::sha256_hex("tok-admin000.0123456789abcdef");
  static const model::Token token{.id = "tok-aaaaaaaa",
                                  .sha256 = util::sha256_hex("tok-aaaaaaaa.secret"),
                                  .project = "default",
                                  .role = model::TokenRole::operator_};
  auto who = auth::identify(
      bytes, admin_sha256, [](const std::string& id) { return id == token.id ? &token : nullptr; },
      [](std::string_view s) { return util::sha256_hex(s); }, 1700000000);
  // Only the two real secrets get in.
  if (std::holds_alternative<auth::Caller>(who) &&
      bytes.find("tok-aaaaaaaa.secret") == bytes.npos &&
      bytes.find("tok-admin000.0123456789abcdef") == bytes.npos)
    __builtin_trap();

  if (auto d = util::parse_duration(text); d && d->count() <= 0) __builtin_trap();
  if (auto r = usage::parse_range(text); r && *r <= 0) __builtin_trap();
  try {
    util::base64_decode(bytes);
  } catch (const std::invalid_argument&) {
  }
  static const secrets::Keyring keyring({std::string(32, 'k')});
  keyring.open(bytes);
  if (keyring.open(keyring.seal(bytes)) != text) __builtin_trap();
  return 0;
}
