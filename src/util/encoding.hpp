// Small encodings and generators shared by every part: base64 (etcd's gateway), hex,
// SHA-256 (token hashes) and random identifiers and passwords.
#pragma once

#include <string>
#include <string_view>

namespace berth::util {

std::string base64_encode(std::string_view in);
std::string base64_decode(std::string_view in);
std::string sha256_hex(std::string_view in);
// SHA-256 of bytes that come piece by piece (backup data, too large to hold whole).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(std::string_view bytes);
  std::string hex();  // once, at the end

 private:
  void* ctx_;  // EVP_MD_CTX
};
// Lower-case hex of raw bytes.
std::string hex(std::string_view bytes);
// Cryptographically random bytes, hex-encoded (2 characters per byte).
std::string random_hex(size_t bytes);
// A password of letters and digits, safe to pass on any command line.
std::string random_password(size_t length);
// Compares without leaking where the first difference is.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace berth::util
