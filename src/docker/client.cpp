#include "docker/client.hpp"

#include "http/http.hpp"
#include "metrics/berth.hpp"

namespace berth::docker {

namespace {
const std::string kApi = "/v1.41";

std::string message_of(const std::string& body) {
  try {
    auto j = json::parse(body);
    if (j.is_object() && j.contains("message")) return j["message"].get<std::string>();
  } catch (const json::exception&) {
  }
  return body;
}

std::string label_filter(const std::string& key, const std::string& value) {
  json filters = {{"label", {value.empty() ? key : key + "=" + value}}};
  return http::url_encode(filters.dump());
}

// Every exchange with dockerd, timed for berth_docker_request_duration_seconds.
asio::awaitable<http::Response> timed(http::Client& client, http::Request request,
                                      std::chrono::milliseconds timeout) {
  metrics::ScopedTimer timer(metrics::docker_request_histogram(request.method, request.target));
  co_return co_await client.request(std::move(request), timeout);
}

ContainerInfo from_list_entry(const json& c) {
  ContainerInfo info;
  info.id = c.value("Id", "");
  if (auto names = c.find("Names"); names != c.end() && !names->empty()) {
    info.name = (*names)[0].get<std::string>();
    if (info.name.starts_with("/")) info.name.erase(0, 1);
  }
  info.image = c.value("Image", "");
  info.state = c.value("State", "");
  info.running = info.state == "running";
  if (auto labels = c.find("Labels"); labels != c.end() && labels->is_object())
    info.labels = labels->get<std::map<std::string, std::string>>();
  if (c.contains("NetworkSettings") && c["NetworkSettings"].contains("Networks"))
    for (auto& [net, cfg] : c["NetworkSettings"]["Networks"].items()) {
      // A stopped container has no address now, but takes its configured one when it starts.
      std::string ip = cfg.value("IPAddress", "");
      if (ip.empty() && cfg.contains("IPAMConfig") && cfg["IPAMConfig"].is_object())
        ip = cfg["IPAMConfig"].value("IPv4Address", "");
      info.ips[net] = ip;
    }
  return info;
}
}  // namespace

Client::Client(asio::any_io_executor executor, std::string endpoint)
    : endpoint_(endpoint.find("://") == std::string::npos ? "unix://" + endpoint : endpoint),
      http_(std::make_unique<http::Client>(executor, endpoint_)) {}

Client::~Client() = default;

asio::awaitable<json> Client::call(const std::string& method, const std::string& target,
                                   const std::string& body, int ok_status) {
  http::Request req{method, kApi + target, body};
  auto res = co_await timed(*http_, req, std::chrono::seconds(60));
  bool ok = ok_status ? res.status == ok_status : (res.status >= 200 && res.status < 300);
  if (!ok) throw Error(res.status, message_of(res.body));
  if (res.body.empty()) co_return json();
  try {
    co_return json::parse(res.body);
  } catch (const json::exception&) {
    co_return json(res.body);
  }
}

asio::awaitable<bool> Client::ping(std::chrono::milliseconds timeout) {
  try {
    http::Request req{"GET", "/_ping"};
    auto res = co_await timed(*http_, req, timeout);
    co_return res.status == 200;
  } catch (const http::ConnectError&) {
    co_return false;
  }
}

asio::awaitable<json> Client::version() {
  co_return co_await call("GET", "/version");
}

asio::awaitable<json> Client::info() {
  co_return co_await call("GET", "/info");
}

asio::awaitable<std::optional<json>> Client::image_inspect(const std::string& name) {
  try {
    co_return co_await call("GET", "/images/" + name + "/json");
  } catch (const Error& e) {
    if (e.status != 404) throw;
  }
  co_return std::nullopt;
}

// Raises the first {"error": ...} line of a streamed progress answer.
static void throw_stream_error(const std::string& body) {
  size_t start = 0;
  while (start < body.size()) {
    size_t end = body.find('\n', start);
    std::string line = body.substr(start, end == std::string::npos ? end : end - start);
    start = end == std::string::npos ? body.size() : end + 1;
    if (line.find("\"error\"") == std::string::npos) continue;
    std::string message = line;
    try {
      message = json::parse(line).value("error", line);
    } catch (const json::exception&) {
    }
    throw Error(500, message);
  }
}

asio::awaitable<void> Client::image_pull(const std::string& reference) {
  auto colon = reference.rfind(':');
  bool has_tag = colon != std::string::npos && reference.find('/', colon) == std::string::npos;
  std::string repo = has_tag ? reference.substr(0, colon) : reference;
  std::string tag = has_tag ? reference.substr(colon + 1) : "latest";
  http::Request req{"POST", kApi + "/images/create?fromImage=" + http::url_encode(repo) +
                                "&tag=" + http::url_encode(tag)};
  auto res = co_await timed(*http_, req, std::chrono::seconds(600));
  if (res.status != 200) throw Error(res.status, message_of(res.body));
  throw_stream_error(res.body);
}

asio::awaitable<void> Client::image_import(const std::string& tar, const std::string& repo,
                                           const std::string& tag,
                                           const std::vector<std::string>& changes) {
  std::string target = kApi + "/images/create?fromSrc=-&repo=" + http::url_encode(repo) +
                       "&tag=" + http::url_encode(tag);
  for (auto& c : changes) target += "&changes=" + http::url_encode(c);
  http::Request req{"POST", target, tar, "application/x-tar"};
  auto res = co_await timed(*http_, req, std::chrono::seconds(300));
  if (res.status != 200) throw Error(res.status, message_of(res.body));
  // The answer is a stream of JSON progress lines; a failure arrives as {"error": ...}.
  throw_stream_error(res.body);
}

asio::awaitable<std::string> Client::container_create(const ContainerSpec& spec) {
  json host = {{"RestartPolicy", {{"Name", spec.restart_policy}}}};
  if (spec.memory_bytes > 0) {
    host["Memory"] = spec.memory_bytes;
    host["MemorySwap"] = spec.memory_bytes;  // no swap: the limit is the limit
  }
  if (spec.cpus > 0) host["NanoCpus"] = static_cast<int64_t>(spec.cpus * 1e9);
  if (spec.drop_capabilities) {
    host["CapDrop"] = json::array({"ALL"});
    if (!spec.cap_add.empty()) host["CapAdd"] = spec.cap_add;
  }
  if (spec.no_new_privileges) host["SecurityOpt"] = json::array({"no-new-privileges:true"});
  if (spec.pids_limit > 0) host["PidsLimit"] = spec.pids_limit;
  if (spec.read_only_rootfs) host["ReadonlyRootfs"] = true;
  json mounts = json::array();
  for (auto& [volume, target] : spec.volumes)
    mounts.push_back({{"Type", "volume"}, {"Source", volume}, {"Target", target}});
  for (auto& target : spec.scratch_volumes)
    mounts.push_back({{"Type", "volume"}, {"Target", target}});
  host["Mounts"] = mounts;
  json body = {{"Image", spec.image}, {"Labels", spec.labels}, {"HostConfig", host}};
  if (!spec.cmd.empty()) body["Cmd"] = spec.cmd;
  if (!spec.env.empty()) body["Env"] = spec.env;
  if (!spec.user.empty()) body["User"] = spec.user;
  if (!spec.network.empty()) {
    body["HostConfig"]["NetworkMode"] = spec.network;
    json endpoint = json::object();
    if (!spec.ip.empty()) endpoint["IPAMConfig"] = {{"IPv4Address", spec.ip}};
    body["NetworkingConfig"] = {{"EndpointsConfig", {{spec.network, endpoint}}}};
  }
  auto j =
      co_await call("POST", "/containers/create?name=" + http::url_encode(spec.name), body.dump());
  co_return j.value("Id", "");
}

asio::awaitable<std::optional<std::string>> Client::archive_get(const std::string& id,
                                                                const std::string& path) {
  http::Request req{"GET", kApi + "/containers/" + id + "/archive?path=" + http::url_encode(path)};
  auto res = co_await timed(*http_, req, std::chrono::seconds(600));
  if (res.status == 404) co_return std::nullopt;
  if (res.status != 200) throw Error(res.status, message_of(res.body));
  co_return res.body;
}

asio::awaitable<void> Client::archive_put(const std::string& id, const std::string& path,
                                          const std::string& tar) {
  http::Request req{"PUT", kApi + "/containers/" + id + "/archive?path=" + http::url_encode(path),
                    tar, "application/x-tar"};
  auto res = co_await timed(*http_, req, std::chrono::seconds(600));
  if (res.status != 200) throw Error(res.status, message_of(res.body));
}

asio::awaitable<void> Client::archive_put_stream(
    const std::string& id, const std::string& path, int64_t size,
    std::function<asio::awaitable<std::string>()> next) {
  http::Request req{"PUT", kApi + "/containers/" + id + "/archive?path=" + http::url_encode(path),
                    "", "application/x-tar"};
  // Each piece within a minute; dockerd unpacks as it reads.
  metrics::ScopedTimer timer(metrics::docker_request_histogram(req.method, req.target));
  // A named body, not a temporary in the co_await: g++ 12 destroys those twice.
  http::BodySource body{size, std::move(next)};
  auto res = co_await http_->send(req, std::move(body), std::chrono::seconds(60));
  if (res.status != 200) throw Error(res.status, message_of(res.body));
}

asio::awaitable<void> Client::container_start(const std::string& id) {
  try {
    co_await call("POST", "/containers/" + id + "/start");
  } catch (const Error& e) {
    if (e.status != 304) throw;  // already running
  }
}

asio::awaitable<void> Client::container_stop(const std::string& id, int timeout_seconds) {
  try {
    co_await call("POST", "/containers/" + id + "/stop?t=" + std::to_string(timeout_seconds));
  } catch (const Error& e) {
    if (e.status != 304) throw;  // already stopped
  }
}

asio::awaitable<void> Client::container_kill(const std::string& id, const std::string& signal) {
  co_await call("POST", "/containers/" + id + "/kill?signal=" + signal);
}

asio::awaitable<void> Client::container_remove(const std::string& id) {
  try {
    co_await call("DELETE", "/containers/" + id + "?force=true&v=true");
  } catch (const Error& e) {
    if (e.status != 404) throw;
  }
}

asio::awaitable<std::optional<ContainerInfo>> Client::container_inspect(const std::string& id) {
  json j;
  try {
    j = co_await call("GET", "/containers/" + id + "/json");
  } catch (const Error& e) {
    if (e.status != 404) throw;
    co_return std::nullopt;
  }
  ContainerInfo info;
  info.id = j.value("Id", "");
  info.name = j.value("Name", "");
  if (info.name.starts_with("/")) info.name.erase(0, 1);
  info.image = j["Config"].value("Image", "");
  auto& state = j["State"];
  info.state = state.value("Status", "");
  info.running = state.value("Running", false);
  info.exit_code = state.value("ExitCode", 0);
  info.pid = state.value("Pid", 0);
  info.restart_count = j.value("RestartCount", 0);
  if (auto labels = j["Config"].find("Labels"); labels != j["Config"].end() && labels->is_object())
    info.labels = labels->get<std::map<std::string, std::string>>();
  info.memory_bytes = j["HostConfig"].value("Memory", int64_t{0});
  if (j.contains("NetworkSettings") && j["NetworkSettings"].contains("Networks"))
    for (auto& [net, cfg] : j["NetworkSettings"]["Networks"].items()) {
      std::string ip = cfg.value("IPAddress", "");
      // A stopped container has no live address: report the one it is configured with.
      if (ip.empty() && cfg.contains("IPAMConfig") && cfg["IPAMConfig"].is_object())
        ip = cfg["IPAMConfig"].value("IPv4Address", "");
      info.ips[net] = ip;
    }
  co_return info;
}

asio::awaitable<std::vector<ContainerInfo>> Client::container_list(const std::string& label_key,
                                                                   const std::string& label_value) {
  auto j = co_await call(
      "GET", "/containers/json?all=true&filters=" + label_filter(label_key, label_value));
  std::vector<ContainerInfo> out;
  for (auto& c : j) out.push_back(from_list_entry(c));
  co_return out;
}

asio::awaitable<int> Client::container_wait(const std::string& id, std::chrono::seconds timeout) {
  http::Request req{"POST", kApi + "/containers/" + id + "/wait"};
  auto res = co_await timed(*http_, req, timeout);
  if (res.status != 200) throw Error(res.status, message_of(res.body));
  co_return json::parse(res.body).value("StatusCode", -1);
}

namespace {

// Without a TTY the log stream is multiplexed: 8-byte frame headers (stream, 0, 0, 0, size).
std::string demultiplexed(const std::string& body) {
  std::string out;
  size_t pos = 0;
  while (pos + 8 <= body.size()) {
    auto byte = [&](size_t i) { return static_cast<unsigned char>(body[pos + i]); };
    size_t size = size_t{byte(4)} << 24 | size_t{byte(5)} << 16 | size_t{byte(6)} << 8 | byte(7);
    out += body.substr(pos + 8, size);
    pos += 8 + size;
  }
  return out;
}

}  // namespace

asio::awaitable<std::string> Client::container_logs(const std::string& id) {
  http::Request req{"GET", kApi + "/containers/" + id + "/logs?stdout=1&stderr=1"};
  auto res = co_await timed(*http_, req, std::chrono::seconds(30));
  if (res.status != 200) throw Error(res.status, message_of(res.body));
  co_return demultiplexed(res.body);
}

asio::awaitable<std::string> Client::container_log_lines(const std::string& id, int tail,
                                                         int64_t since_seconds) {
  http::Request req{"GET", kApi + "/containers/" + http::url_encode(id) +
                               "/logs?stdout=1&stderr=1&timestamps=1&tail=" + std::to_string(tail) +
                               "&since=" + std::to_string(since_seconds)};
  auto res = co_await timed(*http_, req, std::chrono::seconds(30));
  if (res.status != 200) throw Error(res.status, message_of(res.body));
  co_return demultiplexed(res.body);
}

asio::awaitable<void> Client::container_update_memory(const std::string& id, int64_t memory_bytes) {
  json body = {{"Memory", memory_bytes}, {"MemorySwap", memory_bytes}};
  co_await call("POST", "/containers/" + id + "/update", body.dump());
}

asio::awaitable<std::optional<json>> Client::network_inspect(const std::string& name) {
  try {
    co_return co_await call("GET", "/networks/" + http::url_encode(name));
  } catch (const Error& e) {
    if (e.status != 404) throw;
  }
  co_return std::nullopt;
}

asio::awaitable<void> Client::network_create(const NetworkSpec& spec) {
  json ipam_config = json::object();
  if (!spec.subnet.empty()) ipam_config["Subnet"] = spec.subnet;
  if (!spec.gateway.empty()) ipam_config["Gateway"] = spec.gateway;
  json body = {{"Name", spec.name},       {"Driver", spec.driver},
               {"CheckDuplicate", true},  {"IPAM", {{"Config", json::array({ipam_config})}}},
               {"Options", spec.options}, {"Labels", spec.labels}};
  co_await call("POST", "/networks/create", body.dump());
}

asio::awaitable<void> Client::volume_remove(const std::string& name) {
  try {
    co_await call("DELETE", "/volumes/" + http::url_encode(name) + "?force=true");
  } catch (const Error& e) {
    if (e.status != 404) throw;
  }
}

asio::awaitable<void> Client::volume_create(const std::string& name) {
  json body = {{"Name", name}};
  co_await call("POST", "/volumes/create", body.dump());
}

asio::awaitable<std::string> Client::volume_mountpoint(const std::string& name) {
  try {
    auto answer = co_await call("GET", "/volumes/" + http::url_encode(name));
    if (answer.is_object()) co_return answer.value("Mountpoint", "");
  } catch (const Error& e) {
    if (e.status != 404) throw;
  }
  co_return "";
}

asio::awaitable<std::vector<std::string>> Client::volume_list(const std::string& part) {
  json filters = {{"name", {part}}};
  auto answer = co_await call("GET", "/volumes?filters=" + http::url_encode(filters.dump()));
  std::vector<std::pair<std::string, std::string>> found;  // created, name
  for (auto& v : answer.value("Volumes", json::array()))
    if (v.is_object()) found.push_back({v.value("CreatedAt", ""), v.value("Name", "")});
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& [created, name] : found) out.push_back(name);
  co_return out;
}

