#include "backup/store.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "util/encoding.hpp"

namespace berth::backup {

namespace {

// Writes DIR/.partial-RANDOM, hashing as it goes; commit flushes it and renames it to
// DIR/<sha256>.
class DirectoryWriter : public Writer {
 public:
  explicit DirectoryWriter(std::string dir)
      : dir_(std::move(dir)), temp_(dir_ + "/.partial-" + util::random_hex(8)) {
    fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd_ < 0) throw std::runtime_error("backup store: cannot write " + temp_);
    hash_ = EVP_MD_CTX_new();
    EVP_DigestInit_ex(hash_, EVP_sha256(), nullptr);
  }
  ~DirectoryWriter() override {
    if (fd_ >= 0) {
      ::close(fd_);
      std::error_code ignored;
      std::filesystem::remove(temp_, ignored);
    }
    EVP_MD_CTX_free(hash_);
  }

  void write(std::string_view piece) override {
    EVP_DigestUpdate(hash_, piece.data(), piece.size());
    size_ += static_cast<int64_t>(piece.size());
    while (!piece.empty()) {
      auto n = ::write(fd_, piece.data(), piece.size());
      if (n <= 0) throw std::runtime_error("backup store: short write to " + temp_);
      piece.remove_prefix(static_cast<size_t>(n));
    }
    // Start writing back what has piled up, so that the fsync at commit has little left.
    if (size_ - flushed_ >= kWritebackStep) {
      ::sync_file_range(fd_, flushed_, size_ - flushed_, SYNC_FILE_RANGE_WRITE);
      flushed_ = size_;
    }
  }

  std::string commit() override {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(hash_, digest, &len);
    std::string sha = util::hex(std::string_view(reinterpret_cast<char*>(digest), len));
    if (::fsync(fd_) != 0) throw std::runtime_error("backup store: cannot flush " + temp_);
    ::close(fd_);
    fd_ = -1;
    // The same bytes may be there already: the rename replaces them with themselves.
    std::filesystem::rename(temp_, dir_ + "/" + sha);
    return sha;
  }

  int64_t size() const override { return size_; }

 private:
  std::string dir_, temp_;
  int fd_ = -1;
  EVP_MD_CTX* hash_ = nullptr;
  int64_t size_ = 0;
  int64_t flushed_ = 0;
  static constexpr int64_t kWritebackStep = 16 << 20;
};

class DirectoryStore : public Store {
 public:
  explicit DirectoryStore(std::string directory) : dir_(std::move(directory)) {
    std::filesystem::create_directories(dir_);
  }

  std::unique_ptr<Writer> writer() override { return std::make_unique<DirectoryWriter>(dir_); }

  std::string put(const std::string& data) override {
    auto w = writer();
    w->write(data);
    return w->commit();
  }

  std::optional<std::string> get(const std::string& sha256) const override {
    std::ifstream in(path(sha256), std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
  }

  void remove(const std::string& sha256) override { std::filesystem::remove(path(sha256)); }

  std::string describe() const override { return "directory " + dir_; }

 private:
  std::string path(const std::string& sha256) const {
    if (sha256.find_first_not_of("0123456789abcdef") != std::string::npos || sha256.empty())
      throw std::runtime_error("backup store: not a checksum: " + sha256);
    return dir_ + "/" + sha256;
  }

  std::string dir_;
};

}  // namespace

std::unique_ptr<Store> open_directory_store(const std::string& directory) {
  return std::make_unique<DirectoryStore>(directory);
}

}  // namespace berth::backup
