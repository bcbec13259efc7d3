#include "backup/object_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <filesystem>

#include "backup/offload.hpp"
#include "util/encoding.hpp"

namespace berth::backup {

namespace asio = boost::asio;

namespace {

using util::Sha256;

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

// Reads up to max bytes at offset; fewer only at the end of the file.
std::string read_at(int fd, int64_t offset, size_t max, const std::string& what) {
  std::string out(max, '\0');
  size_t got = 0;
  while (got < max) {
    auto n = ::pread(fd, out.data() + got, max - got, offset + static_cast<int64_t>(got));
    if (n < 0) throw std::runtime_error("backup store: cannot read " + what);
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  out.resize(got);
  return out;
}

// The file being written and its running hash; shared with the pool's jobs, so a job that
// outlives its writer still has them.
struct Partial {
  std::string dir, temp;
  Fd fd{-1};
  Sha256 hash;
  int64_t size = 0, flushed = 0;
  bool committed = false;
  ~Partial() {
    if (!committed && fd.fd >= 0) {
      std::error_code ignored;
      std::filesystem::remove(temp, ignored);
    }
  }
};

// Writes DIR/.partial-RANDOM, hashing as it goes; commit flushes it and renames it to
// DIR/<sha256>.
class DirectoryWriter : public ObjectWriter {
 public:
  DirectoryWriter(asio::thread_pool& pool, std::shared_ptr<Partial> p)
      : pool_(pool), p_(std::move(p)) {}

  asio::awaitable<void> write(std::string piece) override {
    size_ += static_cast<int64_t>(piece.size());
    auto job = [p = p_, piece = std::move(piece)] {
      p->hash.update(piece);
      std::string_view rest = piece;
      while (!rest.empty()) {
        auto n = ::write(p->fd.fd, rest.data(), rest.size());
        if (n <= 0) throw std::runtime_error("backup store: short write to " + p->temp);
        rest.remove_prefix(static_cast<size_t>(n));
      }
      p->size += static_cast<int64_t>(piece.size());
      // Start writing back what has piled up, so that the fsync at commit has little left.
      if (p->size - p->flushed >= kWritebackStep) {
        ::sync_file_range(p->fd.fd, p->flushed, p->size - p->flushed, SYNC_FILE_RANGE_WRITE);
        p->flushed = p->size;
      }
    };
    co_await offload(pool_, std::move(job));
  }

  asio::awaitable<std::string> commit() override {
    auto job = [p = p_] {
      std::string sha = p->hash.hex();
      if (::fsync(p->fd.fd) != 0) throw std::runtime_error("backup store: cannot flush " + p->temp);
      // The same bytes may be there already: the rename replaces them with themselves.
      std::filesystem::rename(p->temp, p->dir + "/" + sha);
      p->committed = true;
      return sha;
    };
    co_return co_await offload(pool_, std::move(job));
  }

  int64_t size() const override { return size_; }

 private:
  static constexpr int64_t kWritebackStep = 16 << 20;
  asio::thread_pool& pool_;
  std::shared_ptr<Partial> p_;
  int64_t size_ = 0;
};

struct Open {
  std::string path, sha256;
  Fd fd{-1};
  int64_t offset = 0, end = 0, position = 0;
  bool whole = false;
  Sha256 hash;
};

// Reads the next piece (checking the hash when the reader covers the whole object).
std::string read_piece(Open& o, size_t max_bytes) {
  size_t want = static_cast<size_t>(std::min<int64_t>(max_bytes, o.end - o.position));
  auto piece = read_at(o.fd.fd, o.position, want, o.path);
  if (piece.size() < want) throw std::runtime_error("backup store: " + o.path + " shrank");
  o.position += static_cast<int64_t>(piece.size());
  if (o.whole) {
    o.hash.update(piece);
    if (o.position == o.end && o.hash.hex() != o.sha256) throw ChecksumMismatch();
  }
  return piece;
}

// A piece being read on the pool while the caller sends the last one.
struct Ahead {
  explicit Ahead(asio::any_io_executor ex) : ready(ex, asio::steady_timer::time_point::max()) {}
  asio::steady_timer ready;  // cancelled when done
  bool done = false;
  std::string piece;
  std::exception_ptr error;
};

// Reads piece by piece, one piece ahead: the next piece is read and hashed on the pool while
// the caller writes the last one out, so disk, hash and network overlap. Two pieces in memory.
class DirectoryReader : public ObjectReader {
 public:
  DirectoryReader(asio::thread_pool& pool, std::shared_ptr<Open> o)
      : pool_(pool), o_(std::move(o)) {}

  int64_t size() const override { return o_->end - o_->offset; }

  asio::awaitable<std::string> read(size_t max_bytes) override {
    auto executor = co_await asio::this_coro::executor;
    if (!ahead_) {
      if (o_->position >= o_->end) co_return std::string();
      start(executor, max_bytes);
    }
    auto ahead = std::move(ahead_);
    while (!ahead->done) co_await ahead->ready.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ahead->error) std::rethrow_exception(ahead->error);
    if (o_->position < o_->end) start(executor, max_bytes);
    co_return std::move(ahead->piece);
  }

 private:
  void start(asio::any_io_executor executor, size_t max_bytes) {
    auto ahead = std::make_shared<Ahead>(executor);
    auto job = [o = o_, max_bytes] { return read_piece(*o, max_bytes); };
    asio::co_spawn(executor, offload(pool_, std::move(job)),
                   [ahead](std::exception_ptr error, std::string piece) {
                     ahead->error = error;
                     ahead->piece = std::move(piece);
                     ahead->done = true;
                     ahead->ready.cancel();
                   });
    ahead_ = std::move(ahead);
  }

  asio::thread_pool& pool_;
  std::shared_ptr<Open> o_;
  std::shared_ptr<Ahead> ahead_;
};

class DirectoryStore : public ObjectStore {
 public:
  DirectoryStore(std::string directory, int threads)
      : dir_(std::move(directory)), pool_(static_cast<size_t>(threads)) {}
  ~DirectoryStore() override { pool_.join(); }

