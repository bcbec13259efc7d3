// The cluster CA: certificates it signs name what they must, keys stay private, and the files
// made at a first start are kept at the next (a server certificate is remade only for new names).
#include "tls/certs.hpp"

#include <gtest/gtest.h>
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
