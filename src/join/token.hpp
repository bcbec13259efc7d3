// Join tokens: the one-time secret an operator hands a new host, which also pins the cluster
// CA's hash (as kubeadm's discovery hash does). Pure: the text form and the checks.
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <string_view>

#include "model/model.hpp"

namespace berth::join {

// "bjoin-ID.SECRET.CAHASH": ID 8 hex, SECRET 32 hex (128 bits), CAHASH the 64-hex sha256 of
// the CA certificate's DER bytes (tls::fingerprint).
struct Token {
  std::string id;      // "bjoin-" + 8 hex: the etcd record's name
  std::string secret;  // 32 hex
  std::string ca_sha256;
};

std::string format(const Token& token);
// nullopt for anything not exactly of that form.
std::optional<Token> parse(std::string_view text);

// Why record (nullptr: none by that id) does not let token join at `now`; nullopt when it does.
// The refusal never says whether the secret was right for a token that is gone or expired.
std::optional<std::string> refusal(const model::JoinToken* record, const Token& token,
                                   std::time_t now);

// Whether a host name can name a host (and its etcd user, agent-NAME): 1 to 63 letters, digits,
// '-', '.' and '_' (a machine's host name, short or full), not starting with '-' or '.'.
bool valid_host_name(std::string_view name);

}  // namespace berth::join
