#include "store/etcd_auth.hpp"

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "model/keys.hpp"
#include "store/etcd.hpp"
#include "util/encoding.hpp"

namespace berth::store {

namespace keys = model::keys;
using nlohmann::json;

std::string agent_user(const std::string& host) {
  return "agent-" + host;
}

std::vector<KeyPermission> agent_permissions(const std::string& host) {
  auto prefix = [](const std::string& p, Access access) {
    return KeyPermission{p, prefix_end(p), access};
  };
  auto key = [](const std::string& k) { return KeyPermission{k, "", Access::readwrite}; };
  return {
      prefix(keys::kRoot, Access::read),
      key(keys::host(host)),
      key(keys::host_settings(host)),
      key(keys::host_left(host)),
      prefix(keys::orphans_of(host), Access::readwrite),
      prefix(keys::statuses_on(host), Access::readwrite),
      prefix(keys::kAddresses, Access::readwrite),
      prefix(keys::kTasks, Access::readwrite),
      prefix(keys::kTaskClaims, Access::readwrite),
      prefix(keys::kBackups, Access::readwrite),
  };
}

namespace {

// A call whose refusal "already exists" means the thing is there: fine.
boost::asio::awaitable<bool> make(EtcdStore& etcd, const std::string& path, const json& body) {
  try {
    co_await etcd.gateway(path, body.dump());
    co_return true;
  } catch (const std::runtime_error& e) {
    if (std::string(e.what()).find("already exists") == std::string::npos) throw;
  }
  co_return false;
}

// The user with this password, made or given it.
boost::asio::awaitable<void> ensure_user(EtcdStore& etcd, const std::string& user,
                                         const std::string& password) {
  if (password.empty()) throw std::invalid_argument("etcd user " + user + ": empty password");
  json body = {{"name", user}, {"password", password}};
  std::string user_add = "/v3/auth/user/add";
  if (!co_await make(etcd, user_add, body))
    co_await etcd.gateway("/v3/auth/user/changepw", body.dump());
}

boost::asio::awaitable<void> grant_role(EtcdStore& etcd, const std::string& user,
                                        const std::string& role) {
  json body = {{"user", user}, {"role", role}};
  co_await etcd.gateway("/v3/auth/user/grant", body.dump());
}

const char* perm_type(Access a) {
  switch (a) {
    case Access::read:
      return "READ";
    case Access::write:
      return "WRITE";
    default:
      return "READWRITE";
  }
}

}  // namespace

boost::asio::awaitable<void> enable_auth(EtcdStore& etcd, const std::string& root_password) {
  std::string role_add = "/v3/auth/role/add";
  json root_role = {{"name", kRootUser}};
  co_await make(etcd, role_add, root_role);
  co_await ensure_user(etcd, kRootUser, root_password);
  co_await grant_role(etcd, kRootUser, kRootUser);
  std::string enable = "/v3/auth/enable", empty = "{}";
  co_await etcd.gateway(enable, empty);
}

boost::asio::awaitable<void> add_server_user(EtcdStore& etcd, const std::string& user,
                                             const std::string& password) {
  co_await ensure_user(etcd, user, password);
  co_await grant_role(etcd, user, kRootUser);
}

boost::asio::awaitable<void> add_agent_user(EtcdStore& etcd, const std::string& host,
                                            const std::string& password) {
  std::string role = agent_user(host);
  std::string role_add = "/v3/auth/role/add";
  json agent_role = {{"name", role}};
  co_await make(etcd, role_add, agent_role);
  for (auto& p : agent_permissions(host)) {
    json perm = {{"permType", perm_type(p.access)}, {"key", util::base64_encode(p.key)}};
    if (!p.range_end.empty()) perm["range_end"] = util::base64_encode(p.range_end);
    json body = {{"name", role}, {"perm", perm}};
    co_await etcd.gateway("/v3/auth/role/grant", body.dump());
  }
  co_await ensure_user(etcd, role, password);
  co_await grant_role(etcd, role, role);
}

boost::asio::awaitable<void> remove_agent_user(EtcdStore& etcd, const std::string& host) {
  std::string name = agent_user(host);
  auto gone = [](const std::runtime_error& e) {
    return std::string(e.what()).find("not found") != std::string::npos;
  };
  // The user first: its sign-in tokens go with it, so an agent still holding one is cut off.
  json user = {{"name", name}};
  try {
    co_await etcd.gateway("/v3/auth/user/delete", user.dump());
  } catch (const std::runtime_error& e) {
    if (!gone(e)) throw;
  }
  json role = {{"role", name}};
  try {
    co_await etcd.gateway("/v3/auth/role/delete", role.dump());
  } catch (const std::runtime_error& e) {
    if (!gone(e)) throw;
  }
}

}  // namespace berth::store
