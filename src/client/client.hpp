// A typed client of berth's REST API (/v1): what the CLI, tests and programs embedding berth
// use instead of raw paths. Calls block the calling thread; one Client is used by one thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "client/types.hpp"

namespace berth::client {

// The server answered with an error: its HTTP status and the API's `error` text (what()).
class ApiError : public std::runtime_error {
 public:
  ApiError(int status, const std::string& error) : std::runtime_error(error), status_(status) {}
  int status() const { return status_; }
  // 4xx: the request itself was refused (bad input, unknown name, wrong token).
  bool refused() const { return status_ >= 400 && status_ < 500; }

 private:
  int status_;
};

// No answer at all: refused connection, unknown host, a broken exchange or a timeout.
struct ConnectError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One answer as it came: the status (201 and 202 differ for the caller) and the parsed body.
struct Reply {
  int status = 0;
  json body;
};

class Client;

// The handles group the endpoints by resource, as nomad's api package does: client.databases().
class Databases {
 public:
  explicit Databases(Client& c) : c_(c) {}
  struct Created {
    Database database;
    bool ready = false;  // 201: answering; 202: created, not (yet) healthy
  };
  // wait=false answers at once, before the instances are healthy.
  Created create(const DatabaseSpec& spec, bool wait = true);
  std::vector<Database> list();
  Database get(const std::string& ref);  // ref: name or id
  Database update(const std::string& ref, const DatabaseUpdate& update);
  void remove(const std::string& ref);
  Database switchover(const std::string& ref, std::optional<int> to = std::nullopt);
  // A new password (made up when none is given), set live on every instance. taken: every
  // instance answers to it already (else its agents go on).
  struct Rotated {
    Database database;  // its password: the new one, shown this once
    bool taken = false;
  };
  Rotated rotate_password(const std::string& ref,
                          const std::optional<std::string>& password = std::nullopt);
  Usage usage(const std::string& ref, const std::string& range = "1h");
  Task backup(const std::string& ref, bool verify = false);
  Task restore(const std::string& ref, const std::string& backup_id);

 private:
  Client& c_;
};

class Hosts {
 public:
  explicit Hosts(Client& c) : c_(c) {}
  std::vector<Host> list();
  Host drain(const std::string& name);
  Host undrain(const std::string& name);

 private:
  Client& c_;
};

class Network {
 public:
  explicit Network(Client& c) : c_(c) {}
  json get();
  json set(const NetworkSettings& settings);

 private:
  Client& c_;
};

class Orphans {
 public:
  explicit Orphans(Client& c) : c_(c) {}
  std::vector<Orphan> list();
  // Removes an orphan's volume: true when its host did it, false when it will once back.
  bool remove(const std::string& id);

 private:
  Client& c_;
};

class Engines {
 public:
  explicit Engines(Client& c) : c_(c) {}
  std::vector<Engine> list();
  Engine set_image(const std::string& engine, const std::string& image);

 private:
  Client& c_;
};

class Backups {
 public:
  explicit Backups(Client& c) : c_(c) {}
  std::vector<Backup> list(const std::string& database = "");
  Backup get(const std::string& id);
  void remove(const std::string& id);
  std::string data(const std::string& id);  // the backup file's bytes
  struct RestoreToNew {
    Task task;
    Database database;  // as created: the only answer that carries its password
  };
  RestoreToNew restore_to_new(const std::string& backup_id, const std::string& new_name);

 private:
  Client& c_;
};

class Tasks {
 public:
  explicit Tasks(Client& c) : c_(c) {}
  std::vector<Task> list();
  Task get(const std::string& id);
  // Long poll: answers when the task changed past `revision` (or, with 0, ended), or after
  // wait_seconds with the task as it is.
  Task wait(const std::string& id, int64_t revision, int wait_seconds = 30);
  // Polls until the task ends; on_change sees every version, the last one included.
  Task follow(const std::string& id, const std::function<void(const Task&)>& on_change = {});
  Task cancel(const std::string& id);

 private:
  Client& c_;
};

class Events {
 public:
  explicit Events(Client& c) : c_(c) {}
  std::vector<Event> list(const EventQuery& query);
  // The page `query` asks for, then every new event as it happens; returns only by throwing.
  [[noreturn]] void follow(EventQuery query, const std::function<void(const Event&)>& on_event);

 private:
  Client& c_;
};

class Client {
 public:
  static constexpr int kPostAttempts = 3;
  // server: "http://host:port", "https://host:port" (or "host:port"); token: the API token;
  // ca_file: the CA an https server's certificate is checked against (else the system's).
  Client(std::string server, std::string token,
         std::chrono::milliseconds timeout = std::chrono::seconds(120), std::string ca_file = "");
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const std::string& server() const { return server_; }
  // Every request from now on carries ?project= (an operator's narrowing; "" for none).
  void set_project(std::string project);

  Databases databases() { return Databases(*this); }
  Hosts hosts() { return Hosts(*this); }
  Network network() { return Network(*this); }
  Engines engines() { return Engines(*this); }
  Orphans orphans() { return Orphans(*this); }
  Backups backups() { return Backups(*this); }
  Tasks tasks() { return Tasks(*this); }
  Events events() { return Events(*this); }

  // The exchange under every call: a JSON body out (none when null), the parsed answer back.
  // A status of 400 or more throws ApiError; no answer throws ConnectError. A POST carries an
  // Idempotency-Key and is sent again, up to kPostAttempts times, when no answer came.
  Reply send(const std::string& method, const std::string& path, const json& body = nullptr);
  // The same for answers that are not JSON (backup data): the body as bytes.
  std::string send_raw(const std::string& method, const std::string& path);

 private:
  struct Impl;
  std::string server_;
  std::unique_ptr<Impl> impl_;
};

// Percent-encodes one path segment or query value.
std::string escape(const std::string& text);

}  // namespace berth::client
