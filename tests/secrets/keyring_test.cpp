// Sealing: what etcd would hold opens only with the key, says nothing of the secret, stays the
// same text for the same secret, and fails on any change; records seal their passwords.
#include "secrets/keyring.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "model/model.hpp"
#include "util/encoding.hpp"

namespace berth::secrets {
namespace {

namespace fs = std::filesystem;

Keyring ring(char fill) {
  return Keyring({std::string(32, fill)});
}

TEST(Keyring, SealsAndOpens) {
  auto k = ring('a');
  auto sealed = k.seal("hunter2-password");
  EXPECT_TRUE(Keyring::is_sealed(sealed));
  EXPECT_EQ(sealed.find("hunter2"), std::string::npos);
  EXPECT_EQ(k.open(sealed), "hunter2-password");
  EXPECT_EQ(k.seal("hunter2-password"), sealed);  // one secret, one text
  EXPECT_NE(k.seal("hunter3-password"), sealed);
  EXPECT_EQ(k.open(k.seal("")), "");
}

// What an idempotent request leaves in etcd of its body: the same for the same text, another for
// another text or another key, and not the plain sha256 anyone could test guesses against.
TEST(Keyring, AFingerprintNeedsTheKey) {
  auto k = ring('a');
  std::string body = R"(POST /v1/databases {"password":"hunter2-password"})";
  EXPECT_EQ(k.fingerprint(body).size(), 64u);
  EXPECT_EQ(k.fingerprint(body), k.fingerprint(body));
  EXPECT_NE(k.fingerprint(body), k.fingerprint(body + " "));
  EXPECT_NE(k.fingerprint(body), ring('b').fingerprint(body));
  EXPECT_NE(k.fingerprint(body), util::sha256_hex(body));
}

TEST(Keyring, OnlyTheRightKeyOpensAndAnyChangeFails) {
  auto k = ring('a');
  auto sealed = k.seal("hunter2-password");
  EXPECT_FALSE(ring('b').open(sealed));
  EXPECT_FALSE(k.open("hunter2-password"));  // not sealed at all
  for (size_t i = std::string("sealed:v1:").size(); i < sealed.size(); ++i) {
    std::string changed = sealed;
    changed[i] = changed[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(k.open(changed)) << "changed at " << i;
  }
  EXPECT_FALSE(k.open(sealed.substr(0, sealed.size() - 4)));
}

TEST(Keyring, ARotatedRingOpensOldTextsAndSealsWithTheNewKey) {
  auto old_ring = ring('a');
  auto sealed_before = old_ring.seal("pw-before");
  Keyring rotated({std::string(32, 'n'), std::string(32, 'a')});
  EXPECT_EQ(rotated.open(sealed_before), "pw-before");
  EXPECT_NE(rotated.sealing_key_id(), old_ring.sealing_key_id());
  EXPECT_TRUE(rotated.has_key(old_ring.sealing_key_id()));
  EXPECT_NE(rotated.seal("pw-after").find(rotated.sealing_key_id()), std::string::npos);
}

TEST(Keyring, KeyFilesAreMadeOnceAndPrivate) {
  fs::path dir = fs::temp_directory_path() / ("berth-keyring-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  auto path = (dir / "secrets.key").string();
  auto first = Keyring::load_or_create(path);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = Keyring::load_or_create(path);
  EXPECT_EQ(first.sealing_key_id(), again.sealing_key_id());
  EXPECT_EQ(again.open(first.seal("x-secret")), "x-secret");
  std::ofstream(dir / "bad.key") << "not-a-key\n";
  try {
    Keyring::load((dir / "bad.key").string());
    ADD_FAILURE() << "a bad key file loaded";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.key:1"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

// The keyring is the process' own: each test that sets one puts back none.
struct WithKeyring {
  explicit WithKeyring(char fill) { model::set_keyring(std::make_shared<Keyring>(ring(fill))); }
  ~WithKeyring() { model::set_keyring(nullptr); }
};

TEST(SealedRecords, PasswordsAreSealedInTheirJsonAndPlainInMemory) {
  model::Database db;
  db.id = "d1";
  db.password = "plain-Pa55word";
  model::Allocation a;
  a.password = db.password;
  std::string plain_json = model::dump(db);
  EXPECT_NE(plain_json.find("plain-Pa55word"), std::string::npos);  // no keyring: as before
  {
    WithKeyring keys('k');
    for (auto& text : {model::dump(db), model::dump(a)}) {
      EXPECT_EQ(text.find("plain-Pa55word"), std::string::npos) << text;
      EXPECT_NE(text.find("sealed:v1:"), std::string::npos) << text;
    }
    EXPECT_EQ(model::dump(db), model::dump(db));  // a rewrite compares equal
    auto back = model::parse<model::Database>(model::dump(db));
    EXPECT_EQ(back.password, "plain-Pa55word");
    // A record from before sealing reads as it was.
    EXPECT_EQ(model::parse<model::Database>(plain_json).password, "plain-Pa55word");
  }
  // Sealed under a key this process lacks: kept as read, and written back unchanged.
  std::string sealed_json;
  {
    WithKeyring keys('k');
    sealed_json = model::dump(db);
  }
  WithKeyring other('o');
  auto kept = model::parse<model::Database>(sealed_json);
  EXPECT_TRUE(Keyring::is_sealed(kept.password));
  EXPECT_EQ(model::dump(kept), sealed_json);
}

}  // namespace
}  // namespace berth::secrets
