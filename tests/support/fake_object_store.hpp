// Test support: an in-memory backup::ObjectStore with the directory store's contract (commit
// under the SHA-256, whole reads checked), plus a way to damage an object.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "backup/object_store.hpp"

namespace berth::test {

class FakeObjectStore : public backup::ObjectStore {
 public:
  boost::asio::awaitable<std::unique_ptr<backup::ObjectWriter>> writer() override;
  boost::asio::awaitable<std::string> put(std::string data) override;
  boost::asio::awaitable<std::unique_ptr<backup::ObjectReader>> open(const std::string& sha256,
                                                                     int64_t offset,
                                                                     int64_t length) override;
  boost::asio::awaitable<std::optional<int64_t>> size(const std::string& sha256) override;
  boost::asio::awaitable<Check> check(const std::string& sha256) override;
  boost::asio::awaitable<void> remove(const std::string& sha256) override;
  std::string describe() const override { return "memory"; }

  // Flips one byte of a stored object, as a failing disk would.
  void damage(const std::string& sha256, size_t at);
  const std::map<std::string, std::shared_ptr<std::string>>& objects() const { return objects_; }

 private:
  std::map<std::string, std::shared_ptr<std::string>> objects_;
};

}  // namespace berth::test
