// A restore's files written straight into a folder: content and ranges land whole, owned as the
// folder is; a damaged source or a path that leads out of the folder is refused.
#include "agent/volume_fill.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "backup/object_store.hpp"
#include "util/encoding.hpp"
#include "util/files.hpp"

namespace berth::agent {
namespace {

namespace fs = std::filesystem;

class VolumeFill : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("berth-fill-" + std::to_string(getpid()) + "-" + util::random_hex(4));
    fs::create_directories(dir_ / "volume");
    source_ = (dir_ / "object").string();
    data_.resize(9 << 20);  // more than one piece of the hash
    for (size_t i = 0; i < data_.size(); ++i) data_[i] = static_cast<char>((i * 131 + i / 7));
    std::ofstream(source_, std::ios::binary) << data_;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string volume() const { return (dir_ / "volume").string(); }

  fs::path dir_;
  std::string source_, data_;
};

TEST_F(VolumeFill, WritesContentAndCheckedRangesWithTheirModes) {
  std::vector<LocalFile> files{
      {"dump.rdb", 0600, "", source_, 0, std::ssize(data_), util::sha256_hex(data_)},
      {"appendonlydir/part.aof", 0640, "", source_, 100, 5000, ""},
      {"appendonlydir/manifest", 0644, "file part.aof seq 1 type b\n", "", 0, 0, ""},
  };
  fill_directory(volume(), files);
  EXPECT_EQ(util::read_file(volume() + "/dump.rdb"), data_);
  EXPECT_EQ(util::read_file(volume() + "/appendonlydir/part.aof"), data_.substr(100, 5000));
  EXPECT_EQ(util::read_file(volume() + "/appendonlydir/manifest"), "file part.aof seq 1 type b\n");
  struct stat st {};
  ASSERT_EQ(::stat((volume() + "/dump.rdb").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  struct stat folder {};
  ASSERT_EQ(::stat(volume().c_str(), &folder), 0);
  EXPECT_EQ(st.st_uid, folder.st_uid);
  ASSERT_EQ(::stat((volume() + "/appendonlydir").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_gid, folder.st_gid);
}

TEST_F(VolumeFill, ADamagedSourceIsRefused) {
  std::string wrong = util::sha256_hex(data_ + "x");
  std::vector<LocalFile> files{{"dump.rdb", 0600, "", source_, 0, std::ssize(data_), wrong}};
  EXPECT_THROW(fill_directory(volume(), files), backup::ChecksumMismatch);
}

TEST_F(VolumeFill, ASourceShorterThanItsRangeIsRefused) {
  std::vector<LocalFile> files{{"dump.rdb", 0600, "", source_, 0, std::ssize(data_) + 10, ""}};
  EXPECT_THROW(fill_directory(volume(), files), std::runtime_error);
}

TEST_F(VolumeFill, PathsThatLeadOutOfTheFolderAreRefused) {
  fs::create_directory_symlink(dir_, dir_ / "volume" / "link");
  for (std::string path : {"../escape", "a/../../escape", "/etc/escape", "a//b", "link/escape"}) {
    std::vector<LocalFile> files{{path, 0644, "x", "", 0, 0, ""}};
    EXPECT_ANY_THROW(fill_directory(volume(), files)) << path;
  }
  EXPECT_FALSE(fs::exists(dir_ / "escape"));
}

}  // namespace
}  // namespace berth::agent
