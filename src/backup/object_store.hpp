// The backup object store: where backup data lives, content-addressed by its SHA-256, read and
// written piece by piece by coroutines. A directory by default (shared by the servers and agents
// of one site); an S3-compatible store can implement the same interface later.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

namespace berth::backup {

// One object being written piece by piece, hashed as it goes. Nothing is visible until
// commit; dropping the writer uncommitted leaves nothing behind.
class ObjectWriter {
 public:
  virtual ~ObjectWriter() = default;
  virtual boost::asio::awaitable<void> write(std::string piece) = 0;
  // Makes the object durable and visible under its checksum, which it returns.
  virtual boost::asio::awaitable<std::string> commit() = 0;
  virtual int64_t size() const = 0;
};

// Reads a stored object (or a range of it) piece by piece. Reading the whole object checks
// its SHA-256 as it goes: the read that would hand over the last piece of a damaged object
// throws ChecksumMismatch instead, so a consumer never passes on all of damaged bytes.
class ObjectReader {
 public:
  virtual ~ObjectReader() = default;
  // The bytes this reader hands over in all.
  virtual int64_t size() const = 0;
  // The next piece, at most max_bytes; empty at the end.
  virtual boost::asio::awaitable<std::string> read(size_t max_bytes = 4 << 20) = 0;
};

struct ChecksumMismatch : std::runtime_error {
  ChecksumMismatch() : std::runtime_error("checksum mismatch: the stored data is damaged") {}
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;
  virtual boost::asio::awaitable<std::unique_ptr<ObjectWriter>> writer() = 0;
  // Stores data under its checksum, atomically: a reader never sees a partial object.
  // Returns the checksum (hex SHA-256).
  virtual boost::asio::awaitable<std::string> put(std::string data) = 0;
  // nullptr when absent. length < 0: to the end. A reader of the whole object checks it.
  virtual boost::asio::awaitable<std::unique_ptr<ObjectReader>> open(const std::string& sha256,
                                                                     int64_t offset = 0,
                                                                     int64_t length = -1) = 0;
  // The object's size; nullopt when absent.
  virtual boost::asio::awaitable<std::optional<int64_t>> size(const std::string& sha256) = 0;
  enum class Check { ok, missing, damaged };
  // Reads the whole object and compares its SHA-256 with its name.
  virtual boost::asio::awaitable<Check> check(const std::string& sha256) = 0;
  virtual boost::asio::awaitable<void> remove(const std::string& sha256) = 0;
  virtual std::string describe() const = 0;
  // The object as a file on this host, for a consumer that copies it in the kernel; empty when
  // the store keeps its objects elsewhere.
  virtual std::string local_path(const std::string& /*sha256*/) const { return ""; }
};

// Objects as files DIR/<sha256>, written to a temporary name, flushed, then renamed. The file
// work runs on a pool of `threads` threads of its own; results come back on the caller's
// executor.
std::shared_ptr<ObjectStore> open_directory_store(const std::string& directory, int threads = 2);

// Reads an object whole (small objects, tests): nullopt when absent.
boost::asio::awaitable<std::optional<std::string>> read_all(ObjectStore& store,
                                                            const std::string& sha256);

}  // namespace berth::backup
