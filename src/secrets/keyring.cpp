#include "secrets/keyring.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>

#include "util/encoding.hpp"

namespace berth::secrets {

namespace {

constexpr std::string_view kPrefix = "sealed:v1:";
constexpr size_t kNonce = 12, kTag = 16;

std::string hmac(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &size);
  return std::string(reinterpret_cast<char*>(out), size);
}

using Cipher = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

Keyring::Keyring(std::vector<std::string> raw_keys) {
  for (auto& raw : raw_keys) {
    if (raw.size() != 32) throw std::invalid_argument("a sealing key is 32 bytes");
    keys_.push_back({util::sha256_hex(raw).substr(0, 8), hmac(raw, "berth seal: encryption"),
                     hmac(raw, "berth seal: nonce"), hmac(raw, "berth seal: fingerprint")});
  }
  if (keys_.empty()) throw std::invalid_argument("a keyring needs a key");
}

Keyring Keyring::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot read the key file");
  std::vector<std::string> keys;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    if (line.size() != 64 || line.find_first_not_of("0123456789abcdef") != std::string::npos)
      throw std::runtime_error(path + ":" + std::to_string(number) +
                               ": not a key (64 lower-case hex digits)");
    std::string raw;
    for (size_t i = 0; i < 64; i += 2)
      raw.push_back(static_cast<char>(std::stoi(line.substr(i, 2), nullptr, 16)));
    keys.push_back(std::move(raw));
  }
  if (keys.empty()) throw std::runtime_error(path + ": holds no key");
  return Keyring(std::move(keys));
}

Keyring Keyring::load_or_create(const std::string& path) {
  if (!std::filesystem::exists(path)) {
    std::filesystem::path p(path);
    if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
    // O_EXCL: two processes starting at once do not each make a key.
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd >= 0) {
      std::string line = new_key_line() + "\n";
      bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
      ok = ::fsync(fd) == 0 && ok;
      ::close(fd);
      if (!ok) throw std::runtime_error(path + ": cannot write the key file");
    }
  }
  return load(path);
}

std::string Keyring::new_key_line() {
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("no randomness for a key");
  static const char* hex = "0123456789abcdef";
  std::string line;
  for (unsigned char c : raw) line += {hex[c >> 4], hex[c & 15]};
  return line;
}

std::string Keyring::fingerprint(std::string_view data) const {
  return util::hex(hmac(keys_.front().fingerprint, data));
}

std::string Keyring::seal(std::string_view plain) const {
  const Key& key = keys_.front();
  std::string nonce = hmac(key.nonce, plain).substr(0, kNonce);
  std::string aad = std::string(kPrefix) + key.id;
  Cipher ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  std::string out = nonce;
  out.resize(kNonce + plain.size() + kTag);
  int n = 0, tail = 0;
  auto* body = reinterpret_cast<unsigned char*>(out.data() + kNonce);
  bool ok =
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonce, nullptr) == 1 &&
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, bytes(key.encryption), bytes(nonce)) == 1 &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &n, bytes(aad), static_cast<int>(aad.size())) == 1 &&
      EVP_EncryptUpdate(ctx.get(), body, &n, bytes(plain), static_cast<int>(plain.size())) == 1 &&
      EVP_EncryptFinal_ex(ctx.get(), body + n, &tail) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTag,
                          out.data() + kNonce + plain.size()) == 1;
  if (!ok) throw std::runtime_error("sealing failed");
  return aad + ":" + util::base64_encode(out);
}

std::optional<std::string> Keyring::open(std::string_view sealed) const {
  if (!is_sealed(sealed)) return std::nullopt;
  std::string_view rest = sealed.substr(kPrefix.size());
  auto colon = rest.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view id = rest.substr(0, colon);
  const Key* key = nullptr;
  for (auto& k : keys_)
    if (k.id == id) key = &k;
  if (!key) return std::nullopt;
  std::string raw;
  try {
    raw = util::base64_decode(rest.substr(colon + 1));
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (raw.size() < kNonce + kTag) return std::nullopt;
  std::string aad = std::string(kPrefix) + key->id;
  size_t size = raw.size() - kNonce - kTag;
  std::string plain(size, '\0');
  Cipher ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int n = 0, tail = 0;
  auto* out = reinterpret_cast<unsigned char*>(plain.data());
  bool ok =
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonce, nullptr) == 1 &&
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, bytes(key->encryption), bytes(raw)) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &n, bytes(aad), static_cast<int>(aad.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), out, &n, bytes(raw) + kNonce, static_cast<int>(size)) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTag, raw.data() + kNonce + size) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), out + n, &tail) == 1;
  if (!ok) return std::nullopt;
  return plain;
}

bool Keyring::is_sealed(std::string_view text) {
  return text.starts_with(kPrefix);
}

std::string Keyring::sealing_key_id() const {
  return keys_.front().id;
}

bool Keyring::has_key(std::string_view id) const {
  for (auto& k : keys_)
    if (k.id == id) return true;
  return false;
}

}  // namespace berth::secrets
