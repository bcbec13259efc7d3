// Tars made piece by piece from stored backup objects, and the index of a stored tar: how a
// restore or a verification puts a backup of any size into a container without holding it whole.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backup/object_store.hpp"
#include "docker/docker.hpp"

namespace berth::agent {

// One piece of a tar stream: bytes held in memory (headers, small files), or a range of a
// stored object. A range that is the whole object is checked against its SHA-256 as it is read.
struct TarSegment {
  std::string bytes;
  std::string object;  // sha256; empty: bytes
  int64_t offset = 0, length = 0;
};

// A file to put in the tar: content in memory, or a range of a stored object.
struct TarFile {
  std::string path;
  int mode = 0644;
  std::string content;
  std::string object;
  int64_t offset = 0, length = 0;
};

// The segments of a ustar archive of these files and their folders, all of them owner's.
std::vector<TarSegment> tar_of(const std::vector<TarFile>& files, int owner = 0);

// Hands out a tar's bytes piece by piece, at most one piece in memory.
class TarStream {
 public:
  TarStream(std::shared_ptr<backup::ObjectStore> store, std::vector<TarSegment> segments);
  int64_t size() const { return size_; }
  boost::asio::awaitable<std::string> next();  // empty at the end

 private:
  std::shared_ptr<backup::ObjectStore> store_;
  std::vector<TarSegment> segments_;
  size_t at_ = 0;
  std::unique_ptr<backup::ObjectReader> reader_;
  int64_t size_ = 0;
};

// Backup data put into a container (a restore's fresh volume, a verification's scratch folder),
// streamed from the store into Docker; a pending restore names the volume to start from.
struct RestoreData {
  std::shared_ptr<backup::ObjectStore> store;
  std::vector<TarSegment> tar;
  std::string volume;  // the fresh volume it goes into
  boost::asio::awaitable<void> put(docker::Docker& docker, const std::string& container,
                                   const std::string& dir);
};

// A regular file inside a stored tar.
struct TarMember {
  std::string name;
  int64_t offset = 0, size = 0;  // of its content within the object
};

// Reads a tar piece by piece, noting its regular files (ustar, GNU long names, pax paths).
class TarIndexer {
 public:
  void feed(std::string_view piece);
  bool done() const { return done_; }
  const std::vector<TarMember>& members() const { return members_; }

 private:
  void header_complete();
  int64_t pos_ = 0, header_at_ = 0;
  size_t want_ = 512;
  std::string buf_, long_name_;
  char pending_type_ = 0;
  int64_t pending_size_ = 0;
  bool done_ = false;
  std::vector<TarMember> members_;
};

// The members of the stored tar `sha256`, read whole (its checksum checked as it goes: throws
// backup::ChecksumMismatch). nullopt when the object is missing.
boost::asio::awaitable<std::optional<std::vector<TarMember>>> index_stored_tar(
    backup::ObjectStore& store, const std::string& sha256);

}  // namespace berth::agent
