// How the API answers: JSON bodies and {"error": ...} naming the field. Shared by the API's
// translation units only.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "http/http.hpp"

namespace berth::api {

inline http::Response reply(int status, const nlohmann::json& body) {
  http::Response r;
  r.status = status;
  // Paths and parse errors can carry bytes that are not UTF-8: they are shown as U+FFFD
  // rather than failing the answer.
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

inline http::Response error(int status, const std::string& message) {
  return reply(status, nlohmann::json{{"error", message}});
}

// Parses a request body as JSON; on failure fills *failure with the 400 to answer.
inline std::optional<nlohmann::json> parse_body(const http::ServerRequest& request,
                                                http::Response* failure) {
  try {
    return nlohmann::json::parse(request.body);
  } catch (const nlohmann::json::exception& e) {
    *failure = error(400, std::string("malformed JSON: ") + e.what());
    return std::nullopt;
  }
}

}  // namespace berth::api