asio::awaitable<std::map<std::string, int64_t>> Client::volume_sizes() {
  // Only the disk-usage report has sizes (it walks every volume: called rarely).
  auto df = co_await call("GET", "/system/df");
  std::map<std::string, int64_t> out;
  for (auto& v : df.value("Volumes", json::array()))
    if (v.is_object())
      out[v.value("Name", "")] = v.contains("UsageData") && v["UsageData"].is_object()
                                     ? v["UsageData"].value("Size", int64_t{-1})
                                     : -1;
  co_return out;
}

asio::awaitable<void> Client::events(std::function<bool(const json&)> on_event, const json& filters,
                                     std::function<void()> on_connected) {
  std::string target = kApi + "/events";
  json f = filters.empty() ? json{{"type", {"container"}}} : filters;
  target += "?filters=" + http::url_encode(f.dump());
  http::Request req{"GET", target};
  int status = 0;
  std::string error_body;  // a refused subscription answers with one JSON error, not events
  auto on_line = http::split_lines([&](const std::string& line) {
    auto event = json::parse(line, nullptr, /*allow_exceptions=*/false);
    return event.is_discarded() || on_event(event);
  });
  co_await http_->stream(
      req,
      [&](int s) {
        status = s;
        if (status == 200 && on_connected) on_connected();
      },
      [&](std::string_view data) {
        if (status == 200) return on_line(data);
        error_body.append(data);
        return true;
      });
  if (status != 200) throw Error(status, message_of(error_body));
}

}  // namespace berth::docker
