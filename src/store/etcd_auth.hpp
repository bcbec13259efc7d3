// etcd's users and roles for berth (its RBAC): what each berth role may touch, as a pure plan,
// and the calls that put a plan into etcd and switch its authentication on.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>
#include <vector>

namespace berth::store {

class EtcdStore;

enum class Access { read, write, readwrite };

// One grant: the key alone (range_end empty) or the range [key, range_end).
struct KeyPermission {
  std::string key;
  std::string range_end;
  Access access = Access::read;
  bool operator==(const KeyPermission&) const = default;
};

// etcd's user (and role) names: servers sign in with etcd's root role (the leader compacts and
// defragments, which etcd keeps for root), each agent as its own user with its own role.
inline const std::string kRootUser = "root";
std::string agent_user(const std::string& host);

// What an agent may do: read the whole state; write only its own host's keys (its host key and
// settings, its orphans, its instances' statuses) and what it keeps up for the whole cluster
// (address claims, tasks and their claims, backups). Never a database or allocation record,
// tokens, projects, names, the network, the leader key or another host's keys.
std::vector<KeyPermission> agent_permissions(const std::string& host);

// Makes the root user (with etcd's root role) with this password, or gives it the password, and
// switches etcd's authentication on. Run against an etcd that has it off, or signed in as root.
boost::asio::awaitable<void> enable_auth(EtcdStore& etcd, const std::string& root_password);

// Makes (or updates) a server's user, with etcd's root role.
boost::asio::awaitable<void> add_server_user(EtcdStore& etcd, const std::string& user,
                                             const std::string& password);

// Makes (or updates) an agent's user and its role, granted agent_permissions(host) and no more.
boost::asio::awaitable<void> add_agent_user(EtcdStore& etcd, const std::string& host,
                                            const std::string& password);

// Removes an agent's user and role (a host removed): what it signed in with stops working.
// Nothing to remove is fine.
boost::asio::awaitable<void> remove_agent_user(EtcdStore& etcd, const std::string& host);

}  // namespace berth::store
