// A joined host's identity, kept in its state folder (every file mode 0600): the cluster CA, its
// certificate and key, its etcd user and password, and the sealing key. Made once by
// join_cluster (berth agent --join-token), read back by load_identity at every later start.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace berth::join {

struct Identity {
  std::string dir;
  std::string host;
  std::string server;  // the URL it joined through
  std::vector<std::string> etcd_endpoints;
  std::string etcd_user;  // "" when etcd has no authentication

  std::string ca_file() const { return dir + "/ca.pem"; }
  std::string cert_file() const { return dir + "/cert.pem"; }
  std::string key_file() const { return dir + "/key.pem"; }
  std::string etcd_password_file() const { return dir + "/etcd.password"; }
  std::string sealing_key_file() const { return dir + "/secrets.key"; }
};

// The identity kept in dir; nullopt when the host has not joined yet. Throws when what is
// there is damaged.
std::optional<Identity> load_identity(const std::string& dir);

// Joins through server_url (https://) with the join token: fetches the CA and checks it against
// the token's hash, sends a certificate request for a key made here, and keeps what it gets in
// dir. Blocks (the agent's start, before its loop runs). Throws with the reason on a refusal.
Identity join_cluster(const std::string& server_url, const std::string& token,
                      const std::string& host, const std::string& address, const std::string& dir);

}  // namespace berth::join
