// A secret as a record holds it (a database's password): the plain value in memory, sealed
// with this process' keyring in the record's JSON, which is what etcd stores. A record written
// before sealing was on, or by a process without a keyring, holds it plain and reads as is.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace berth::secrets {
class Keyring;
}

namespace berth::model {

struct Secret : std::string {
  using std::string::string;
  using std::string::operator=;
  Secret() = default;
  Secret(std::string s) : std::string(std::move(s)) {}  // NOLINT: a secret is made from text
  // The plain value, where a plain string is meant (a reply shows it once, an engine uses it).
  const std::string& plain() const { return *this; }
};

// Sealed when a keyring is set and the value is not empty. A sealed text this process cannot
// open (a key it does not have) is kept as read, and written back as read.
void to_json(nlohmann::json& j, const Secret& s);
void from_json(const nlohmann::json& j, Secret& s);

// The keyring records seal and open with; null: secrets stay plain (tests of pure logic).
// Set once at start, before any record is read.
void set_keyring(std::shared_ptr<const secrets::Keyring> keyring);
const secrets::Keyring* keyring();

}  // namespace berth::model
