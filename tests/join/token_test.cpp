#include "join/token.hpp"

#include <gtest/gtest.h>

#include "util/encoding.hpp"

namespace berth::join {
namespace {

const std::string kHash(64, 'a');

Token sample() {
  return {"bjoin-0123abcd", "0123456789abcdef0123456789abcdef", kHash};
}

TEST(JoinToken, TextRoundTrips) {
  auto text = format(sample());
  EXPECT_EQ(text, "bjoin-0123abcd.0123456789abcdef0123456789abcdef." + kHash);
  auto back = parse(text);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->id, "bjoin-0123abcd");
  EXPECT_EQ(back->secret, sample().secret);
  EXPECT_EQ(back->ca_sha256, kHash);
}

TEST(JoinToken, ParseRefusesAnythingElse) {
  auto good = format(sample());
  for (std::string bad :
       {std::string(), std::string("bjoin-0123abcd"), good + ".x", good.substr(0, good.size() - 1),
        "tok-0123abcd" + good.substr(14), "bjoin-0123ABCD" + good.substr(14),
        good.substr(0, 15) + "g" + good.substr(16), std::string("bjoin-0123abcd..") + kHash})
    EXPECT_FALSE(parse(bad)) << bad;
}

model::JoinToken record_for(const Token& t, const std::string& expires_at) {
  return {t.id, util::sha256_hex(t.secret), "2026-11-29T00:00:00Z", expires_at, "admin"};
}

TEST(JoinToken, OnlyAKnownUnexpiredTokenWithItsSecretJoins) {
  auto t = sample();
  std::time_t now = model::parse_time("2026-11-29T10:00:00Z");
  auto record = record_for(t, "2026-11-29T11:00:00Z");
  EXPECT_EQ(refusal(&record, t, now), std::nullopt);
  EXPECT_EQ(refusal(nullptr, t, now), "join token bjoin-0123abcd is unknown or already used");
  auto expired = record_for(t, "2026-11-29T10:00:00Z");
  EXPECT_EQ(refusal(&expired, t, now), "join token bjoin-0123abcd has expired");
  auto wrong = t;
  wrong.secret = std::string(32, 'f');
  EXPECT_EQ(refusal(&record, wrong, now), "join token bjoin-0123abcd: wrong secret");
}

TEST(JoinToken, HostNames) {
  for (auto good : {"h1", "db-7", "node.example.com", "A_b"}) EXPECT_TRUE(valid_host_name(good));
  for (auto bad : {"", "-h", ".h", "a/b", "a b", "h\n", std::string(64, 'a').c_str()})
    EXPECT_FALSE(valid_host_name(bad)) << bad;
}

}  // namespace
}  // namespace berth::join
