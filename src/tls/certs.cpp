#include "tls/certs.hpp"

#include <arpa/inet.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>
#include <filesystem>
#include <memory>
#include <stdexcept>

#include "util/encoding.hpp"
#include "util/files.hpp"

namespace berth::tls {

namespace {

using Key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using Cert = std::unique_ptr<X509, decltype(&X509_free)>;
using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;
using CertRequest = std::unique_ptr<X509_REQ, decltype(&X509_REQ_free)>;

[[noreturn]] void fail(const std::string& what) {
  char reason[256] = "";
  ERR_error_string_n(ERR_get_error(), reason, sizeof reason);
  throw std::runtime_error("tls: " + what + ": " + reason);
}

Key new_key() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (!key) fail("cannot make a key");
  return Key(key, EVP_PKEY_free);
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(size));
}

std::string pem(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!PEM_write_bio_X509(bio.get(), cert)) fail("cannot write a certificate");
  return bio_text(bio.get());
}

std::string pem(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr))
    fail("cannot write a key");
  return bio_text(bio.get());
}

Cert read_cert(const std::string& text) {
  Bio bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())), BIO_free);
  X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
  if (!cert) fail("not a PEM certificate");
  return Cert(cert, X509_free);
}

Key read_key(const std::string& text) {
  Bio bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())), BIO_free);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (!key) fail("not a PEM private key");
  return Key(key, EVP_PKEY_free);
}

void extend(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) fail("bad certificate extension " + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

bool is_ip(const std::string& name) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, name.c_str(), buf) == 1 ||
         ::inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

// A certificate for key, signed by issuer (itself when null) with issuer_key.
Cert sign(const std::string& common_name, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key,
          int days, bool is_ca, const std::vector<std::string>& names) {
  Cert cert(X509_new(), X509_free);
  X509* x = cert.get();
  X509_set_version(x, 2);
  std::unique_ptr<BIGNUM, decltype(&BN_free)> serial(BN_new(), BN_free);
  BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY);
  BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(x));
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);  // a host whose clock is a little behind
  X509_gmtime_adj(X509_getm_notAfter(x), static_cast<long>(days) * 86400);
  X509_set_pubkey(x, key);
  X509_NAME* subject = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("berth"), -1, -1, 0);
  // etcd's JSON gateway refuses a client certificate that has a common name: its clients get none.
  if (!common_name.empty())
    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                               0);
  X509* signer = issuer ? issuer : x;
  X509_set_issuer_name(x, X509_get_subject_name(signer));
  extend(x, signer, NID_subject_key_identifier, "hash");
  if (is_ca) {
    extend(x, signer, NID_basic_constraints, "critical,CA:TRUE");
    extend(x, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    extend(x, signer, NID_authority_key_identifier, "keyid");
    extend(x, signer, NID_basic_constraints, "critical,CA:FALSE");
    extend(x, signer, NID_key_usage, "critical,digitalSignature,keyEncipherment");
    extend(x, signer, NID_ext_key_usage, "serverAuth,clientAuth");
    std::string alt;
    for (auto& n : names)
      alt += (alt.empty() ? "" : ",") + std::string(is_ip(n) ? "IP:" : "DNS:") + n;
    if (!alt.empty()) extend(x, signer, NID_subject_alt_name, alt);
  }
  if (!X509_sign(x, issuer_key, EVP_sha256())) fail("cannot sign a certificate");
  return cert;
}

bool names_all(X509* cert, const std::vector<std::string>& names) {
  for (auto& n : names) {
    int ok = is_ip(n) ? X509_check_ip_asc(cert, n.c_str(), 0)
                      : X509_check_host(cert, n.c_str(), n.size(), 0, nullptr);
    if (ok != 1) return false;
  }
  return true;
}

}  // namespace

KeyPair make_ca(const std::string& common_name) {
  auto key = new_key();
  auto cert = sign(common_name, key.get(), nullptr, key.get(), 3650, true, {});
  return {pem(cert.get()), pem(key.get())};
}

KeyPair make_certificate(const KeyPair& ca, const std::string& common_name,
                         const std::vector<std::string>& names, int days) {
  auto ca_cert = read_cert(ca.cert_pem);
  auto ca_key = read_key(ca.key_pem);
  auto key = new_key();
  auto cert = sign(common_name, key.get(), ca_cert.get(), ca_key.get(), days, false, names);
  return {pem(cert.get()), pem(key.get())};
}

CertificateRequest make_request() {
  auto key = new_key();
  CertRequest request(X509_REQ_new(), X509_REQ_free);
  X509_REQ_set_version(request.get(), 0);
  X509_REQ_set_pubkey(request.get(), key.get());
  if (!X509_REQ_sign(request.get(), key.get(), EVP_sha256())) fail("cannot sign a request");
  Bio bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!PEM_write_bio_X509_REQ(bio.get(), request.get())) fail("cannot write a request");
  return {pem(key.get()), bio_text(bio.get())};
}

