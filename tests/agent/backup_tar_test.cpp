// Tars streamed from stored objects are byte for byte the tars make_tar builds in memory, and
// the indexer finds a stored tar's files whatever the pieces it is fed.
#include "agent/backup_tar.hpp"

#include <gtest/gtest.h>

#include "engines/rootfs.hpp"
#include "support/fake_object_store.hpp"
#include "support/run.hpp"

namespace berth::agent {
namespace {

namespace asio = boost::asio;
using test::Executor;

std::string pattern(size_t n, int seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 31 + seed) & 0xff);
  return s;
}

asio::awaitable<std::string> drain(TarStream& stream, size_t* largest = nullptr) {
  std::string out;
  for (;;) {
    auto piece = co_await stream.next();
    if (piece.empty()) break;
    if (largest) *largest = std::max(*largest, piece.size());
    out += piece;
  }
  co_return out;
}

TEST(TarStream, MatchesTheInMemoryTar) {
  auto store = std::make_shared<test::FakeObjectStore>();
  auto big = pattern(9 << 20, 3);  // more than two of the reader's pieces
  test::run([&](Executor) -> asio::awaitable<void> {
    auto sha = co_await store->put(big);
    std::vector<TarFile> files{
        {"appendonlydir/appendonly.aof.1.base.rdb", 0644, "", sha, 0, (int64_t)big.size()},
        {"appendonlydir/appendonly.aof.manifest", 0644, "file x seq 1 type b\n", "", 0, 0},
        {"part", 0600, "", sha, 100, 1000}};
    TarStream stream(store, tar_of(files));
    size_t largest = 0;
    auto tar = co_await drain(stream, &largest);
    EXPECT_EQ(static_cast<int64_t>(tar.size()), stream.size());
    EXPECT_LE(largest, size_t{4 << 20});  // never the whole object at once
    auto expected =
        engines::make_tar({{"appendonlydir/appendonly.aof.1.base.rdb", big, 0644},
                           {"appendonlydir/appendonly.aof.manifest", "file x seq 1 type b\n", 0644},
                           {"part", big.substr(100, 1000), 0600}});
    EXPECT_TRUE(tar == expected);
  });
}

TEST(TarStream, EveryEntryIsTheOwnersItIsMadeFor) {
  // A restore's files are the engine user's, folders too: the engine (not root) writes there.
  auto store = std::make_shared<test::FakeObjectStore>();
  test::run([&](Executor) -> asio::awaitable<void> {
    std::vector<TarFile> files{{"appendonlydir/appendonly.aof.manifest", 0644, "m\n", "", 0, 0}};
    TarStream stream(store, tar_of(files, engines::kEngineUid));
    auto tar = co_await drain(stream);
    EXPECT_TRUE(tar == engines::make_tar({{"appendonlydir/appendonly.aof.manifest", "m\n", 0644,
                                           engines::kEngineUid, engines::kEngineUid}}));
    EXPECT_EQ(tar.substr(108, 7), "0023421");  // the folder's uid: 10001
  });
}

TEST(TarStream, ADamagedObjectNeverReachesTheTarsEnd) {
  auto store = std::make_shared<test::FakeObjectStore>();
  auto big = pattern(6 << 20, 5);
  test::run([&](Executor) -> asio::awaitable<void> {
    auto sha = co_await store->put(big);
    store->damage(sha, 10);
    TarStream stream(store, tar_of({{"dump.rdb", 0644, "", sha, 0, (int64_t)big.size()}}));
    bool mismatch = false;
    try {
      co_await drain(stream);
    } catch (const backup::ChecksumMismatch&) {
      mismatch = true;
    }
    EXPECT_TRUE(mismatch);
  });
}

TEST(TarIndexer, FindsTheFilesWhateverThePieces) {
  std::string long_dir = std::string(60, 'd') + "/" + std::string(60, 'e');
  auto tar = engines::make_tar({{"a.snap", pattern(5000, 1), 0644},
                                {"dir/b.xlog", pattern(512, 2), 0644},
                                {long_dir + "/c", "", 0644},
                                {"e", pattern(1, 4), 0644}});
  for (size_t step : {size_t{1}, size_t{7}, size_t{511}, size_t{4096}, tar.size()}) {
    TarIndexer index;
    for (size_t at = 0; at < tar.size(); at += step)
      index.feed(std::string_view(tar).substr(at, step));
    EXPECT_TRUE(index.done()) << step;
    auto& m = index.members();
    ASSERT_EQ(m.size(), 4u) << step;
    EXPECT_EQ(m[0].name, "a.snap");
    EXPECT_EQ(tar.substr(m[0].offset, m[0].size), pattern(5000, 1));
    EXPECT_EQ(m[1].name, "dir/b.xlog");
    EXPECT_EQ(tar.substr(m[1].offset, m[1].size), pattern(512, 2));
    EXPECT_EQ(m[2].name, long_dir + "/c");
    EXPECT_EQ(m[2].size, 0);
    EXPECT_EQ(m[3].name, "e");
    EXPECT_EQ(tar.substr(m[3].offset, m[3].size), pattern(1, 4));
  }
}

TEST(TarIndexer, ReadsGnuLongNamesAndPaxPaths) {
  auto block = [](std::string name, char type, size_t size) {
    std::string h(512, '\0');
    h.replace(0, name.size(), name);
    char octal[12];
    std::snprintf(octal, sizeof octal, "%011zo", size);
    h.replace(124, 11, octal);
    h[156] = type;
    return h;
  };
  auto padded = [](std::string s) { return s + std::string((512 - s.size() % 512) % 512, '\0'); };
  std::string long_name(200, 'n'), pax_name(150, 'p');
  std::string pax_record = "path=" + pax_name + "\n";
  pax_record = std::to_string(pax_record.size() + 4) + " " + pax_record;
  std::string tar = block("././@LongLink", 'L', long_name.size() + 1) + padded(long_name + '\0') +
                    block("short", '0', 3) + padded("abc") +
                    block("PaxHeader", 'x', pax_record.size()) + padded(pax_record) +
                    block("cut", '0', 2) + padded("xy") + std::string(1024, '\0');
  TarIndexer index;
  index.feed(tar);
  ASSERT_EQ(index.members().size(), 2u);
  EXPECT_EQ(index.members()[0].name, long_name);
  EXPECT_EQ(tar.substr(index.members()[0].offset, 3), "abc");
  EXPECT_EQ(index.members()[1].name, pax_name);
  EXPECT_EQ(tar.substr(index.members()[1].offset, 2), "xy");
}

TEST(TarIndexer, AStoredTarIsIndexedAndChecked) {
  test::FakeObjectStore store;
  auto tar = engines::make_tar({{"x.snap", pattern(70000, 9), 0644}});
  test::run([&](Executor) -> asio::awaitable<void> {
    auto sha = co_await store.put(tar);
    auto members = co_await index_stored_tar(store, sha);
    EXPECT_TRUE(members && members->size() == 1 && (*members)[0].name == "x.snap");
    EXPECT_EQ(co_await index_stored_tar(store, std::string(64, '0')), std::nullopt);
    store.damage(sha, 600);
    bool mismatch = false;
    try {
      co_await index_stored_tar(store, sha);
    } catch (const backup::ChecksumMismatch&) {
      mismatch = true;
    }
    EXPECT_TRUE(mismatch);
  });
}

}  // namespace
}  // namespace berth::agent
