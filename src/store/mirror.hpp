// An in-memory copy of every key under one prefix, kept current by a watch (an "informer").
// Readers get a consistent snapshot at mirror.revision() without a round trip to etcd.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "store/store.hpp"
#include "util/signal.hpp"

namespace berth::store {

// Lookups over a map of entries by key (a Mirror's items, or a copy pure code works on).
using Items = std::map<std::string, KeyValue>;
const KeyValue* find(const Items& items, const std::string& key);
// Every entry whose key starts with prefix, in key order.
std::vector<const KeyValue*> under(const Items& items, const std::string& prefix);

class Mirror {
 public:
  Mirror(asio::any_io_executor executor, Store& store, std::string prefix);

  // Loads the prefix and follows it forever; spawn it once.
  asio::awaitable<void> run();

  bool loaded() const { return loaded_; }
  int64_t revision() const { return revision_; }
  const std::map<std::string, KeyValue>& items() const { return items_; }
  const KeyValue* find(const std::string& key) const;
  // Every entry whose key starts with prefix, in key order.
  std::vector<const KeyValue*> under(const std::string& prefix) const;

  // A secondary index over the keys under prefix, so that a group of them is found without a
  // scan: group(key) names the group a key belongs to (empty: none); it must depend on the key
  // alone. Add indexes before run().
  using Grouping = std::function<std::string(std::string_view key)>;
  void add_index(const std::string& prefix, Grouping group);
  // The entries under an indexed prefix whose group is g, in key order.
  std::vector<const KeyValue*> grouped(const std::string& prefix, const std::string& g) const;

  // Waits until condition() holds (checked after every change) or the timeout passes.
  asio::awaitable<bool> wait_for(std::function<bool()> condition,
                                 std::chrono::steady_clock::duration timeout);
  // Waits for the next change, or the timeout.
  asio::awaitable<void> wait_change(std::chrono::steady_clock::duration timeout);
  // Waits until the mirror has seen revision rev (of a write under its prefix).
  asio::awaitable<bool> wait_revision(int64_t rev, std::chrono::steady_clock::duration timeout);

  // Called after every applied batch of changes (and after each full load).
  std::function<void()> on_change;

  // Typed layers above the mirror (state::View) follow it through an observer: loaded(items)
  // after each full load, applied(events) with each watch batch, both before on_change and
  // before waiters wake. An observer added after the load is given the items at once.
  struct Observer {
    std::function<void(const Items& items)> loaded;
    std::function<void(const std::vector<WatchEvent>& events)> applied;
  };
  int add_observer(Observer observer);
  void remove_observer(int id);

 private:
  void apply(int64_t revision, const std::vector<WatchEvent>& events);
  void index_put(const KeyValue* kv);
  void index_erase(const std::string& key);

  struct Index {
    std::string prefix;
    Grouping group;
    // group -> its entries by key; the pointers are items_' own (std::map nodes stay put).
    std::unordered_map<std::string, std::map<std::string, const KeyValue*>> groups;
  };

  asio::any_io_executor executor_;
  Store& store_;
  std::string prefix_;
  std::map<std::string, KeyValue> items_;
  std::vector<Index> indexes_;
  std::map<int, Observer> observers_;
  int next_observer_ = 0;
  int64_t revision_ = 0;
  bool loaded_ = false;
  util::Signal changed_;
};

}  // namespace berth::store
