#include "backup/store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "util/encoding.hpp"

namespace berth::backup {

namespace {

class DirectoryStore : public Store {
 public:
  explicit DirectoryStore(std::string directory) : dir_(std::move(directory)) {
    std::filesystem::create_directories(dir_);
  }

  std::string put(const std::string& data) override {
    std::string sha = util::sha256_hex(data);
    auto final_path = path(sha);
    if (std::filesystem::exists(final_path)) return sha;  // the same bytes are there already
    auto temp = final_path + ".partial-" + util::random_hex(4);
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) throw std::runtime_error("backup store: cannot write " + temp);
    size_t written = 0;
    while (written < data.size()) {
      auto n = ::write(fd, data.data() + written, data.size() - written);
      if (n <= 0) {
        ::close(fd);
        std::filesystem::remove(temp);
        throw std::runtime_error("backup store: short write to " + temp);
      }
      written += static_cast<size_t>(n);
    }
    ::fsync(fd);
    ::close(fd);
    std::filesystem::rename(temp, final_path);
    return sha;
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
