// The leader's etcd upkeep against the fake store: what it compacts, when, and what it reports.
#include "controller/upkeep.hpp"

#include <gtest/gtest.h>

#include "metrics/metrics.hpp"
#include "model/model.hpp"
#include "state/view.hpp"
#include "support/fake_store.hpp"
#include "support/run.hpp"

namespace berth::controller {
namespace {

using namespace std::chrono_literals;
using test::Executor;

// A term over the fake store: etcd, the mirror every owner of the term reads, and its view.
struct LeaderTerm {
  explicit LeaderTerm(Executor ex)
      : etcd(ex), mirror(ex, etcd, "/berth/"), view(mirror), term{ex, etcd, mirror, view, kId} {
    boost::asio::co_spawn(ex, mirror.run(), boost::asio::detached);
  }
  // Writes the leader key (every write of the term checks it) and waits until the mirror has it.
  boost::asio::awaitable<void> lead() {
    int64_t rev = co_await etcd.put(model::keys::kLeader, kId, 0);
    EXPECT_TRUE(co_await mirror.wait_revision(rev, 5s));
  }

  static constexpr const char* kId = "leader-1";
  test::FakeStore etcd;
  store::Mirror mirror;
  state::View view;
  TermContext term;
};

TEST(Upkeep, CompactsToWhatTheRoundBeforeSaw) {
  EXPECT_EQ(compaction_target(0, 0), 0);    // the first round has seen nothing before
  EXPECT_EQ(compaction_target(40, 0), 40);  // everyone has read past 40 by now
  EXPECT_EQ(compaction_target(40, 40), 0);  // nothing written since: nothing to do
  EXPECT_EQ(compaction_target(40, 55), 0);  // compacted further already (another leader)
}

TEST(Upkeep, FillingAtFourFifthsOfTheQuota) {
  store::StoreStatus s;
  s.db_size_bytes = 799;
  EXPECT_FALSE(etcd_filling(s, 1000));
  s.db_size_bytes = 800;
  EXPECT_TRUE(etcd_filling(s, 1000));
  EXPECT_FALSE(etcd_filling(s, 0));  // no quota known
}

TEST(Upkeep, DefragmentsAMemberWhoseFileIsMostlyFreeOnlyWhileAllAnswer) {
  const int64_t MiB = 1 << 20;
  std::vector<store::MemberStatus> members{{"e0", true, 100 * MiB, 60 * MiB},
                                           {"e1", true, 100 * MiB, 40 * MiB},
                                           {"e2", true, 100 * MiB, 30 * MiB}};
  EXPECT_EQ(defragment_target(members, 8 * MiB), "e1");  // the first over half free
  members[1].answered = false;
  EXPECT_EQ(defragment_target(members, 8 * MiB), "") << "a member down: no quorum to spare";
  members[1].answered = true;
  EXPECT_EQ(defragment_target(members, 80 * MiB), "") << "too little to win back";
  EXPECT_EQ(defragment_target({{"e0", true, 10 * MiB, 6 * MiB}}, MiB), "");
  EXPECT_EQ(defragment_target({}, MiB), "");
}

TEST(Upkeep, ARoundDefragmentsOneMemberAtATime) {
  test::run([](Executor ex) -> boost::asio::awaitable<void> {
    LeaderTerm t(ex);
    auto& etcd = t.etcd;
    auto& mirror = t.mirror;
    EtcdUpkeep upkeep(t.term, {.compact_interval = 1h, .quota_bytes = 1 << 30});
    co_await t.lead();
    const int64_t MiB = 1 << 20;
    etcd.members_answer = {{"e0", true, 100 * MiB, 10 * MiB}, {"e1", true, 100 * MiB, 10 * MiB}};
    co_await upkeep.round();
    EXPECT_EQ(etcd.defragmented, std::vector<std::string>{"e0"});
    co_await upkeep.round();
    EXPECT_EQ(etcd.defragmented, (std::vector<std::string>{"e0", "e1"}));
    co_await upkeep.round();  // both small again: nothing more
    EXPECT_EQ(etcd.defragmented.size(), 2u);
    EXPECT_TRUE(co_await mirror.wait_revision(etcd.revision(), 5s));
  });
}

TEST(Upkeep, EachRoundCompactsTheHistoryTheRoundBeforeSawAndReportsTheSize) {
  test::run([](Executor ex) -> boost::asio::awaitable<void> {
    LeaderTerm t(ex);
    auto& etcd = t.etcd;
    auto& mirror = t.mirror;
    EtcdUpkeep upkeep(t.term, {.compact_interval = 1h, .quota_bytes = 1000});
    auto write = [&](const std::string& key) -> boost::asio::awaitable<int64_t> {
      int64_t rev = co_await etcd.put("/berth/" + key, "{}", 0);
      EXPECT_TRUE(co_await mirror.wait_revision(rev, 5s));
      co_return rev;
    };
    co_await t.lead();
    auto health = [&] {
      auto* kv = etcd.find(model::keys::kEtcdHealth);
      return kv ? model::parse<model::EtcdHealth>(kv->value) : model::EtcdHealth{};
    };
    co_await write("a");
    int64_t first = co_await write("b");
    etcd.status_answer.db_size_bytes = 900;
    co_await upkeep.round();
    EXPECT_EQ(etcd.compacted(), 0);  // nothing seen before: the history stays
    auto* size = metrics::global().find_gauge("berth_etcd_db_size_bytes");
    EXPECT_TRUE(size && size->value() == 900);
    // 900 of 1000: every server hears that etcd is filling.
    EXPECT_TRUE(health().filling);
    EXPECT_EQ(health().db_size_bytes, 900);
    EXPECT_EQ(health().quota_bytes, 1000);
    etcd.status_answer.db_size_bytes = 100;
    int64_t second = co_await write("c");
    co_await upkeep.round();
    EXPECT_FALSE(health().filling);      // defragmented: said again
    EXPECT_EQ(etcd.compacted(), first);  // what the first round saw, not what is newest
    EXPECT_LT(etcd.compacted(), second);
    co_await upkeep.round();
    EXPECT_EQ(etcd.compacted(), second);
    co_await upkeep.round();  // the health record the second round wrote
    int64_t before = etcd.revision();
    EXPECT_EQ(upkeep.compacted_to(), before);
    co_await upkeep.round();  // nothing new: no compaction asked, no error, nothing written
    EXPECT_EQ(etcd.revision(), before);
    EXPECT_EQ(upkeep.compacted_to(), before);
    // Another leader went further: the refusal is no failure.
    int64_t third = co_await write("d");
    etcd.forget_before(third + 0);
    co_await upkeep.round();
    co_await write("e");
    co_await upkeep.round();
    EXPECT_EQ(upkeep.compacted_to(), third);
    // etcd out of reach: the round says so; the next one goes on.
    etcd.set_unavailable(true);
    bool threw = false;
    try {
      co_await upkeep.round();
    } catch (const store::Unavailable&) {
      threw = true;
    }
    EXPECT_TRUE(threw);
    etcd.set_unavailable(false);
  });
}

TEST(Upkeep, HistoryWrittenOutsideTheMirroredKeysIsCompactedToo) {
  // An idle cluster writes only usage points, outside /berth/: the mirror's revision stays,
  // etcd's moves on, and its history must not pile up.
  test::run([](Executor ex) -> boost::asio::awaitable<void> {
    LeaderTerm t(ex);
    auto& etcd = t.etcd;
    EtcdUpkeep upkeep(t.term, {.compact_interval = 1h, .quota_bytes = 1 << 30});
    co_await t.lead();
    co_await upkeep.round();
    int64_t last = 0;
    for (int i = 0; i < 5; ++i)
      last = co_await etcd.put("/berth-usage/db1/fine/" + std::to_string(i), "{}", 0);
    co_await upkeep.round();  // sees them
    co_await upkeep.round();  // compacts them
    EXPECT_GE(etcd.compacted(), last);
  });
}

TEST(Upkeep, ARoundPrunesFinishedTasksOfLastMonthAndKeepsTheRest) {
  test::run([](Executor ex) -> boost::asio::awaitable<void> {
    LeaderTerm t(ex);
    auto& etcd = t.etcd;
    auto& mirror = t.mirror;
    EtcdUpkeep upkeep(t.term, {.compact_interval = 1h, .quota_bytes = 1000});
    co_await t.lead();
    model::Task old_task, running;
    old_task.id = "t-old";
    old_task.state = model::TaskState::done;
    old_task.finished_at = "2020-01-01T00:00:00Z";
    running.id = "t-run";
    running.state = model::TaskState::running;
    co_await etcd.put(model::keys::task("t-old"), model::dump(old_task), 0);
    int64_t rev = co_await etcd.put(model::keys::task("t-run"), model::dump(running), 0);
    EXPECT_TRUE(co_await mirror.wait_revision(rev, 5s));
    co_await upkeep.round();
    EXPECT_EQ(etcd.find(model::keys::task("t-old")), nullptr);
    EXPECT_NE(etcd.find(model::keys::task("t-run")), nullptr);
  });
}

}  // namespace
}  // namespace berth::controller
