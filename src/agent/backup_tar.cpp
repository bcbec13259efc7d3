#include "agent/backup_tar.hpp"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <set>
#include <stdexcept>
#include <utility>

#include "util/log.hpp"
#include "util/tar.hpp"

namespace berth::agent {

namespace asio = boost::asio;

using util::tar_relative;
using util::ustar_header;

std::vector<TarSegment> tar_of(const std::vector<TarFile>& files, int owner) {
  std::vector<TarSegment> out;
  std::string bytes;  // in-memory bytes not yet made a segment
  std::set<std::string> written;
  for (auto& f : files) {
    std::string name = tar_relative(f.path);
    if (!written.insert(name).second) continue;
    for (size_t slash = name.find('/'); slash != std::string::npos;
         slash = name.find('/', slash + 1))
      if (written.insert(name.substr(0, slash) + "/").second)
        bytes += ustar_header(name.substr(0, slash) + "/", 0, 0755, '5', owner, owner);
    int64_t size = f.object.empty() ? static_cast<int64_t>(f.content.size()) : f.length;
    bytes += ustar_header(name, size, f.mode, '0', owner, owner);
    if (f.object.empty()) {
      bytes += f.content;
    } else {
      out.push_back({std::move(bytes), "", 0, 0});
      bytes.clear();
      out.push_back({"", f.object, f.offset, f.length});
    }
    bytes.append(static_cast<size_t>(util::tar_padding(size)), '\0');
  }
  bytes.append(1024, '\0');
  out.push_back({std::move(bytes), "", 0, 0});
  return out;
}

TarStream::TarStream(std::shared_ptr<backup::ObjectStore> store, std::vector<TarSegment> segments)
    : store_(std::move(store)), segments_(std::move(segments)) {
  for (auto& s : segments_)
    size_ += s.object.empty() ? static_cast<int64_t>(s.bytes.size()) : s.length;
}

asio::awaitable<std::string> TarStream::next() {
  while (at_ < segments_.size()) {
    auto& s = segments_[at_];
    if (s.object.empty()) {
      ++at_;
      if (!s.bytes.empty()) co_return std::move(s.bytes);
      continue;
    }
    if (!reader_) {
      reader_ = co_await store_->open(s.object, s.offset, s.length);
      if (!reader_)
        throw std::runtime_error("backup data " + s.object + " is missing from the store");
      if (reader_->size() != s.length)
        throw std::runtime_error("backup data " + s.object + " is shorter than its catalog says");
    }
    auto piece = co_await reader_->read();
    if (!piece.empty()) co_return piece;
    reader_.reset();
    ++at_;
  }
  co_return std::string();
}

asio::awaitable<void> RestoreData::put(docker::Docker& docker, const std::string& container,
                                       const std::string& dir) {
  TarStream stream(store, tar);
  auto started = std::chrono::steady_clock::now();
  // A damaged object throws before its last piece: the tar is cut short and Docker refuses it.
  std::function<asio::awaitable<std::string>()> next = [&stream] { return stream.next(); };
  co_await docker.archive_put_stream(container, dir, stream.size(), std::move(next));
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  util::log("restore: {} bytes into {} in {:.2f} s ({:.0f} MB/s)", stream.size(),
            container.substr(0, 12), seconds, stream.size() / 1048576.0 / seconds);
}

void TarIndexer::feed(std::string_view piece) {
  while (!piece.empty() && !done_) {
    if (pos_ < header_at_) {  // file content: skipped
      auto skip = static_cast<size_t>(
          std::min<int64_t>(header_at_ - pos_, static_cast<int64_t>(piece.size())));
      piece.remove_prefix(skip);
      pos_ += static_cast<int64_t>(skip);
      continue;
    }
    size_t take = std::min(want_ - buf_.size(), piece.size());
    buf_.append(piece.substr(0, take));
    piece.remove_prefix(take);
    pos_ += static_cast<int64_t>(take);
    if (buf_.size() == want_) header_complete();
  }
}

void TarIndexer::header_complete() {
  auto field = [&](size_t offset, size_t length) {
    std::string s = buf_.substr(offset, length);
    return s.substr(0, s.find('\0'));
  };
  if (want_ > 512) {
    // The content of a GNU long name ('L') or pax header ('x'): names the next entry.
    std::string content = buf_.substr(512, static_cast<size_t>(pending_size_));
    if (pending_type_ == 'L') {
      long_name_ = content.substr(0, content.find('\0'));
    } else {
      for (size_t at = 0; at < content.size();) {
        auto space = content.find(' ', at);
        if (space == std::string::npos) break;
        size_t length = std::strtoull(content.c_str() + at, nullptr, 10);
        if (length == 0) break;
        std::string record = content.substr(space + 1, at + length - space - 2);
        if (record.starts_with("path=")) long_name_ = record.substr(5);
        at += length;
      }
    }
    header_at_ += 512 + pending_size_ + util::tar_padding(pending_size_);
    buf_.clear();
    want_ = 512;
    return;
  }
  if (buf_[0] == '\0') {
    done_ = true;
    return;
  }
  int64_t size = static_cast<int64_t>(std::strtoull(field(124, 12).c_str(), nullptr, 8));
  char type = buf_[156];
  if (type == 'L' || type == 'x') {
    pending_type_ = type;
    pending_size_ = size;
    want_ = 512 + static_cast<size_t>(size);
    return;
  }
  std::string name = field(0, 100);
  if (std::string prefix = field(345, 155); !prefix.empty()) name = prefix + "/" + name;
  if (!long_name_.empty()) name = std::exchange(long_name_, "");
  if (type == '0' || type == '\0') members_.push_back({name, header_at_ + 512, size});
  header_at_ += 512 + size + util::tar_padding(size);
  buf_.clear();
}

asio::awaitable<std::optional<std::vector<TarMember>>> index_stored_tar(backup::ObjectStore& store,
                                                                        const std::string& sha256) {
  auto reader = co_await store.open(sha256);
  if (!reader) co_return std::nullopt;
  TarIndexer index;
  // Read to the end even past the tar's end: the last read checks the checksum.
  for (;;) {
    auto piece = co_await reader->read();
    if (piece.empty()) break;
    index.feed(piece);
  }
  co_return index.members();
}

}  // namespace berth::agent
