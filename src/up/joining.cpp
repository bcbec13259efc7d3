#include "up/joining.hpp"

#include <iostream>

#include "join/identity.hpp"
#include "store/etcd_auth.hpp"
#include "up/process.hpp"
#include "util/files.hpp"
#include "util/log.hpp"

namespace berth::up {

std::shared_ptr<const api::JoinAuthority> join_authority(const ServerFlags& flags,
                                                         store::EtcdStore& store, bool etcd_users,
                                                         const std::string& sealing_key_file) {
  if (flags.cluster_ca.empty()) return nullptr;
  auto authority = std::make_shared<api::JoinAuthority>();
  authority->ca_cert_pem = util::read_file(flags.cluster_ca);
  authority->ca_key_pem = util::read_file(flags.cluster_ca_key);
  std::string endpoints = flags.join_etcd.empty() ? flags.etcd : flags.join_etcd;
  for (size_t from = 0; from <= endpoints.size();) {
    auto comma = std::min(endpoints.find(',', from), endpoints.size());
    if (comma > from) authority->etcd_endpoints.push_back(endpoints.substr(from, comma - from));
    from = comma + 1;
  }
  authority->sealing_key_file = sealing_key_file;
  if (etcd_users) {
    authority->add_etcd_user = [&store](const std::string& host, const std::string& password) {
      return store::add_agent_user(store, host, password);
    };
    authority->remove_etcd_user = [&store](const std::string& host) {
      return store::remove_agent_user(store, host);
    };
  }
  return authority;
}

bool apply_identity(AgentFlags* flags, const std::string& advertise) {
  if (flags->state_dir.empty()) {
    if (!flags->join_token.empty() || !flags->server.empty()) {
      std::cerr << "berth agent: --join-token: needs --state-dir, where the identity is kept\n";
      return false;
    }
    if (flags->etcd.empty()) {
      std::cerr << "berth agent: --etcd: required (or join with --state-dir, --server and "
                   "--join-token)\n";
      return false;
    }
    return true;
  }
  std::optional<join::Identity> identity;
  try {
    identity = join::load_identity(flags->state_dir);
    if (!identity && flags->join_token.empty()) {
      std::cerr << "berth agent: " << flags->state_dir
                << " holds no identity: join once with --server URL --join-token TOKEN\n";
      return false;
    }
    if (!identity) {
      std::string name = flags->name.empty() ? hostname() : flags->name;
      identity =
          join::join_cluster(flags->server, flags->join_token, name, advertise, flags->state_dir);
      util::log("agent: joined the cluster through {} as host {}", flags->server, name);
    }
  } catch (const std::exception& e) {
    std::cerr << "berth agent: " << e.what() << "\n";
    return false;
  }
  if (!flags->name.empty() && flags->name != identity->host) {
    std::cerr << "berth agent: --name: " << flags->state_dir << " holds the identity of host "
              << identity->host << ", not " << flags->name << "\n";
    return false;
  }
  flags->name = identity->host;
  if (flags->etcd.empty()) {
    for (auto& e : identity->etcd_endpoints) flags->etcd += (flags->etcd.empty() ? "" : ",") + e;
  }
  flags->etcd_access.ca = identity->ca_file();
  flags->etcd_access.cert = identity->cert_file();
  flags->etcd_access.key = identity->key_file();
  flags->etcd_access.user = identity->etcd_user;
  flags->etcd_access.password_file =
      identity->etcd_user.empty() ? "" : identity->etcd_password_file();
  flags->secret_key_file = identity->sealing_key_file();
  flags->metrics_tls_cert = identity->cert_file();
  flags->metrics_tls_key = identity->key_file();
  flags->cluster_ca = identity->ca_file();
  return true;
}

}  // namespace berth::up
