#include "util/tar.hpp"

#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace berth::util {

std::string ustar_header(const std::string& name, int64_t size, int mode, char type, int uid,
                         int gid) {
  char h[512] = {};
  std::string prefix, base = name;
  if (base.size() > 100) {  // split at a slash into prefix (155) and name (100)
    auto cut = base.rfind('/', base.size() - 2 > 155 ? 155 : base.size() - 2);
    if (cut == std::string::npos || base.size() - cut - 1 > 100)
      throw std::runtime_error("path too long for tar: " + name);
    prefix = base.substr(0, cut);
    base = base.substr(cut + 1);
  }
  std::memcpy(h, base.data(), base.size());
  std::snprintf(h + 100, 8, "%07o", mode);
  std::snprintf(h + 108, 8, "%07o", uid);
  std::snprintf(h + 116, 8, "%07o", gid);
  std::snprintf(h + 124, 12, "%011llo", static_cast<unsigned long long>(size));
  std::snprintf(h + 136, 12, "%011o", 0);
  std::memset(h + 148, ' ', 8);
  h[156] = type;
  std::memcpy(h + 257, "ustar", 6);
  std::memcpy(h + 263, "00", 2);
  std::memcpy(h + 345, prefix.data(), prefix.size());
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(h + 148, 8, "%06o", sum);
  h[155] = ' ';
  return std::string(h, 512);
}

int64_t tar_padding(int64_t size) {
  return (512 - size % 512) % 512;
}

std::string tar_relative(std::string path) {
  while (!path.empty() && path.front() == '/') path.erase(0, 1);
  while (!path.empty() && path.back() == '/') path.pop_back();
  return path;
}

}  // namespace berth::util
