// One method per endpoint: the path, the method, and the decoding of the answer.
#include "client/client.hpp"

namespace berth::client {

namespace {

template <class T>
std::vector<T> decode_list(const json& array, T (*decode)(const json&)) {
  std::vector<T> out;
  if (array.is_array())
    for (auto& item : array) out.push_back(decode(item));
  return out;
}

std::string database_path(const std::string& ref) {
  return "/v1/databases/" + escape(ref);
}

}  // namespace

Databases::Created Databases::create(const DatabaseSpec& spec, bool wait) {
  auto r = c_.send("POST", wait ? "/v1/databases" : "/v1/databases?wait=false", encode(spec));
  return {decode_database(r.body), r.status == 201};
}

std::vector<Database> Databases::list() {
  return decode_list(c_.send("GET", "/v1/databases").body, decode_database);
}

Database Databases::get(const std::string& ref) {
  return decode_database(c_.send("GET", database_path(ref)).body);
}

Database Databases::update(const std::string& ref, const DatabaseUpdate& update) {
  return decode_database(c_.send("PATCH", database_path(ref), encode(update)).body);
}

void Databases::remove(const std::string& ref) {
  c_.send("DELETE", database_path(ref));
}

Database Databases::switchover(const std::string& ref, std::optional<int> to) {
  json body = json::object();
  if (to) body["to"] = *to;
  return decode_database(c_.send("POST", database_path(ref) + "/switchover", body).body);
}

Databases::Rotated Databases::rotate_password(const std::string& ref,
                                              const std::optional<std::string>& password) {
  json body = json::object();
  if (password) body["password"] = *password;
  auto reply = c_.send("POST", database_path(ref) + "/password", body);
  return {decode_database(reply.body), reply.status == 200};
}

Usage Databases::usage(const std::string& ref, const std::string& range) {
  return decode_usage(c_.send("GET", database_path(ref) + "/usage?range=" + escape(range)).body);
}

Task Databases::backup(const std::string& ref, bool verify) {
  return decode_task(c_.send("POST", database_path(ref) + "/backups", {{"verify", verify}}).body);
}

Task Databases::restore(const std::string& ref, const std::string& backup_id) {
  return decode_task(
      c_.send("POST", database_path(ref) + "/restore", {{"backup", backup_id}}).body);
}

std::vector<Host> Hosts::list() {
  return decode_list(c_.send("GET", "/v1/hosts").body, decode_host);
}

Host Hosts::drain(const std::string& name) {
  return decode_host(c_.send("POST", "/v1/hosts/" + escape(name) + "/drain", json::object()).body);
}

Host Hosts::undrain(const std::string& name) {
  return decode_host(
      c_.send("POST", "/v1/hosts/" + escape(name) + "/undrain", json::object()).body);
}

json Network::get() {
  return c_.send("GET", "/v1/network").body;
}

json Network::set(const NetworkSettings& settings) {
  return c_.send("PUT", "/v1/network", encode(settings)).body;
}

std::vector<Engine> Engines::list() {
  return decode_list(c_.send("GET", "/v1/engines").body, decode_engine);
}

Engine Engines::set_image(const std::string& engine, const std::string& image) {
  return decode_engine(c_.send("PUT", "/v1/engines/" + escape(engine), {{"image", image}}).body);
}

std::vector<Backup> Backups::list(const std::string& database) {
  std::string path = "/v1/backups" + (database.empty() ? "" : "?database=" + escape(database));
  return decode_list(c_.send("GET", path).body, decode_backup);
}

Backup Backups::get(const std::string& id) {
  return decode_backup(c_.send("GET", "/v1/backups/" + escape(id)).body);
}

std::vector<Orphan> Orphans::list() {
  return decode_list(c_.send("GET", "/v1/orphans").body, decode_orphan);
}

bool Orphans::remove(const std::string& id) {
  return c_.send("DELETE", "/v1/orphans/" + escape(id)).status == 204;
}

void Backups::remove(const std::string& id) {
  c_.send("DELETE", "/v1/backups/" + escape(id));
}

std::string Backups::data(const std::string& id) {
  return c_.send_raw("GET", "/v1/backups/" + escape(id) + "/data");
}

Backups::RestoreToNew Backups::restore_to_new(const std::string& backup_id,
                                              const std::string& new_name) {
  auto r = c_.send("POST", "/v1/backups/" + escape(backup_id) + "/restore", {{"to", new_name}});
  json database = r.body.is_object() ? r.body.value("database", json::object()) : json::object();
  return {decode_task(r.body), decode_database(database)};
}

std::vector<Task> Tasks::list() {
  return decode_list(c_.send("GET", "/v1/tasks").body, decode_task);
}

Task Tasks::get(const std::string& id) {
  return decode_task(c_.send("GET", "/v1/tasks/" + escape(id)).body);
}

Task Tasks::wait(const std::string& id, int64_t revision, int wait_seconds) {
  return decode_task(c_.send("GET", "/v1/tasks/" + escape(id) +
                                        "?wait=" + std::to_string(wait_seconds) +
                                        "&revision=" + std::to_string(revision))
                         .body);
}

Task Tasks::follow(const std::string& id, const std::function<void(const Task&)>& on_change) {
  int64_t revision = 0;
  for (;;) {
    auto task = wait(id, revision);
    revision = task.revision;
    if (on_change) on_change(task);
    if (task.finished()) return task;
  }
}

Task Tasks::cancel(const std::string& id) {
  return decode_task(c_.send("POST", "/v1/tasks/" + escape(id) + "/cancel").body);
}

std::vector<Event> Events::list(const EventQuery& q) {
  std::string path = "/v1/events?limit=" + std::to_string(q.limit);
  if (!q.database.empty()) path += "&database=" + escape(q.database);
  if (!q.after.empty()) {
    path += "&after=" + escape(q.after);
    if (q.wait_seconds > 0) path += "&wait=" + std::to_string(q.wait_seconds);
  }
  auto body = c_.send("GET", path).body;
  return decode_list(body.is_object() ? body.value("events", json::array()) : json::array(),
                     decode_event);
}

void Events::follow(EventQuery q, const std::function<void(const Event&)>& on_event) {
  for (;;) {
    for (auto& e : list(q)) {
      if (!e.id.empty()) q.after = e.id;
      on_event(e);
    }
    if (q.after.empty()) q.after = "0";  // nothing yet: everything from now on is new
    q.limit = 10000;
    q.wait_seconds = 30;
  }
}

}  // namespace berth::client
