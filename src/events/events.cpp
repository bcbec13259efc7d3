#include "events/events.hpp"

#include <fmt/format.h>

namespace berth::events {

void to_json(nlohmann::json& j, const Event& e) {
  j = nlohmann::json{{"id", e.id}, {"time", e.time}, {"kind", e.kind}, {"message", e.message}};
  if (!e.database.empty()) j["database"] = e.database;
  if (!e.name.empty()) j["name"] = e.name;
  if (!e.project.empty()) j["project"] = e.project;
  if (!e.host.empty()) j["host"] = e.host;
  if (e.instance >= 0) j["instance"] = e.instance;
}

void from_json(const nlohmann::json& j, Event& e) {
  e.id = j.value("id", "");
  e.time = j.value("time", "");
  e.kind = j.value("kind", "");
  e.database = j.value("database", "");
  e.name = j.value("name", "");
  e.project = j.value("project", "");
  e.host = j.value("host", "");
  e.instance = j.value("instance", -1);
  e.message = j.value("message", "");
}

std::string key(int64_t unix_micros, int index) {
  return kPrefix + fmt::format("{:016d}-{:03d}", unix_micros, index);
}

std::string key_before(int64_t unix_micros) {
  return kPrefix + fmt::format("{:016d}", unix_micros);
}

namespace {

int instance_number(const std::string& instance_key) {
  auto slash = instance_key.find('/');
  return slash == std::string::npos ? -1 : std::atoi(instance_key.c_str() + slash + 1);
}

// The primary of each database: its instance key.
std::map<std::string, std::string> primaries(const View& view) {
  std::map<std::string, std::string> out;
  for (auto& [key, instance] : view.instances)
    if (instance.role == "primary") out[instance.database] = key;
  return out;
}

std::string plural(int n, const char* word) {
  return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s");
}

}  // namespace

std::vector<Event> diff(const View& before, const View& after,
                        const std::set<std::string>& failed_over) {
  std::vector<Event> out;
  auto database_event = [&](const std::string& id, const std::string& name, std::string kind,
                            std::string message) {
    Event e;
    e.kind = std::move(kind);
    e.database = id;
    e.name = name;
    if (auto now = after.databases.find(id); now != after.databases.end())
      e.project = now->second.project;
    else if (auto was = before.databases.find(id); was != before.databases.end())
      e.project = was->second.project;  // deleted
    e.message = std::move(message);
    out.push_back(std::move(e));
    return &out.back();
  };

  for (auto& [name, state] : after.hosts) {
    auto was = before.hosts.find(name);
    std::string old = was == before.hosts.end() ? "" : was->second;
    if (old == state) continue;
    Event e;
    e.host = name;
    if (old.empty() && state == "down") {
      continue;  // known only from its settings: it says nothing until its agent registers
    } else if (old.empty()) {
      e.kind = "host.joined";
      e.message = "host " + name + " joined (" + state + ")";
    } else if (state == "down") {
      e.kind = "host.down";
      e.message = "host " + name + " is down: its agent's lease expired";
    } else if (old == "down") {
      e.kind = "host.up";
      e.message = "host " + name + " is up (" + state + ")";
    } else if (state == "draining") {
      e.kind = "host.draining";
      e.message = "host " + name + " is draining: its instances move away";
    } else {
      e.kind = "host.undrained";
      e.message = "host " + name + " takes new instances again";
    }
    out.push_back(std::move(e));
  }
  if (before.etcd != after.etcd && !after.etcd.empty() &&
      !(before.etcd.empty() && after.etcd == "ok")) {
    Event e;
    e.kind = after.etcd == "ok" ? "etcd.ok" : "etcd.filling";
    e.message = after.etcd == "ok" ? "etcd has room again"
                                   : "etcd is filling (" + after.etcd +
                                         "): compact and defragment it, or raise its quota";
    out.push_back(std::move(e));
  }
  // An agent that started again and took its lease back: the host never left.
  for (auto& [name, started] : after.agents) {
    auto was = before.agents.find(name);
    if (was == before.agents.end() || was->second.empty() || was->second == started) continue;
    Event e;
    e.kind = "host.agent_restarted";
    e.host = name;
    e.message = "the agent on " + name + " restarted; its instances ran on";
    out.push_back(std::move(e));
  }
  for (auto& [name, state] : before.hosts)
    if (!after.hosts.count(name)) {
      Event e;
      e.kind = "host.removed";
      e.host = name;
      e.message = "host " + name + " was removed";
      out.push_back(std::move(e));
    }

  for (auto& [id, db] : after.databases) {
    auto was = before.databases.find(id);
    if (was == before.databases.end()) {
      database_event(id, db.name, "database.created",
                     fmt::format("{} database {} created: {} MiB, {}", db.engine, db.name,
                                 db.memory_mb, plural(db.replicas, "replica")));
      continue;
    }
    if (was->second.memory_mb != db.memory_mb)
      database_event(id, db.name, "database.resized",
                     fmt::format("{} resized from {} to {} MiB", db.name, was->second.memory_mb,
                                 db.memory_mb));
    if (was->second.replicas != db.replicas)
      database_event(id, db.name, "database.scaled",
                     fmt::format("{} now has {} (was {})", db.name, plural(db.replicas, "replica"),
                                 was->second.replicas));
  }
  for (auto& [id, db] : before.databases)
    if (!after.databases.count(id))
      database_event(id, db.name, "database.deleted", db.name + " deleted with its data");

  auto name_of = [&](const std::string& id) {
    if (auto it = after.databases.find(id); it != after.databases.end()) return it->second.name;
    if (auto it = before.databases.find(id); it != before.databases.end()) return it->second.name;
    return std::string();
  };

  // A new primary: a failover when the old one was lost, a switchover when it was healthy.
  auto old_primaries = primaries(before), new_primaries = primaries(after);
  for (auto& [id, now_key] : new_primaries) {
    auto was = old_primaries.find(id);
    if (was == old_primaries.end() || was->second == now_key) continue;
    auto& old_key = was->second;
    auto& old_instance = before.instances.at(old_key);
    auto& new_instance = after.instances.at(now_key);
    auto old_host_state = after.hosts.find(old_instance.host);
    auto old_now = after.instances.find(old_key);
    bool lost = failed_over.count(id) || old_instance.state != "healthy" ||
                old_host_state == after.hosts.end() || old_host_state->second == "down" ||
                (old_now != after.instances.end() && old_now->second.state == "failed");
    auto* e = database_event(id, name_of(id), lost ? "database.failover" : "database.switchover",
                             fmt::format("{}: primary {} #{} on {} → #{} on {}", name_of(id),
                                         lost ? "lost, failed over from" : "switched over from",
                                         instance_number(old_key), old_instance.host,
                                         instance_number(now_key), new_instance.host));
    e->host = new_instance.host;
    e->instance = instance_number(now_key);
  }

  for (auto& [key, instance] : after.instances) {
    auto was = before.instances.find(key);
    int n = instance_number(key);
    auto instance_event = [&](std::string kind, std::string message) {
      auto* e = database_event(instance.database, name_of(instance.database), std::move(kind),
                               std::move(message));
      e->host = instance.host;
      e->instance = n;
    };
    std::string name = name_of(instance.database);
    if (was != before.instances.end() && was->second.host != instance.host) {
      instance_event("instance.moved", fmt::format("{} #{} moved from {} to {}", name, n,
                                                   was->second.host, instance.host));
      continue;  // its state starts afresh on the new host
    }
    std::string old_state = was == before.instances.end() ? "" : was->second.state;
    if (old_state == instance.state || instance.state.empty() || instance.state == "starting")
      continue;
    std::string detail = instance.message.empty() ? "" : ": " + instance.message;
    if (instance.state == "healthy")
      instance_event("instance.healthy", fmt::format("{} #{} on {} is healthy ({})", name, n,
                                                     instance.host, instance.role));
    else
      instance_event(
          "instance." + instance.state,
          fmt::format("{} #{} on {} is {}{}", name, n, instance.host, instance.state, detail));
  }

  for (auto& [id, task] : after.tasks) {
    auto was = before.tasks.find(id);
    std::string old_state = was == before.tasks.end() ? "" : was->second.state;
    if (old_state == task.state) continue;
    std::string kind;
    std::string message;
    if (old_state.empty() && task.state == "pending") {
      kind = task.kind + ".started";
      message = fmt::format("{} of {} started (task {})", task.kind, task.name, id);
    } else if (task.state == "done" || task.state == "failed" || task.state == "cancelled") {
      kind = task.kind + "." + task.state;
      message = fmt::format("{} of {} {}{}", task.kind, task.name, task.state,
                            task.detail.empty() ? "" : ": " + task.detail);
    } else {
      continue;
    }
    database_event(task.database, task.name, kind, message);
  }
  return out;
}

}  // namespace berth::events