  asio::awaitable<std::unique_ptr<ObjectWriter>> writer() override {
    auto job = [dir = dir_] {
      std::filesystem::create_directories(dir);  // made by the first backup, not at start-up
      auto p = std::make_shared<Partial>();
      p->dir = dir;
      p->temp = dir + "/.partial-" + util::random_hex(8);
      p->fd.fd = ::open(p->temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      if (p->fd.fd < 0) throw std::runtime_error("backup store: cannot write " + p->temp);
      return p;
    };
    auto p = co_await offload(pool_, std::move(job));
    co_return std::make_unique<DirectoryWriter>(pool_, std::move(p));
  }

  asio::awaitable<std::string> put(std::string data) override {
    auto w = co_await writer();
    co_await w->write(std::move(data));
    co_return co_await w->commit();
  }

  asio::awaitable<std::unique_ptr<ObjectReader>> open(const std::string& sha256, int64_t offset,
                                                      int64_t length) override {
    auto job = [path = path(sha256), sha256, offset, length] {
      auto o = std::make_shared<Open>();
      o->path = path;
      o->sha256 = sha256;
      o->fd.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (o->fd.fd < 0) return std::shared_ptr<Open>();
      struct stat st {};
      if (::fstat(o->fd.fd, &st) != 0)
        throw std::runtime_error("backup store: cannot stat " + path);
      ::posix_fadvise(o->fd.fd, 0, 0, POSIX_FADV_SEQUENTIAL);
      o->offset = o->position = std::min<int64_t>(offset, st.st_size);
      o->end = length < 0 ? st.st_size : std::min<int64_t>(st.st_size, o->offset + length);
      o->whole = o->offset == 0 && o->end == st.st_size;
      return o;
    };
    auto o = co_await offload(pool_, std::move(job));
    if (!o) co_return nullptr;
    co_return std::make_unique<DirectoryReader>(pool_, std::move(o));
  }

  asio::awaitable<std::optional<int64_t>> size(const std::string& sha256) override {
    auto job = [path = path(sha256)]() -> std::optional<int64_t> {
      std::error_code ec;
      auto n = std::filesystem::file_size(path, ec);
      if (ec) return std::nullopt;
      return static_cast<int64_t>(n);
    };
    co_return co_await offload(pool_, std::move(job));
  }

  asio::awaitable<Check> check(const std::string& sha256) override {
    auto job = [path = path(sha256), sha256] {
      Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      if (fd.fd < 0) return Check::missing;
      ::posix_fadvise(fd.fd, 0, 0, POSIX_FADV_SEQUENTIAL);
      Sha256 hash;
      std::string buffer(4 << 20, '\0');
      for (;;) {
        auto n = ::read(fd.fd, buffer.data(), buffer.size());
        if (n < 0) throw std::runtime_error("backup store: cannot read " + path);
        if (n == 0) break;
        hash.update(std::string_view(buffer.data(), static_cast<size_t>(n)));
      }
      return hash.hex() == sha256 ? Check::ok : Check::damaged;
    };
    co_return co_await offload(pool_, std::move(job));
  }

  asio::awaitable<void> remove(const std::string& sha256) override {
    auto job = [path = path(sha256)] {
      std::error_code ignored;
      std::filesystem::remove(path, ignored);
    };
    co_await offload(pool_, std::move(job));
  }

  std::string describe() const override { return "directory " + dir_; }

  std::string local_path(const std::string& sha256) const override { return path(sha256); }

 private:
  std::string path(const std::string& sha256) const {
    if (sha256.find_first_not_of("0123456789abcdef") != std::string::npos || sha256.empty())
      throw std::runtime_error("backup store: not a checksum: " + sha256);
    return dir_ + "/" + sha256;
  }

  std::string dir_;
  asio::thread_pool pool_;
};

}  // namespace

std::shared_ptr<ObjectStore> open_directory_store(const std::string& directory, int threads) {
  return std::make_shared<DirectoryStore>(directory, threads);
}

asio::awaitable<std::optional<std::string>> read_all(ObjectStore& store,
                                                     const std::string& sha256) {
  auto reader = co_await store.open(sha256);
  if (!reader) co_return std::nullopt;
  std::string out;
  out.reserve(static_cast<size_t>(reader->size()));
  for (;;) {
    auto piece = co_await reader->read();
    if (piece.empty()) break;
    out += piece;
  }
  co_return out;
}

}  // namespace berth::backup
