#include "engines/rootfs.hpp"

#include <sys/stat.h>

#include <cctype>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <set>
#include <stdexcept>
#include <utility>

#include "util/files.hpp"
#include "util/tar.hpp"

namespace berth::engines {

namespace {

// Every shared library the dynamic linker would load for binary, as ldd lists them.
std::vector<std::string> shared_libraries(const std::string& binary) {
  std::vector<std::string> out;
  FILE* p = popen(("ldd '" + binary + "' 2>/dev/null").c_str(), "r");
  if (!p) throw std::runtime_error("cannot run ldd");
  char line[1024];
  while (fgets(line, sizeof line, p)) {
    std::string s(line);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
    // An image missing a library would only fail when the container starts: fail here.
    if (s.find("=> not found") != std::string::npos) {
      pclose(p);
      throw std::runtime_error(binary + " needs a library this machine lacks: " + s);
    }
    // "libm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2
    // (0x...)"; linux-vdso has no path and is skipped.
    auto arrow = s.find("=> ");
    size_t start = arrow == std::string::npos ? s.find('/') : arrow + 3;
    if (start == std::string::npos || start >= s.size() || s[start] != '/') continue;
    auto end = s.find(' ', start);
    out.push_back(s.substr(start, end == std::string::npos ? std::string::npos : end - start));
  }
  pclose(p);
  return out;
}

// A minimal POSIX ustar writer: enough for a root filesystem of regular files and folders.
class TarWriter {
 public:
  // The folders above it are parents_uid's.
  void directory(const std::string& path, int mode = 0755, int uid = 0, int parents_uid = 0) {
    std::string name = relative(path);
    if (name.empty() || !written_.insert(name + "/").second) return;
    parents(name, parents_uid);
    out_ += util::ustar_header(name + "/", 0, mode, '5', uid, uid);
  }
  void file(const std::string& path, const std::string& content, int mode, int uid = 0,
            int gid = 0) {
    std::string name = relative(path);
    if (!written_.insert(name).second) return;
    parents(name, uid);
    out_ += util::ustar_header(name, static_cast<int64_t>(content.size()), mode, '0', uid, gid);
    out_ += content;
    out_.append((512 - content.size() % 512) % 512, '\0');
  }
  std::string finish() {
    out_.append(1024, '\0');
    return std::move(out_);
  }
  // A file's folders are its owner's.
  void parents(const std::string& name, int uid) {
    for (size_t slash = name.find('/'); slash != std::string::npos;
         slash = name.find('/', slash + 1))
      directory(name.substr(0, slash), 0755, uid, uid);
  }

 private:
  static std::string relative(const std::string& path) { return util::tar_relative(path); }

  std::string out_;
  std::set<std::string> written_;
};

}  // namespace

std::string build_rootfs_tar(const std::vector<std::string>& binaries,
                             const std::vector<std::string>& directories,
                             const std::vector<RootfsFile>& extra_files,
                             const std::vector<std::string>& engine_directories,
                             const std::vector<ImageTree>& trees) {
  TarWriter tar;
  for (auto& binary : binaries) {
    if (!std::filesystem::exists(binary))
      throw std::runtime_error("engine binary not found: " + binary);
    // Symlinks are stored as the files they point to, at the path the loader asks for.
    tar.file(binary, util::read_file(binary), 0755);
    for (auto& lib : shared_libraries(binary)) tar.file(lib, util::read_file(lib), 0755);
  }
  for (auto& tree : trees) {
    if (!std::filesystem::is_directory(tree.path))
      throw std::runtime_error("engine folder not found: " + tree.path);
    for (auto& entry : std::filesystem::recursive_directory_iterator(tree.path)) {
      std::string path = entry.path().string();
      bool skipped = false;
      for (auto& part : tree.skip) skipped = skipped || path.find(part) != std::string::npos;
      if (skipped || !entry.is_regular_file()) continue;  // is_regular_file follows links
      tar.file(path, util::read_file(path), 0644);
      if (path.ends_with(".so"))
        for (auto& lib : shared_libraries(path)) tar.file(lib, util::read_file(lib), 0755);
    }
  }
  for (auto& dir : directories) tar.directory(dir, dir == "/tmp" ? 01777 : 0755);
  for (auto& dir : engine_directories) tar.directory(dir, 0700, kEngineUid);
  for (auto& f : extra_files) tar.file(f.path, f.content, f.mode);
  return tar.finish();
}

std::string make_tar(const std::vector<RootfsFile>& files) {
  TarWriter tar;
  for (auto& f : files) tar.file(f.path, f.content, f.mode, f.uid, f.gid);
  return tar.finish();
}

std::map<std::string, std::string> read_tar(const std::string& tar) {
  std::map<std::string, std::string> files;
  size_t pos = 0;
  auto field = [&](size_t offset, size_t length) {
    std::string s = tar.substr(pos + offset, length);
    return s.substr(0, s.find('\0'));
  };
  std::string long_name;
  while (pos + 512 <= tar.size() && tar[pos] != '\0') {
    size_t size = std::strtoull(field(124, 12).c_str(), nullptr, 8);
    char type = tar[pos + 156];
    std::string name = field(0, 100);
    if (std::string prefix = field(345, 155); !prefix.empty()) name = prefix + "/" + name;
    if (!long_name.empty()) name = std::exchange(long_name, "");
    if (pos + 512 + size > tar.size()) throw std::runtime_error("tar: truncated");
    std::string content = tar.substr(pos + 512, size);
    if (type == 'L')
      long_name = content.substr(0, content.find('\0'));  // GNU: the next entry's long name
    else if (type == '0' || type == '\0')
      files[name] = std::move(content);
    pos += 512 + (size + 511) / 512 * 512;
  }
  return files;
}

}  // namespace berth::engines
