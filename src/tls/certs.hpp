// A cluster's own certificate authority: makes the CA and the certificates it signs (servers'
// and, later, hosts'), as PEM. OpenSSL stays inside certs.cpp.
#pragma once

#include <string>
#include <vector>

namespace berth::tls {

struct KeyPair {
  std::string cert_pem;
  std::string key_pem;
};

// A self-signed CA (ECDSA P-256) valid for ten years.
KeyPair make_ca(const std::string& common_name);

// A certificate signed by ca for these names: each an IP address or a DNS name (the subject
// alternative names a client checks). Valid for `days`.
KeyPair make_certificate(const KeyPair& ca, const std::string& common_name,
                         const std::vector<std::string>& names, int days = 825);

// A new key (ECDSA P-256) and a certificate request for it, as a joining host makes them: the key
// never leaves the host.
struct CertificateRequest {
  std::string key_pem;
  std::string request_pem;
};
CertificateRequest make_request();

// A certificate for the key of a PEM certificate request, signed by ca for these names (no
// common name: etcd takes it as a client certificate). Throws when the request is not one or
// its signature is wrong; only its key is taken from it.
std::string sign_request(const KeyPair& ca, const std::string& request_pem,
                         const std::vector<std::string>& names, int days = 825);

// Whether cert_pem is signed by the CA certificate ca_pem.
bool issued_by(const std::string& ca_pem, const std::string& cert_pem);

// The hex sha256 of a PEM certificate's DER bytes: what a join token pins.
std::string fingerprint(const std::string& cert_pem);

// Whether the address a listener binds to ("ADDR:PORT") is reachable only from this machine.
bool is_loopback_listen(const std::string& listen);

struct ServerFiles {
  std::string ca_cert, cert, key;  // paths
};

// STATE_DIR/tls/{ca.pem,ca-key.pem,server.pem,server-key.pem}: made at the first start (the CA
// and its key kept, mode 0600 for keys), and the server certificate made again when it does not
// name every one of `names`.
ServerFiles ensure_server_files(const std::string& state_dir,
                                const std::vector<std::string>& names);

// The files of the etcd `berth up` runs, under STATE_DIR/tls beside the cluster CA: etcd's own
// certificate (127.0.0.1, localhost) and the client certificate berth presents to it (no common
// name: etcd's JSON gateway takes no other). Made when missing or not signed by the CA.
struct EtcdFiles {
  std::string ca_cert, server_cert, server_key, client_cert, client_key;  // paths
};
EtcdFiles ensure_etcd_files(const std::string& state_dir);

}  // namespace berth::tls
