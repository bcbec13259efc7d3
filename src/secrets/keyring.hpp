// The keys that seal secrets at rest (database passwords in etcd): AES-256-GCM, with the nonce
// derived from the key and the plaintext, so one secret always seals to the same text (a record
// rewritten unchanged compares equal) and two different secrets never share a nonce.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::secrets {

class Keyring {
 public:
  // raw_keys: 32 bytes each; the first seals, every one opens.
  explicit Keyring(std::vector<std::string> raw_keys);

  // A key file: one key a line, 64 hex digits; the first line seals (rotation puts a new key
  // first and keeps the old ones below it). Throws naming the file and the line.
  static Keyring load(const std::string& path);
  // The file as load() reads it; made with one new key (mode 0600) when it does not exist.
  static Keyring load_or_create(const std::string& path);
  // A new key as a key file's line holds it.
  static std::string new_key_line();

  // "sealed:v1:<key id>:<base64 of nonce, ciphertext and tag>".
  std::string seal(std::string_view plain) const;
  // The plaintext; nullopt when no key here sealed it or the text was changed.
  std::optional<std::string> open(std::string_view sealed) const;
  static bool is_sealed(std::string_view text);

  // A keyed digest of data (hex HMAC-SHA256, with a key derived from the sealing key): what may
  // be kept in etcd of a text that holds a secret (a request body with a password) without
  // letting anyone who reads etcd try guesses against it.
  std::string fingerprint(std::string_view data) const;

  // A key's id: the first 8 hex digits of its sha256 (it names no secret).
  std::string sealing_key_id() const;
  bool has_key(std::string_view id) const;

 private:
  struct Key {
    std::string id, encryption, nonce, fingerprint;  // keys derived from the one in the file
  };
  std::vector<Key> keys_;
};

}  // namespace berth::secrets
