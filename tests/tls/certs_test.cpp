// The cluster CA: certificates it signs name what they must, keys stay private, and the files
// made at a first start are kept at the next (a server certificate is remade only for new names).
#include "tls/certs.hpp"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace berth::tls {
namespace {

namespace fs = std::filesystem;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(Certs, FingerprintIsTheSha256OfTheCertificate) {
  auto ca = make_ca("test CA");
  auto other = make_ca("test CA");
  EXPECT_EQ(fingerprint(ca.cert_pem).size(), 64u);
  EXPECT_EQ(fingerprint(ca.cert_pem), fingerprint(ca.cert_pem));
  EXPECT_NE(fingerprint(ca.cert_pem), fingerprint(other.cert_pem));  // a new key, a new hash
  EXPECT_THROW(fingerprint("not a certificate"), std::runtime_error);
}

// The certificate a joining host gets: for the key it made and the names the server chose,
// signed by the cluster CA and by no other; a request that is damaged or not one is refused.
TEST(Certs, ARequestIsSignedForItsKeyAndTheGivenNamesOnly) {
  auto ca = make_ca("test CA");
  auto request = make_request();
  EXPECT_NE(request.key_pem.find("PRIVATE KEY"), std::string::npos);
  auto cert = sign_request(ca, request.request_pem, {"h4", "10.77.0.14"});
  EXPECT_TRUE(issued_by(ca.cert_pem, cert));
  EXPECT_FALSE(issued_by(make_ca("test CA").cert_pem, cert));
  EXPECT_FALSE(issued_by(ca.cert_pem, "not a certificate"));
  BIO* bio = BIO_new_mem_buf(cert.data(), static_cast<int>(cert.size()));
  X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(X509_check_host(x, "h4", 2, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(x, "10.77.0.14", 0), 1);
  EXPECT_NE(X509_check_ip_asc(x, "10.77.0.15", 0), 1);
  // No common name: etcd's gateway takes the certificate as a client's.
  EXPECT_EQ(X509_NAME_get_index_by_NID(X509_get_subject_name(x), NID_commonName, -1), -1);
  // The certificate is for the request's key: the key the host kept matches it.
  BIO* key_bio = BIO_new_mem_buf(request.key_pem.data(), static_cast<int>(request.key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
  BIO_free(key_bio);
  EXPECT_EQ(X509_check_private_key(x, key), 1);
  EVP_PKEY_free(key);
  X509_free(x);

  // A byte of the signature (the end of the DER) changed.
  auto damaged = request.request_pem;
  auto at = damaged.rfind("\n-----END") - 10;
  ASSERT_NE(damaged[at], '\n');
  damaged[at] = damaged[at] == 'A' ? 'B' : 'A';
  EXPECT_THROW(sign_request(ca, damaged, {"h4"}), std::runtime_error);
  EXPECT_THROW(sign_request(ca, "not a request", {"h4"}), std::runtime_error);
}

TEST(Certs, ServerFilesAreMadeOnceAndRemadeForNewNames) {
  fs::path dir = fs::temp_directory_path() / ("berth-certs-test-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  auto files = ensure_server_files(dir.string(), {"127.0.0.1", "localhost"});
  struct stat key {};
  ASSERT_EQ(::stat(files.key.c_str(), &key), 0);
  EXPECT_EQ(key.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((dir / "tls" / "ca-key.pem").c_str(), &key), 0);
  EXPECT_EQ(key.st_mode & 0777, 0600u);
  std::string ca = slurp(files.ca_cert), cert = slurp(files.cert);
  EXPECT_NE(ca.find("BEGIN CERTIFICATE"), std::string::npos);

  auto again = ensure_server_files(dir.string(), {"localhost"});
  EXPECT_EQ(slurp(again.ca_cert), ca);
  EXPECT_EQ(slurp(again.cert), cert);  // already names localhost

  auto wider = ensure_server_files(dir.string(), {"10.1.2.3", "berth.example"});
  EXPECT_EQ(slurp(wider.ca_cert), ca);  // the CA stays: clients keep trusting it
  EXPECT_NE(slurp(wider.cert), cert);
  fs::remove_all(dir);
}

TEST(Certs, LoopbackListenAddresses) {
  EXPECT_TRUE(is_loopback_listen("127.0.0.1:7070"));
  EXPECT_TRUE(is_loopback_listen("127.0.0.5:7070"));
  EXPECT_TRUE(is_loopback_listen("localhost:7070"));
  EXPECT_TRUE(is_loopback_listen("[::1]:7070"));
  EXPECT_FALSE(is_loopback_listen("0.0.0.0:7070"));
  EXPECT_FALSE(is_loopback_listen(":7070"));
  EXPECT_FALSE(is_loopback_listen("10.0.0.5:7070"));
  EXPECT_FALSE(is_loopback_listen("[::]:7070"));
  EXPECT_FALSE(is_loopback_listen("berth.example:7070"));
}

}  // namespace
}  // namespace berth::tls
