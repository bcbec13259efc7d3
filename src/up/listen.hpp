// How a server's API listener is secured: plain HTTP only where nobody else can reach it, and
// the names its certificate must carry. Pure rules over the flags, tested alone.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace berth::up {

// Why `role` may not serve plain HTTP on `listen` (a non-loopback address with no certificate
// and no --insecure-http); nullopt when it may.
std::optional<std::string> plain_http_refusal(const std::string& role, const std::string& listen,
                                              bool has_certificate, bool insecure_http);

// The names a server certificate for `listen` must carry: localhost and its loopback addresses,
// this machine's name, and the listen address, or every address of this machine when it listens
// on all of them.
std::vector<std::string> certificate_names(const std::string& listen);

}  // namespace berth::up
