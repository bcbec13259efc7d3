#include "engines/tarantool/iproto.hpp"

#include <openssl/sha.h>

#include <stdexcept>

#include "util/encoding.hpp"
#include "util/tcp_exchange.hpp"

#define MP_SOURCE 1
#include <msgpuck.h>

namespace berth::engines::iproto {

namespace {

// Request and response keys and codes (Tarantool's iproto_constants.h).
constexpr uint8_t kRequestType = 0x00, kSync = 0x01;
constexpr uint8_t kTuple = 0x21, kFunctionName = 0x22, kUserName = 0x23;
constexpr uint8_t kData = 0x30, kError = 0x31;
constexpr uint8_t kAuth = 0x07, kCall = 0x0a;
constexpr size_t kGreetingSize = 128;

std::string sha1(const std::string& in) {
  unsigned char out[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(in.data()), in.size(), out);
  return std::string(reinterpret_cast<char*>(out), sizeof out);
}

// One packet: its length as a 5-byte msgpack uint32, then the header map and the body map.
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

// Complete packets at the start of buf.
int complete_packets(const std::string& buf) {
  int count = 0;
  size_t pos = 0;
  while (buf.size() >= pos + 5) {
    if (static_cast<unsigned char>(buf[pos]) != 0xce) return -1;
    const char* at = buf.data() + pos + 1;
    uint32_t len = mp_load_u32(&at);
    if (buf.size() < pos + 5 + len) break;
    pos += 5 + len;
    ++count;
  }
  return count;
}

struct Response {
  uint64_t code = 0;
  Value data;
  std::string error;
};

std::vector<Response> parse_packets(const std::string& buf) {
  std::vector<Response> out;
  size_t pos = 0;
  while (buf.size() >= pos + 5) {
    const char* p = buf.data() + pos + 1;
    uint32_t len = mp_load_u32(&p);
    const char* end = p + len;
    Response r;
    Value header = decode(p, end);
    for (size_t i = 0; i + 1 < header.items.size(); i += 2)
      if (header.items[i].as_int() == kRequestType) r.code = header.items[i + 1].as_int();
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
  if (kind == Kind::Double) return static_cast<int64_t>(real);
  return 0;
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
  const char* check = p;
  if (p >= end || mp_check(&check, end) != 0) throw std::runtime_error("iproto: truncated msgpack");
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
    case MP_ARRAY: {
      uint32_t n = mp_decode_array(&p);
      v.kind = Value::Kind::Array;
      for (uint32_t i = 0; i < n; ++i) v.items.push_back(decode(p, end));
      break;
    }
    case MP_MAP: {
      uint32_t n = mp_decode_map(&p);
      v.kind = Value::Kind::Map;
      for (uint32_t i = 0; i < 2 * n; ++i) v.items.push_back(decode(p, end));
      break;
    }
    default:
      mp_next(&p);  // binary, extensions: not needed here
  }
  return v;
}

std::string scramble(const std::string& greeting, const std::string& password) {
  // The second line of the greeting holds the salt in base64; its first 20 bytes count.
  std::string salt_line = greeting.substr(64, 44);
  while (!salt_line.empty() && (salt_line.back() == ' ' || salt_line.back() == '\n'))
    salt_line.pop_back();
  std::string salt = util::base64_decode(salt_line).substr(0, 20);
  std::string hash1 = sha1(password);
  std::string hash2 = sha1(hash1);
  std::string out = sha1(salt + hash2);
  for (size_t i = 0; i < out.size(); ++i) out[i] ^= hash1[i];
  return out;
}

boost::asio::awaitable<Value> call(boost::asio::any_io_executor executor, const std::string& ip,
                                   int port, const std::string& user, const std::string& password,
                                   const std::string& function, const std::vector<Value>& args,
                                   std::chrono::milliseconds timeout) {
  auto request_for = [&](const std::string& greeting) {
    Value auth{.kind = Value::Kind::Map};
    auth.items = {Value::of(int64_t{kUserName}), Value::of(user), Value::of(int64_t{kTuple})};
    Value tuple{.kind = Value::Kind::Array};
    tuple.items = {Value::of(std::string("chap-sha1")), Value::of(scramble(greeting, password))};
    auth.items.push_back(tuple);
    Value call_body{.kind = Value::Kind::Map};
    Value call_args{.kind = Value::Kind::Array};
    call_args.items = args;
    call_body.items = {Value::of(int64_t{kFunctionName}), Value::of(function),
                       Value::of(int64_t{kTuple}), call_args};
    return packet(kAuth, 1, encode(auth)) + packet(kCall, 2, encode(call_body));
  };
  auto reply = co_await util::tcp_greeted_exchange(
      executor, ip, port,
      [](const std::string& b) {
        return b.size() >= kGreetingSize ? std::optional<size_t>(kGreetingSize) : std::nullopt;
      },
      request_for,
      [](const std::string& b) {
        int n = complete_packets(b);
        return n < 0 || n >= 2;
      },
      timeout);
  if (complete_packets(reply) < 0) throw std::runtime_error("iproto: not a Tarantool reply");
  auto responses = parse_packets(reply);
  for (auto& r : responses)
    if (r.code != 0) throw std::runtime_error(r.error.empty() ? "iproto: refused" : r.error);
  if (responses.size() < 2) throw std::runtime_error("iproto: short reply");
  co_return responses[1].data;
}

}  // namespace berth::engines::iproto
