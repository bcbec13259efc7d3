// The pieces of a POSIX ustar archive that berth writes itself: a header block, the padding
// after content, and member names without leading or trailing slashes.
#pragma once

#include <cstdint>
#include <string>

namespace berth::util {

// One 512-byte header. type '0' is a regular file, '5' a folder. Throws std::runtime_error
// for a name that fits neither ustar's name field nor its prefix split.
std::string ustar_header(const std::string& name, int64_t size, int mode, char type, int uid = 0,
                         int gid = 0);
// Zero bytes that follow size bytes of content to the next 512-byte block.
int64_t tar_padding(int64_t size);
std::string tar_relative(std::string path);

}  // namespace berth::util