std::string sign_request(const KeyPair& ca, const std::string& request_pem,
                         const std::vector<std::string>& names, int days) {
  Bio bio(BIO_new_mem_buf(request_pem.data(), static_cast<int>(request_pem.size())), BIO_free);
  CertRequest request(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr), X509_REQ_free);
  if (!request) fail("not a PEM certificate request");
  EVP_PKEY* key = X509_REQ_get0_pubkey(request.get());
  // The request proves its sender holds the key; nothing else of it is taken.
  if (!key || X509_REQ_verify(request.get(), key) != 1) fail("the request's signature is wrong");
  auto ca_cert = read_cert(ca.cert_pem);
  auto ca_key = read_key(ca.key_pem);
  auto cert = sign("", key, ca_cert.get(), ca_key.get(), days, false, names);
  return pem(cert.get());
}

bool issued_by(const std::string& ca_pem, const std::string& cert_pem) {
  try {
    auto ca = read_cert(ca_pem);
    auto cert = read_cert(cert_pem);
    return X509_check_issued(ca.get(), cert.get()) == X509_V_OK &&
           X509_verify(cert.get(), X509_get0_pubkey(ca.get())) == 1;
  } catch (const std::exception&) {
    return false;
  }
}

std::string fingerprint(const std::string& cert_pem) {
  auto cert = read_cert(cert_pem);
  unsigned char* der = nullptr;
  int size = i2d_X509(cert.get(), &der);
  if (size <= 0) fail("cannot encode a certificate");
  std::string bytes(reinterpret_cast<char*>(der), static_cast<size_t>(size));
  OPENSSL_free(der);
  return util::sha256_hex(bytes);
}

bool is_loopback_listen(const std::string& listen) {
  std::string host = listen.substr(0, listen.rfind(':'));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host == "localhost") return true;
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(host, ec);
  return !ec && address.is_loopback();
}

namespace {

// STATE_DIR/tls with the cluster CA in it (made at the first start, its key mode 0600).
KeyPair ensure_ca(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  fs::permissions(dir, fs::perms::owner_all);
  fs::path ca_cert = dir / "ca.pem", ca_key = dir / "ca-key.pem";
  if (fs::exists(ca_cert) && fs::exists(ca_key))
    return {util::read_file(ca_cert), util::read_file(ca_key)};
  auto ca = make_ca("berth cluster CA");
  util::write_file(ca_key, ca.key_pem, 0600);
  util::write_file(ca_cert, ca.cert_pem, 0644);
  return ca;
}

// Makes cert and key again unless cert is signed by ca and names every one of names.
void ensure_certificate(const KeyPair& ca, const std::string& cert_path,
                        const std::string& key_path, const std::string& common_name,
                        const std::vector<std::string>& names) {
  namespace fs = std::filesystem;
  if (fs::exists(cert_path) && fs::exists(key_path)) {
    auto cert = read_cert(util::read_file(cert_path));
    auto ca_cert = read_cert(ca.cert_pem);
    if (X509_check_issued(ca_cert.get(), cert.get()) == X509_V_OK && names_all(cert.get(), names))
      return;
  }
  auto made = make_certificate(ca, common_name, names);
  util::write_file(key_path, made.key_pem, 0600);
  util::write_file(cert_path, made.cert_pem, 0644);
}

}  // namespace

ServerFiles ensure_server_files(const std::string& state_dir,
                                const std::vector<std::string>& names) {
  auto dir = std::filesystem::path(state_dir) / "tls";
  auto ca = ensure_ca(dir);
  ServerFiles files{(dir / "ca.pem").string(), (dir / "server.pem").string(),
                    (dir / "server-key.pem").string()};
  ensure_certificate(ca, files.cert, files.key, "berth server", names);
  return files;
}

EtcdFiles ensure_etcd_files(const std::string& state_dir) {
  auto dir = std::filesystem::path(state_dir) / "tls";
  auto ca = ensure_ca(dir);
  EtcdFiles files;
  files.ca_cert = (dir / "ca.pem").string();
  files.server_cert = (dir / "etcd.pem").string();
  files.server_key = (dir / "etcd-key.pem").string();
  files.client_cert = (dir / "etcd-client.pem").string();
  files.client_key = (dir / "etcd-client-key.pem").string();
  std::vector<std::string> local{"127.0.0.1", "localhost"};
  // No common name on etcd's own certificate either: its JSON gateway presents it to etcd
  // itself, which would take the name for the user of every request that signs in as nobody.
  ensure_certificate(ca, files.server_cert, files.server_key, "", local);
  std::vector<std::string> none;
  ensure_certificate(ca, files.client_cert, files.client_key, "", none);
  return files;
}

}  // namespace berth::tls
