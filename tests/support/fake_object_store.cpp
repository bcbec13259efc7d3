#include "support/fake_object_store.hpp"

#include <algorithm>

#include "util/encoding.hpp"

namespace berth::test {

namespace asio = boost::asio;

namespace {

class Writer : public backup::ObjectWriter {
 public:
  explicit Writer(std::map<std::string, std::shared_ptr<std::string>>& objects)
      : objects_(objects) {}
  asio::awaitable<void> write(std::string piece) override {
    data_ += piece;
    co_return;
  }
  asio::awaitable<std::string> commit() override {
    auto sha = util::sha256_hex(data_);
    objects_[sha] = std::make_shared<std::string>(data_);
    co_return sha;
  }
  int64_t size() const override { return static_cast<int64_t>(data_.size()); }

 private:
  std::map<std::string, std::shared_ptr<std::string>>& objects_;
  std::string data_;
};

class Reader : public backup::ObjectReader {
 public:
  Reader(std::shared_ptr<std::string> data, std::string sha256, int64_t offset, int64_t end)
      : data_(std::move(data)),
        sha256_(std::move(sha256)),
        at_(offset),
        begin_(offset),
        end_(end) {}
  int64_t size() const override { return end_ - begin_; }
  asio::awaitable<std::string> read(size_t max_bytes) override {
    if (at_ >= end_) co_return std::string();
    auto n = std::min<int64_t>(static_cast<int64_t>(max_bytes), end_ - at_);
    std::string piece = data_->substr(static_cast<size_t>(at_), static_cast<size_t>(n));
    at_ += n;
    bool whole = begin_ == 0 && end_ == static_cast<int64_t>(data_->size());
    if (whole && at_ == end_ && util::sha256_hex(*data_) != sha256_)
      throw backup::ChecksumMismatch();
    co_return piece;
  }

 private:
  std::shared_ptr<std::string> data_;
  std::string sha256_;
  int64_t at_, begin_, end_;
};

}  // namespace

asio::awaitable<std::unique_ptr<backup::ObjectWriter>> FakeObjectStore::writer() {
  co_return std::make_unique<Writer>(objects_);
}

asio::awaitable<std::string> FakeObjectStore::put(std::string data) {
  auto sha = util::sha256_hex(data);
  objects_[sha] = std::make_shared<std::string>(std::move(data));
  co_return sha;
}

asio::awaitable<std::unique_ptr<backup::ObjectReader>> FakeObjectStore::open(
    const std::string& sha256, int64_t offset, int64_t length) {
  auto it = objects_.find(sha256);
  if (it == objects_.end()) co_return nullptr;
  auto total = static_cast<int64_t>(it->second->size());
  offset = std::min(offset, total);
  int64_t end = length < 0 ? total : std::min(total, offset + length);
  co_return std::make_unique<Reader>(it->second, sha256, offset, end);
}

asio::awaitable<std::optional<int64_t>> FakeObjectStore::size(const std::string& sha256) {
  auto it = objects_.find(sha256);
  if (it == objects_.end()) co_return std::nullopt;
  co_return static_cast<int64_t>(it->second->size());
}

asio::awaitable<backup::ObjectStore::Check> FakeObjectStore::check(const std::string& sha256) {
  auto it = objects_.find(sha256);
  if (it == objects_.end()) co_return Check::missing;
  co_return util::sha256_hex(*it->second) == sha256 ? Check::ok : Check::damaged;
}

asio::awaitable<void> FakeObjectStore::remove(const std::string& sha256) {
  objects_.erase(sha256);
  co_return;
}

void FakeObjectStore::damage(const std::string& sha256, size_t at) {
  auto& data = *objects_.at(sha256);
  data[at] = static_cast<char>(data[at] ^ 0x5a);
}

}  // namespace berth::test
