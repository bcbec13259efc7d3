// Hosts joining with an identity, as the roles start: a server with the cluster CA lets them in
// (POST /v1/join); an agent with --join-token joins once and then starts from what it kept.
#pragma once

#include <memory>

#include "api/context.hpp"
#include "store/etcd.hpp"
#include "up/roles.hpp"

namespace berth::up {

// What a server hands joining hosts, from --cluster-ca and --cluster-ca-key; nullptr without
// them. etcd_users: whether etcd's authentication is on (each joined host gets a user).
std::shared_ptr<const api::JoinAuthority> join_authority(const ServerFlags& flags,
                                                         store::EtcdStore& store, bool etcd_users,
                                                         const std::string& sealing_key_file);

// The agent's flags with its identity applied (joining first when it has none yet): its
// name, etcd endpoints and credentials, sealing key and certificate. False after one line on
// stderr when it cannot.
bool apply_identity(AgentFlags* flags, const std::string& advertise);

}  // namespace berth::up
