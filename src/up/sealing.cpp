#include "up/sealing.hpp"

#include <filesystem>

#include "model/model.hpp"
#include "util/log.hpp"

namespace berth::up {

std::shared_ptr<const secrets::Keyring> use_key_file(const std::string& path, bool create) {
  std::shared_ptr<const secrets::Keyring> keyring;
  if (create)
    keyring = std::make_shared<secrets::Keyring>(secrets::Keyring::load_or_create(path));
  else if (std::filesystem::exists(path))
    keyring = std::make_shared<secrets::Keyring>(secrets::Keyring::load(path));
  model::set_keyring(keyring);
  return keyring;
}

boost::asio::awaitable<void> adopt_sealing_key(store::Store& store, const secrets::Keyring* keyring,
                                               const std::string& key_file, bool publish) {
  auto current = co_await store.get(model::keys::kSealingKey);
  std::string id = current.kvs.empty() ? "" : current.kvs[0].value;
  if (!id.empty() && (!keyring || !keyring->has_key(id)))
    throw std::runtime_error("the cluster seals passwords with key " + id + ", which " +
                             (keyring ? key_file + " does not hold"
                                      : "this process has no key file for (" + key_file + ")") +
                             ": give it the cluster's key file (--secret-key-file)");
  if (publish && keyring && id != keyring->sealing_key_id()) {
    co_await store.put(model::keys::kSealingKey, keyring->sealing_key_id());
    util::log("server: passwords are sealed with key {} from {}", keyring->sealing_key_id(),
              key_file);
  }
}

}  // namespace berth::up
