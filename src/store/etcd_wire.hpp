// What etcd.cpp and etcd_watch.cpp share of the JSON gateway's wire format. Internal to store/.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "store/store.hpp"

namespace berth::store {

// The gateway encodes int64 as JSON strings and leaves out zero values.
int64_t int_field(const nlohmann::json& j, const char* name);
// The revision in an answer's header (0 when it has none).
int64_t header_revision(const nlohmann::json& j);
// A key-value as the gateway sends it (base64 key and value).
KeyValue parse_kv(const nlohmann::json& j);

// etcd's own words from a refusal: {"error": ..., "message": ...} or the body as it is.
std::string refusal_message(const std::string& body);

// etcd refuses a token given before its users or roles last changed with this (a request signed
// with it was not applied).
inline constexpr std::string_view kOldAuthRevision = "revision of auth store is old";

}  // namespace berth::store
