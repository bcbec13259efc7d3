#include "join/identity.hpp"

#include <sys/stat.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "http/http.hpp"
#include "join/token.hpp"
#include "model/model.hpp"
#include "tls/certs.hpp"
#include "util/files.hpp"

namespace berth::join {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

const char* kIdentityFile = "/identity.json";

// One request on its own loop, to its end.
http::Response ask(const std::string& url, http::TlsOptions tls, http::Request request) {
  asio::io_context io;
  http::Client client(io.get_executor(), url, std::move(tls));
  auto answer = asio::co_spawn(io, client.request(std::move(request), 30s), asio::use_future);
  io.run();
  return answer.get();
}

std::string refusal_of(const http::Response& r) {
  auto body = json::parse(r.body, nullptr, false);
  if (body.is_object() && body.contains("error") && body["error"].is_string())
    return body["error"].get<std::string>();
  return "HTTP " + std::to_string(r.status);
}

}  // namespace

std::optional<Identity> load_identity(const std::string& dir) {
  if (!fs::exists(dir + kIdentityFile)) return std::nullopt;
  auto kept = json::parse(util::read_file(dir + kIdentityFile), nullptr, false);
  if (!kept.is_object() || !kept.value("host", json()).is_string())
    throw std::runtime_error(dir + kIdentityFile + " is damaged: join again with a new token");
  Identity id;
  id.dir = dir;
  id.host = kept.value("host", "");
  id.server = kept.value("server", "");
  id.etcd_endpoints = kept.value("etcd_endpoints", std::vector<std::string>{});
  id.etcd_user = kept.value("etcd_user", "");
  for (auto& file : {id.ca_file(), id.cert_file(), id.key_file(), id.sealing_key_file()})
    if (!fs::exists(file)) throw std::runtime_error(file + " is missing: join again");
  return id;
}

Identity join_cluster(const std::string& server_url, const std::string& token_text,
                      const std::string& host, const std::string& address, const std::string& dir) {
  auto token = parse(token_text);
  if (!token) throw std::invalid_argument("--join-token: not a join token");
  if (!server_url.starts_with("https://"))
    throw std::invalid_argument("--server: a host joins over https:// only");
  // The CA from a server not yet trusted: the token's hash is what makes it trusted.
  http::Request get_ca;
  get_ca.target = "/v1/join/ca";
  http::TlsOptions unchecked;
  unchecked.check_nothing = true;
  auto ca = ask(server_url, unchecked, get_ca);
  if (ca.status != 200) throw std::runtime_error("the server gives no CA: " + refusal_of(ca));
  std::string ca_hash;
  try {
    ca_hash = tls::fingerprint(ca.body);
  } catch (const std::exception&) {
    throw std::runtime_error("the server's CA is not a PEM certificate");
  }
  if (ca_hash != token->ca_sha256)
    throw std::runtime_error("the server's CA (sha256 " + ca_hash +
                             ") is not the one the join token pins (" + token->ca_sha256 + ")");
  fs::create_directories(dir);
  fs::permissions(dir, fs::perms::owner_all);
  Identity id;
  id.dir = dir;
  util::write_file(id.ca_file(), ca.body, 0600);
  auto request = tls::make_request();
  http::Request join;
  join.method = "POST";
  join.target = "/v1/join";
  join.body =
      json{
          {"token", token_text}, {"host", host}, {"address", address}, {"csr", request.request_pem}}
          .dump();
  http::TlsOptions checked;
  checked.ca_file = id.ca_file();
  auto answer = ask(server_url, checked, join);
  if (answer.status != 200) throw std::runtime_error("join refused: " + refusal_of(answer));
  auto joined = json::parse(answer.body, nullptr, false);
  if (!joined.is_object() || !joined["cert"].is_string() || !joined["etcd"].is_object() ||
      !joined["sealing_key"].is_string())
    throw std::runtime_error("the server's answer to the join is not one");
  std::string cert = joined["cert"].get<std::string>();
  if (!tls::issued_by(ca.body, cert))
    throw std::runtime_error("the certificate the server gave is not signed by the cluster CA");
  id.host = host;
  id.server = server_url;
  id.etcd_endpoints = joined["etcd"].value("endpoints", std::vector<std::string>{});
  id.etcd_user = joined["etcd"].value("user", "");
  util::write_file(id.key_file(), request.key_pem, 0600);
  util::write_file(id.cert_file(), cert, 0600);
  util::write_file(id.etcd_password_file(), joined["etcd"].value("password", ""), 0600);
  util::write_file(id.sealing_key_file(), joined["sealing_key"].get<std::string>(), 0600);
  // Last: its presence says the rest is complete.
  json kept{{"host", id.host},
            {"server", id.server},
            {"etcd_endpoints", id.etcd_endpoints},
            {"etcd_user", id.etcd_user},
            {"joined_at", model::now_rfc3339()}};
  util::write_file(dir + kIdentityFile, kept.dump(2) + "\n", 0600);
  return id;
}

}  // namespace berth::join
