#include "agent/volume_fill.hpp"

#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <future>
#include <stdexcept>
#include <system_error>

#include "backup/object_store.hpp"
#include "util/encoding.hpp"

namespace berth::agent {

namespace {

[[noreturn]] void fail(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), "restore: " + what);
}

class Fd {
 public:
  explicit Fd(int fd, const std::string& what) : fd_(fd) {
    if (fd_ < 0) fail("cannot open " + what);
  }
  ~Fd() { ::close(fd_); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// The parts of a relative path; refused when one could lead out of the folder.
std::vector<std::string> parts_of(const std::string& path) {
  std::vector<std::string> parts;
  for (size_t at = 0;;) {
    auto slash = path.find('/', at);
    std::string part = path.substr(at, slash == std::string::npos ? slash : slash - at);
    if (part.empty() || part == "." || part == "..")
      throw std::runtime_error("restore: not a plain relative path: " + path);
    parts.push_back(std::move(part));
    if (slash == std::string::npos) return parts;
    at = slash + 1;
  }
}

void write_all(int fd, std::string_view bytes, const std::string& what) {
  while (!bytes.empty()) {
    auto n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("cannot write " + what);
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

// In the kernel: copy_file_range (a reflink where the file system has them), else sendfile
// where the two files are on different file systems. Each step's pages are sent to the disk at
// once, so that the flush at the end has little left to wait for.
void copy_range(int from, int64_t offset, int64_t length, int to, const std::string& what) {
  constexpr int64_t kStep = 16 << 20;
  off_t in = offset;
  bool same_file_system = true;
  for (int64_t left = length, written = 0; left > 0;) {
    auto step = static_cast<size_t>(std::min(left, kStep));
    ssize_t n = same_file_system ? ::copy_file_range(from, &in, to, nullptr, step, 0)
                                 : ::sendfile(to, from, &in, step);
    if (n < 0 && same_file_system &&
        (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
      same_file_system = false;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("cannot copy " + what);
    if (n == 0) throw std::runtime_error("restore: " + what + " is shorter than its catalog says");
    ::sync_file_range(to, written, n, SYNC_FILE_RANGE_WRITE);
    written += n;
    left -= n;
  }
}

std::string hash_range(const std::string& source, int64_t offset, int64_t length) {
  Fd fd(::open(source.c_str(), O_RDONLY | O_CLOEXEC), source);
  ::posix_fadvise(fd.get(), offset, length, POSIX_FADV_SEQUENTIAL);
  util::Sha256 hash;
  std::string buffer(4 << 20, '\0');
  for (int64_t at = offset, end = offset + length; at < end;) {
    auto want = static_cast<size_t>(std::min<int64_t>(end - at, std::ssize(buffer)));
    auto n = ::pread(fd.get(), buffer.data(), want, at);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("cannot read " + source);
    if (n == 0) break;  // shorter: the copy says so
    hash.update(std::string_view(buffer.data(), static_cast<size_t>(n)));
    at += n;
  }
  return hash.hex();
}

void write_file(int dir, const std::string& name, const LocalFile& f, uid_t uid, gid_t gid) {
  Fd out(::openat(dir, name.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, f.mode),
         f.path);
  if (::fchown(out.get(), uid, gid) != 0 || ::fchmod(out.get(), static_cast<mode_t>(f.mode)) != 0)
    fail("cannot hand " + f.path + " to the engine's user");
  std::future<std::string> checksum;
  if (f.source.empty()) {
    write_all(out.get(), f.content, f.path);
  } else {
    Fd in(::open(f.source.c_str(), O_RDONLY | O_CLOEXEC), f.source);
    ::posix_fadvise(in.get(), f.offset, f.length, POSIX_FADV_SEQUENTIAL);
    // The checksum on a thread of its own while the kernel copies: each about a disk's speed.
    if (!f.sha256.empty())
      checksum = std::async(std::launch::async, hash_range, f.source, f.offset, f.length);
    copy_range(in.get(), f.offset, f.length, out.get(), f.path);
  }
  if (::fdatasync(out.get()) != 0) fail("cannot flush " + f.path);
  if (checksum.valid() && checksum.get() != f.sha256) throw backup::ChecksumMismatch();
  // Its name too: a file flushed under a name that is not is lost all the same.
  if (::fsync(dir) != 0) fail("cannot flush the folder of " + f.path);
}

}  // namespace

void fill_directory(const std::string& root, const std::vector<LocalFile>& files) {
  Fd top(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), root);
  struct stat owner {};
  if (::fstat(top.get(), &owner) != 0) fail("cannot stat " + root);
  for (auto& f : files) {
    auto parts = parts_of(f.path);
    // Folders opened one by one without following links: nothing outside root is touched.
    std::vector<std::unique_ptr<Fd>> folders;
    int dir = top.get();
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      if (::mkdirat(dir, parts[i].c_str(), 0755) == 0) {
        if (::fchownat(dir, parts[i].c_str(), owner.st_uid, owner.st_gid, AT_SYMLINK_NOFOLLOW))
          fail("cannot hand " + parts[i] + " to the engine's user");
      } else if (errno != EEXIST) {
        fail("cannot make " + parts[i]);
      }
      folders.push_back(std::make_unique<Fd>(
          ::openat(dir, parts[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC),
          parts[i]));
      dir = folders.back()->get();
    }
    write_file(dir, parts.back(), f, owner.st_uid, owner.st_gid);
    for (auto& folder : folders)  // and the folders made on the way
      if (::fsync(folder->get()) != 0) fail("cannot flush the folders of " + f.path);
  }
  if (::fsync(top.get()) != 0) fail("cannot flush " + root);
}

}  // namespace berth::agent
