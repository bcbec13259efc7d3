// Which listeners may speak plain HTTP, and what a server certificate must name.
#include "up/listen.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace berth::up {
namespace {

bool has(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

TEST(Listen, PlainHttpOnlyOnLoopbackUnlessForced) {
  EXPECT_FALSE(plain_http_refusal("berth server", "127.0.0.1:7070", false, false));
  EXPECT_FALSE(plain_http_refusal("berth server", "0.0.0.0:7070", true, false));
  EXPECT_FALSE(plain_http_refusal("berth server", "0.0.0.0:7070", false, true));
  auto refusal = plain_http_refusal("berth server", "0.0.0.0:7070", false, false);
  ASSERT_TRUE(refusal);
  EXPECT_NE(refusal->find("--tls-cert"), std::string::npos);
  EXPECT_NE(refusal->find("--insecure-http"), std::string::npos);
  EXPECT_TRUE(plain_http_refusal("berth server", "10.0.0.5:7070", false, false));
}

TEST(Listen, CertificateNamesCoverTheListenAddress) {
  auto specific = certificate_names("10.9.8.7:7070");
  EXPECT_TRUE(has(specific, "10.9.8.7"));
  EXPECT_TRUE(has(specific, "127.0.0.1"));
  EXPECT_TRUE(has(specific, "localhost"));
  auto everywhere = certificate_names("0.0.0.0:7070");
  EXPECT_FALSE(has(everywhere, "0.0.0.0"));
  EXPECT_TRUE(has(everywhere, "127.0.0.1"));
}

}  // namespace
}  // namespace berth::up
