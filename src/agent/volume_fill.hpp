// A restore's files written straight into a fresh volume's folder on this host: the fast way,
// when the agent sits beside dockerd and the backup store is a local folder, instead of a tar
// streamed through Docker (which unpacks it at about a third of the disk's speed).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace berth::agent {

// A file to write: content in memory, or a range of a file on this host (a stored object).
struct LocalFile {
  std::string path;  // relative to the folder; no ".." and no empty part
  int mode = 0644;
  std::string content;
  std::string source;  // empty: content
  int64_t offset = 0, length = 0;
  std::string sha256;  // the whole source's checksum, checked while it is copied; empty: none
};

// Writes `files` under `root` (their folders made on the way), each file and folder owned by
// whoever owns `root` (the engine user Docker gave the volume, mapped as this host sees it).
// A source range is copied in the kernel while a second thread hashes it; a checksum that does
// not match throws backup::ChecksumMismatch. Blocking: run it off the event loop.
void fill_directory(const std::string& root, const std::vector<LocalFile>& files);

}  // namespace berth::agent
