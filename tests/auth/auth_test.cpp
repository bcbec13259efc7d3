#include "auth/auth.hpp"

#include <gtest/gtest.h>

#include "util/encoding.hpp"

namespace berth::auth {
namespace {

using model::TokenRole;

Caller of(TokenRole role, std::string project = "team-a") {
  return Caller{"tok-00000001", "t", role == TokenRole::operator_ ? "" : project, role, ""};
}

TEST(Permissions, EachRoleDoesWhatItsRowSays) {
  struct Row {
    TokenRole role;
    bool discovery, read, write, remove, tokens, cluster;
  };
  for (auto row : {Row{TokenRole::viewer, false, true, false, false, false, false},
                   Row{TokenRole::member, false, true, true, false, false, false},
                   Row{TokenRole::admin, false, true, true, true, true, false},
                   Row{TokenRole::operator_, true, true, true, true, true, true},
                   Row{TokenRole::metrics, true, false, false, false, false, false}}) {
    auto caller = of(row.role);
    SCOPED_TRACE(model::to_string(row.role));
    EXPECT_EQ(!refusal(caller, Need::discovery), row.discovery);
    EXPECT_EQ(!refusal(caller, Need::read), row.read);
    EXPECT_EQ(!refusal(caller, Need::write), row.write);
    EXPECT_EQ(!refusal(caller, Need::remove), row.remove);
    EXPECT_EQ(!refusal(caller, Need::tokens), row.tokens);
    EXPECT_EQ(!refusal(caller, Need::cluster), row.cluster);
  }
}

TEST(Permissions, ARefusalNamesTheRoleNeededAndTheOneHeld) {
  EXPECT_EQ(*refusal(of(TokenRole::viewer), Need::write),
            "forbidden: this needs role member (this token's role is viewer)");
  EXPECT_EQ(*refusal(of(TokenRole::member), Need::remove),
            "forbidden: this needs role admin (this token's role is member)");
  EXPECT_NE(refusal(of(TokenRole::admin), Need::cluster)->find("operator token"),
            std::string::npos);
}

TEST(Permissions, AProjectTokenSeesOnlyItsProject) {
  EXPECT_TRUE(sees(of(TokenRole::viewer), "team-a"));
  EXPECT_FALSE(sees(of(TokenRole::admin), "team-b"));
  EXPECT_TRUE(sees(of(TokenRole::operator_), "team-b"));
  EXPECT_FALSE(sees(of(TokenRole::metrics, ""), "default"));
  EXPECT_FALSE(sees(of(TokenRole::metrics, ""), ""));
}

class Identify : public ::testing::Test {
 protected:
  std::map<std::string, model::Token> tokens;
  std::string admin = util::sha256_hex("plainadmintoken");
  int hashes = 0;

  std::variant<Caller, std::string> who(std::string header, std::time_t now = 1'800'000'000) {
    return identify(
        header, admin,
        [&](const std::string& id) -> const model::Token* {
          auto it = tokens.find(id);
          return it == tokens.end() ? nullptr : &it->second;
        },
        [&](std::string_view s) {
          ++hashes;
          return util::sha256_hex(s);
        },
        now);
  }
  NewSecret add(TokenRole role, std::string project, std::string expires = "") {
    auto s = make_secret();
    tokens[s.id] = model::Token{s.id, util::sha256_hex(s.secret), project, role, "ci", "", expires};
    return s;
  }
};

TEST_F(Identify, TheAdminTokenIsAnOperatorInEitherForm) {
  for (auto header : {"Bearer plainadmintoken", "plainadmintoken"}) {
    auto caller = std::get<Caller>(who(header));
    EXPECT_TRUE(caller.is_operator());
    EXPECT_EQ(caller.token_id, "admin");
  }
  EXPECT_TRUE(std::holds_alternative<std::string>(who("Bearer plainadmintokeN")));
  EXPECT_TRUE(std::holds_alternative<std::string>(who("")));
  EXPECT_TRUE(std::holds_alternative<std::string>(who("Bearer ")));
}

TEST_F(Identify, AProjectTokenNamesItsProjectAndRole) {
  auto s = add(TokenRole::member, "team-a");
  auto caller = std::get<Caller>(who("Bearer " + s.secret));
  EXPECT_EQ(caller.token_id, s.id);
  EXPECT_EQ(caller.project, "team-a");
  EXPECT_EQ(caller.role, TokenRole::member);
  EXPECT_EQ(s.secret.substr(0, s.id.size() + 1), s.id + ".");
}

TEST_F(Identify, AWrongSecretRevokedOrExpiredTokenIsRefused) {
  auto s = add(TokenRole::admin, "team-a", "2027-06-01T00:00:00Z");
  auto wrong = s.secret;
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  EXPECT_TRUE(std::holds_alternative<std::string>(who("Bearer " + wrong)));
  EXPECT_TRUE(std::holds_alternative<Caller>(who("Bearer " + s.secret, 1'800'000'000)));
  auto expired = who("Bearer " + s.secret, model::parse_time("2027-06-01T00:00:01Z"));
  ASSERT_TRUE(std::holds_alternative<std::string>(expired));
  EXPECT_NE(std::get<std::string>(expired).find("expired"), std::string::npos);
  tokens.erase(s.id);  // revoked
  EXPECT_TRUE(std::holds_alternative<std::string>(who("Bearer " + s.secret)));
}

TEST_F(Identify, AMadeUpIdIsNeitherLookedUpNorHashed) {
  hashes = 0;
  EXPECT_TRUE(std::holds_alternative<std::string>(who("Bearer ../../x.y")));
  EXPECT_TRUE(std::holds_alternative<std::string>(who("Bearer tok-zzzzzzzz.abc")));
  EXPECT_EQ(hashes, 0);
}

}  // namespace
}  // namespace berth::auth
