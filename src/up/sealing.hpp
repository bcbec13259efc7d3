// Which key a process seals passwords with, and the check that it can open what etcd holds: a
// server or agent whose key file lacks the cluster's sealing key refuses to start (it would
// otherwise hand containers a sealed text as their password).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <memory>
#include <string>

#include "secrets/keyring.hpp"
#include "store/store.hpp"

namespace berth::up {

// The key file's keyring, set as the one records seal with. A server makes the file when it is
// missing; an agent without one runs with none (and adopt_sealing_key says whether it may).
std::shared_ptr<const secrets::Keyring> use_key_file(const std::string& path, bool create);

// Refuses (throws) when etcd names a sealing key this process does not hold; a server (publish)
// then names its own.
boost::asio::awaitable<void> adopt_sealing_key(store::Store& store, const secrets::Keyring* keyring,
                                               const std::string& key_file, bool publish);

}  // namespace berth::up
