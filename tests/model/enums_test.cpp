#include <gtest/gtest.h>

#include "model/model.hpp"

namespace berth::model {
namespace {

using nlohmann::json;

// Each enum writes exactly the string it was before it was an enum, and reads it back.
template <class E>
void round_trips(std::initializer_list<std::pair<E, const char*>> table) {
  for (auto& [value, text] : table) {
    EXPECT_EQ(json(value).dump(), json(std::string(text)).dump()) << text;
    EXPECT_EQ(json(text).get<E>(), value) << text;
    EXPECT_EQ(name(value), text);
    EXPECT_EQ(from_name<E>(text), value);
  }
}

TEST(Enums, WriteTheSameStringsAsBefore) {
  round_trips<Role>({{Role::none, ""}, {Role::primary, "primary"}, {Role::replica, "replica"}});
  round_trips<InstanceState>({{InstanceState::none, ""},
                              {InstanceState::starting, "starting"},
                              {InstanceState::healthy, "healthy"},
                              {InstanceState::unhealthy, "unhealthy"},
                              {InstanceState::failed, "failed"}});
  round_trips<TaskState>({{TaskState::pending, "pending"},
                          {TaskState::running, "running"},
                          {TaskState::done, "done"},
                          {TaskState::failed, "failed"},
                          {TaskState::cancelled, "cancelled"}});
  round_trips<TaskKind>(
      {{TaskKind::none, ""}, {TaskKind::backup, "backup"}, {TaskKind::restore, "restore"}});
  round_trips<Verification>({{Verification::unverified, "unverified"},
                             {Verification::verified, "verified"},
                             {Verification::failed, "failed"}});
}

TEST(Enums, UnknownValuesReadAsTheFallbackWithoutThrowing) {
  EXPECT_EQ(json("leader").get<Role>(), Role::none);
  EXPECT_EQ(json(7).get<Role>(), Role::none);
  EXPECT_EQ(json(nullptr).get<InstanceState>(), InstanceState::none);
  EXPECT_EQ(json("paused").get<TaskState>(), TaskState::failed);  // finished: nobody acts on it
  EXPECT_TRUE(task_finished(json("paused").get<TaskState>()));
  EXPECT_EQ(json("snapshot").get<TaskKind>(), TaskKind::none);
  EXPECT_EQ(json("maybe").get<Verification>(), Verification::unverified);
}

// Records keep their JSON byte for byte: defaults included.
TEST(Enums, RecordsSerialiseAsBefore) {
  EXPECT_EQ(json(Allocation{}).at("role"), "primary");
  InstanceStatus st;
  EXPECT_EQ(json(st).at("state"), "");
  EXPECT_EQ(json(st).at("role"), "");
  Task t;
  EXPECT_EQ(json(t).at("state"), "pending");
  EXPECT_EQ(json(t).at("kind"), "");
  Backup b;
  EXPECT_EQ(json(b).at("verified"), "unverified");
  EXPECT_EQ(json(b).at("source_role"), "");

  auto parsed = parse<InstanceStatus>(R"({"state":"healthy","role":"replica","host":"h"})");
  EXPECT_EQ(parsed.state, InstanceState::healthy);
  EXPECT_EQ(parsed.role, Role::replica);
  EXPECT_EQ(json::parse(dump(parsed)).at("state"), "healthy");
  auto task = parse<Task>(R"({"kind":"restore","state":"cancelled"})");
  EXPECT_EQ(task.kind, TaskKind::restore);
  EXPECT_EQ(task.state, TaskState::cancelled);
}

Allocation alloc(int n, Role role, int64_t epoch) {
  Allocation a;
  a.n = n;
  a.role = role;
  a.epoch = epoch;
  return a;
}

// primary_of: the highest epoch among those whose role is primary; a tie goes to the lowest n.
TEST(PrimaryOf, Rule) {
  struct Case {
    const char* name;
    std::vector<Allocation> allocations;
    int want;  // n, or -1 for none
  };
  std::vector<Case> cases{
      {"none at all", {}, -1},
      {"only replicas", {alloc(0, Role::replica, 3), alloc(1, Role::replica, 4)}, -1},
      {"one primary", {alloc(0, Role::replica, 1), alloc(1, Role::primary, 1)}, 1},
      {"stale primary loses to the promoted one",
       {alloc(0, Role::primary, 2), alloc(1, Role::primary, 3), alloc(2, Role::replica, 3)},
       1},
      {"promoted one found first", {alloc(1, Role::primary, 3), alloc(0, Role::primary, 2)}, 1},
      {"a tie goes to the lowest n", {alloc(2, Role::primary, 5), alloc(1, Role::primary, 5)}, 1},
      {"a replica's higher epoch does not count",
       {alloc(0, Role::primary, 1), alloc(1, Role::replica, 9)},
       0},
  };
  for (auto& c : cases) {
    auto* p = primary_of(c.allocations);
    EXPECT_EQ(p ? p->n : -1, c.want) << c.name;
    // The same over pointers and over entries with a projection.
    std::vector<const Allocation*> pointers;
    for (auto& a : c.allocations) pointers.push_back(&a);
    auto* q = primary_of(pointers);
    EXPECT_EQ(q ? q->n : -1, c.want) << c.name;
    struct Entry {
      std::string key;
      Allocation a;
    };
    std::vector<Entry> entries;
    for (auto& a : c.allocations) entries.push_back({"k", a});
    auto* e = primary_of(entries, &Entry::a);
    EXPECT_EQ(e ? e->a.n : -1, c.want) << c.name;
  }
}

}  // namespace
}  // namespace berth::model
