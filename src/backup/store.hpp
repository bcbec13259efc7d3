// The backup store: where backup data lives, content-addressed by its SHA-256. A directory by
// default (shared by the servers and agents of one site); an S3-compatible store can implement
// the same interface later.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace berth::backup {

// One object being written piece by piece, hashed as it goes. Nothing is visible until
// commit; dropping the writer uncommitted leaves nothing behind.
class Writer {
 public:
  virtual ~Writer() = default;
  virtual void write(std::string_view piece) = 0;
  // Makes the object durable and visible under its checksum, which it returns.
  virtual std::string commit() = 0;
  virtual int64_t size() const = 0;
};

class Store {
 public:
  virtual ~Store() = default;
  virtual std::unique_ptr<Writer> writer() = 0;
  // Stores data under its checksum, atomically: a reader never sees a partial object.
  // Returns the checksum (hex SHA-256).
  virtual std::string put(const std::string& data) = 0;
  virtual std::optional<std::string> get(const std::string& sha256) const = 0;
  virtual void remove(const std::string& sha256) = 0;
  virtual std::string describe() const = 0;
};

// Objects as files DIR/<sha256>, written to a temporary name, flushed, then renamed.
std::unique_ptr<Store> open_directory_store(const std::string& directory);

}  // namespace berth::backup
