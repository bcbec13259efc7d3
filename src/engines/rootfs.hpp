// Images without a registry: a root filesystem tar made of binaries installed on this machine
// and every shared library ldd names for them, ready for docker::Client::image_import.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace berth::engines {

// The user every engine runs as (by number: the images hold no user database). Its data and
// secret folders are its own; nothing else in a container is writable by it.
inline constexpr int kEngineUid = 10001;
// As Docker's User takes it: uid:gid.
inline const std::string kEngineUser =
    std::to_string(kEngineUid) + ":" + std::to_string(kEngineUid);

struct RootfsFile {
  std::string path;  // absolute path inside the image
  std::string content;
  int mode = 0644;
  int uid = 0, gid = 0;  // its owner
};

// A folder copied whole into an image (its regular files, links followed), but for the paths
// that contain one of `skip`. Its shared objects bring their libraries as binaries do.
struct ImageTree {
  std::string path;
  std::vector<std::string> skip;
};

// Blocking (runs ldd, reads files): call it from a worker thread, never the event loop.
// Throws std::runtime_error naming the binary when one is missing. engine_directories are
// kEngineUid's, mode 0700 (a volume mounted there takes that owner when Docker makes it).
std::string build_rootfs_tar(const std::vector<std::string>& binaries,
                             const std::vector<std::string>& directories = {},
                             const std::vector<RootfsFile>& extra_files = {},
                             const std::vector<std::string>& engine_directories = {},
                             const std::vector<ImageTree>& trees = {});

// A tar of just these files and their folders.
std::string make_tar(const std::vector<RootfsFile>& files);
// The regular files of a tar, by the path the archive gives them (no leading slash).
std::map<std::string, std::string> read_tar(const std::string& tar);

}  // namespace berth::engines
