// berth tasks, task, cancel, usage, events: watching what the cluster does.
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "cli/commands.hpp"

namespace berth::cli {

client::Task follow_task(client::Client& c, const std::string& id, bool quiet, const Output& o) {
  bool tty = !quiet && &o.out == &std::cout && ::isatty(STDOUT_FILENO);
  size_t printed = 0;
  auto task = c.tasks().follow(id, [&](const client::Task& t) {
    if (!quiet && !tty)
      for (; printed < t.log.size(); ++printed) o.out << t.log[printed] << "\n";
    if (tty) {
      std::string bar(t.progress / 5, '#');
      bar.resize(20, ' ');
      std::string last = t.log.empty() ? "" : t.log.back();
      if (auto space = last.find(' '); space != std::string::npos) last = last.substr(space + 1);
      o.out << "\r[" << bar << "] " << t.progress << "% " << last.substr(0, 50) << "\033[K"
            << std::flush;
    }
  });
  if (tty) o.out << "\n";
  return task;
}

int list_tasks(client::Client& c, const Output& o) {
  print_list(
      o, c.tasks().list(), {"ID", "KIND", "DATABASE", "STATE", "PROGRESS", "WORKER", "AGE"},
      [](const client::Task& t) -> Row {
        return {
            t.id,     t.kind,           t.database_name, t.state, std::to_string(t.progress) + "%",
            t.worker, age(t.created_at)};
      });
  return 0;
}

int show_task(client::Client& c, const std::string& id, bool follow, const Output& o) {
  client::Task t;
  if (follow) {
    t = follow_task(c, id, o.json, o);
  } else {
    t = c.tasks().get(id);
    if (!o.json)
      for (auto& line : t.log) o.out << line << "\n";
  }
  if (o.json) print_json(o.out, t.raw);
  return follow && t.state != "done" ? 1 : 0;
}

int cancel_task(client::Client& c, const std::string& id, const Output& o) {
  auto t = c.tasks().cancel(id);
  o.out << t.id << ": " << t.state
        << (t.raw.value("cancel_requested", false) ? " (cancel requested)" : "") << "\n";
  return 0;
}

int show_usage(client::Client& c, const std::string& ref, const std::string& range,
               const Output& o) {
  auto usage = c.databases().usage(ref, range);
  if (o.json) {
    print_json(o.out, usage.raw);
    return 0;
  }
  o.out << usage.name << ": usage over " << usage.range << ", a point every " << usage.step_seconds
        << " s\n";
  if (usage.points.empty()) {
    o.out << "no samples yet\n";
    return 0;
  }
  std::vector<Row> rows{{"TIME", "MEMORY", "LIMIT", "KEYS", "CONNECTIONS", "OPS/S"}};
  for (auto& p : usage.points) {
    char ops[32];
    std::snprintf(ops, sizeof ops, "%.1f", p.ops_per_sec);
    rows.push_back({p.time, human_bytes(p.memory_used_bytes), human_bytes(p.memory_limit_bytes),
                    std::to_string(p.keys), std::to_string(p.connections), ops});
  }
  o.out << format_table(rows);
  return 0;
}

// One line per event, flushed at once: `--follow` is read as it happens.
int show_events(client::Client& c, const client::EventQuery& query, bool follow, const Output& o) {
  auto print = [&](const client::Event& e) {
    if (o.json)
      o.out << e.raw.dump() << std::endl;
    else
      o.out << e.time << "  " << e.kind << "  " << e.message << std::endl;
  };
  if (follow) c.events().follow(query, print);
  for (auto& e : c.events().list(query)) print(e);
  return 0;
}

void add_task_commands(CLI::App& app, const Context& ctx) {
  auto& flags = *ctx.flags;

  // berth tasks [--json] | berth task ID [--follow] [--json] | berth cancel ID
  auto* tasks = app.add_subcommand("tasks", "List tasks (backups, restores)");
  tasks->add_flag("--json", flags.json, "print a JSON array");
  add_connection(tasks, flags);
  on_run(tasks, ctx, [](auto& c, auto& o) { return list_tasks(c, o); });
  auto* task = app.add_subcommand("task", "Show one task; --follow waits for its end");
  auto task_args = std::make_shared<std::pair<std::string, bool>>("", false);
  task->add_option("id", task_args->first, "task id")->required();
  task->add_flag("--follow,-f", task_args->second, "follow it to its end");
  task->add_flag("--json", flags.json, "print the task as JSON");
  add_connection(task, flags);
  on_run(task, ctx,
         [=](auto& c, auto& o) { return show_task(c, task_args->first, task_args->second, o); });

  // berth usage NAME [--range 1h] [--json]
  auto* usage = app.add_subcommand("usage", "Memory, keys, connections and operations over time");
  auto usage_args = std::make_shared<std::pair<std::string, std::string>>("", "1h");
  usage->add_option("name", usage_args->first, "database name or id")->required();
  usage->add_option("--range", usage_args->second, "how far back: 15m, 1h, 6h, 24h, 7d")
      ->capture_default_str();
  usage->add_flag("--json", flags.json, "print the points as JSON");
  add_connection(usage, flags);
  on_run(usage, ctx,
         [=](auto& c, auto& o) { return show_usage(c, usage_args->first, usage_args->second, o); });

  // berth events [NAME] [--follow] [--limit N] [--json]
  auto* events = app.add_subcommand("events", "What happened: created, failed over, resized...");
  auto query = std::make_shared<client::EventQuery>();
  auto follow = std::make_shared<bool>(false);
  events->add_option("name", query->database, "only this database's events");
  events->add_flag("--follow,-f", *follow, "keep printing events as they happen");
  events->add_option("--limit", query->limit, "how many past events")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  events->add_flag("--json", flags.json, "one JSON object per line");
  add_connection(events, flags);
  on_run(events, ctx, [=](auto& c, auto& o) { return show_events(c, *query, *follow, o); });

  auto* cancel = app.add_subcommand("cancel", "Cancel a task");
  auto cancel_id = std::make_shared<std::string>();
  cancel->add_option("id", *cancel_id, "task id")->required();
  add_connection(cancel, flags);
  on_run(cancel, ctx, [=](auto& c, auto& o) { return cancel_task(c, *cancel_id, o); });
}

}  // namespace berth::cli
