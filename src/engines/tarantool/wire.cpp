#include "engines/tarantool/wire.hpp"

#include <openssl/sha.h>

#include <cmath>
#include <limits>
#include <stdexcept>

#include "util/encoding.hpp"

#define MP_SOURCE 1
#include <msgpuck.h>

namespace berth::engines::iproto {

namespace {

constexpr uint8_t kRequestType = 0x00, kSync = 0x01;
constexpr uint8_t kData = 0x30, kError = 0x31;

std::string sha1(std::string_view in) {
  unsigned char out[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(in.data()), in.size(), out);
  return std::string(reinterpret_cast<char*>(out), sizeof out);
}

// Bytes an array's or a map's header takes, from its first byte.
size_t container_header_size(uint8_t first) {
  if ((first & 0xf0) == 0x90 || (first & 0xf0) == 0x80) return 1;  // fixarray, fixmap
  return first == 0xdc || first == 0xde ? 3 : 5;                   // 16- or 32-bit count
}

Value decode_at(const char*& p, const char* end, int depth) {
  if (p >= end) throw std::runtime_error("iproto: truncated msgpack");
  bool container = mp_typeof(*p) == MP_ARRAY || mp_typeof(*p) == MP_MAP;
  // A scalar is checked whole by mp_check; a container only by its header here, its elements
  // one by one below (mp_check counts the elements still to see in an int, which a map's
  // count overflows).
  const char* check = p;
  if (container ? static_cast<size_t>(end - p) < container_header_size(static_cast<uint8_t>(*p))
                : mp_check(&check, end) != 0)
    throw std::runtime_error("iproto: truncated msgpack");
  Value v;
  switch (mp_typeof(*p)) {
    case MP_NIL:
      mp_decode_nil(&p);
      break;
    case MP_BOOL:
      v.kind = Value::Kind::Bool;
      v.boolean = mp_decode_bool(&p);
      break;
    case MP_UINT:
      v.kind = Value::Kind::Int;
      v.integer = static_cast<int64_t>(mp_decode_uint(&p));
      break;
    case MP_INT:
      v.kind = Value::Kind::Int;
      v.integer = mp_decode_int(&p);
      break;
    case MP_FLOAT:
      v.kind = Value::Kind::Double;
      v.real = mp_decode_float(&p);
      break;
    case MP_DOUBLE:
      v.kind = Value::Kind::Double;
      v.real = mp_decode_double(&p);
      break;
    case MP_STR: {
      uint32_t len = 0;
      const char* s = mp_decode_str(&p, &len);
      v.kind = Value::Kind::String;
      v.string.assign(s, len);
      break;
    }
    case MP_ARRAY:
    case MP_MAP: {
      if (depth >= kMaxDepth) throw std::runtime_error("iproto: msgpack nested too deep");
      bool map = mp_typeof(*p) == MP_MAP;
      uint64_t n = map ? 2ull * mp_decode_map(&p) : mp_decode_array(&p);
      v.kind = map ? Value::Kind::Map : Value::Kind::Array;
      // Every element takes a byte at least.
      if (n > static_cast<uint64_t>(end - p)) throw std::runtime_error("iproto: truncated msgpack");
      v.items.reserve(n);
      for (uint64_t i = 0; i < n; ++i) v.items.push_back(decode_at(p, end, depth + 1));
      break;
    }
    default:
      mp_next(&p);  // binary, extensions: not needed here
  }
  return v;
}

}  // namespace

Value Value::of(bool b) {
  Value v;
  v.kind = Kind::Bool;
  v.boolean = b;
  return v;
}
Value Value::of(int64_t i) {
  Value v;
  v.kind = Kind::Int;
  v.integer = i;
  return v;
}
Value Value::of(const std::string& s) {
  Value v;
  v.kind = Kind::String;
  v.string = s;
  return v;
}
int64_t Value::as_int() const {
  if (kind == Kind::Int) return integer;
  if (kind != Kind::Double || std::isnan(real)) return 0;
  // Out of range a cast is undefined: clamp.
  constexpr double kLimit = 9.2e18;
  if (real >= kLimit) return std::numeric_limits<int64_t>::max();
  if (real <= -kLimit) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(real);
}
const Value& Value::operator[](size_t i) const {
  static const Value nil;
  return i < items.size() ? items[i] : nil;
}

std::string encode(const Value& v) {
  std::string out;
  char buf[16];
  switch (v.kind) {
    case Value::Kind::Nil:
      out.append(buf, mp_encode_nil(buf) - buf);
      break;
    case Value::Kind::Bool:
      out.append(buf, mp_encode_bool(buf, v.boolean) - buf);
      break;
    case Value::Kind::Int:
      out.append(
          buf,
          (v.integer >= 0 ? mp_encode_uint(buf, v.integer) : mp_encode_int(buf, v.integer)) - buf);
      break;
    case Value::Kind::Double:
      out.append(buf, mp_encode_double(buf, v.real) - buf);
      break;
    case Value::Kind::String:
      out.append(buf, mp_encode_strl(buf, static_cast<uint32_t>(v.string.size())) - buf);
      out += v.string;
      break;
    case Value::Kind::Array:
      out.append(buf, mp_encode_array(buf, static_cast<uint32_t>(v.items.size())) - buf);
      for (auto& item : v.items) out += encode(item);
      break;
    case Value::Kind::Map:
      out.append(buf, mp_encode_map(buf, static_cast<uint32_t>(v.items.size() / 2)) - buf);
      for (auto& item : v.items) out += encode(item);
      break;
  }
  return out;
}

Value decode(const char*& p, const char* end) {
  return decode_at(p, end, 0);
}

std::string packet(uint8_t type, uint64_t sync, const std::string& body) {
  char header[32];
  char* p = mp_encode_map(header, 2);
  p = mp_encode_uint(p, kRequestType);
  p = mp_encode_uint(p, type);
  p = mp_encode_uint(p, kSync);
  p = mp_encode_uint(p, sync);
  std::string payload(header, p - header);
  payload += body;
  char length[5];
  length[0] = static_cast<char>(0xce);
  mp_store_u32(length + 1, static_cast<uint32_t>(payload.size()));  // big-endian
  return std::string(length, 5) + payload;
}

namespace {
// The length of the packet at buf[pos...] when its 5-byte length has arrived; -1 when
// buf[pos] is not a packet's first byte.
int64_t packet_length(std::string_view buf, size_t pos) {
  if (static_cast<unsigned char>(buf[pos]) != 0xce) return -1;
  const char* at = buf.data() + pos + 1;
  return mp_load_u32(&at);
}
}  // namespace

int complete_packets(std::string_view buf) {
  int count = 0;
  size_t pos = 0;
  while (buf.size() >= pos + 5) {
    int64_t len = packet_length(buf, pos);
    if (len < 0) return -1;
    if (buf.size() - pos - 5 < static_cast<size_t>(len)) break;
    pos += 5 + len;
    ++count;
  }
  return count;
}

std::vector<Response> parse_packets(std::string_view buf) {
  std::vector<Response> out;
  size_t pos = 0;
  while (buf.size() >= pos + 5) {
    int64_t len = packet_length(buf, pos);
    if (len < 0) throw std::runtime_error("iproto: not a packet");
    if (buf.size() - pos - 5 < static_cast<size_t>(len)) break;  // not all here
    const char* p = buf.data() + pos + 5;
    const char* end = p + len;
    Response r;
    Value header = decode(p, end);
    if (header.kind != Value::Kind::Map) throw std::runtime_error("iproto: header not a map");
    for (size_t i = 0; i + 1 < header.items.size(); i += 2)
      if (header.items[i].as_int() == kRequestType)
        r.code = static_cast<uint64_t>(header.items[i + 1].as_int());
    if (p < end) {
      Value body = decode(p, end);
      for (size_t i = 0; i + 1 < body.items.size(); i += 2) {
        if (body.items[i].as_int() == kData) r.data = body.items[i + 1];
        if (body.items[i].as_int() == kError) r.error = body.items[i + 1].string;
      }
    }
    out.push_back(std::move(r));
    pos += 5 + len;
  }
  return out;
}

std::string scramble(std::string_view greeting, const std::string& password) {
  if (greeting.size() < kGreetingSize) throw std::runtime_error("iproto: short greeting");
  // The second line of the greeting holds the salt in base64; its first 20 bytes count.
  std::string_view salt_line = greeting.substr(64, 44);
  while (!salt_line.empty() && (salt_line.back() == ' ' || salt_line.back() == '\n'))
    salt_line.remove_suffix(1);
  std::string salt;
  try {
    salt = util::base64_decode(salt_line).substr(0, 20);
  } catch (const std::invalid_argument&) {
    throw std::runtime_error("iproto: the greeting holds no salt");
  }
  std::string hash1 = sha1(password);
  std::string hash2 = sha1(hash1);
  std::string out = sha1(salt + hash2);
  for (size_t i = 0; i < out.size(); ++i) out[i] ^= hash1[i];
  return out;
}

}  // namespace berth::engines::iproto
