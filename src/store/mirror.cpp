#include "store/mirror.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdio>
#include <stdexcept>

namespace berth::store {

Mirror::Mirror(asio::any_io_executor executor, Store& store, std::string prefix)
    : executor_(executor), store_(store), prefix_(std::move(prefix)), changed_(executor) {}

const KeyValue* find(const Items& items, const std::string& key) {
  auto it = items.find(key);
  return it == items.end() ? nullptr : &it->second;
}

std::vector<const KeyValue*> under(const Items& items, const std::string& prefix) {
  std::vector<const KeyValue*> out;
  for (auto it = items.lower_bound(prefix); it != items.end() && it->first.starts_with(prefix);
       ++it)
    out.push_back(&it->second);
  return out;
}

const KeyValue* Mirror::find(const std::string& key) const {
  return store::find(items_, key);
}

std::vector<const KeyValue*> Mirror::under(const std::string& prefix) const {
  return store::under(items_, prefix);
}

void Mirror::add_index(const std::string& prefix, Grouping group) {
  Index index{prefix, std::move(group), {}};
  indexes_.push_back(std::move(index));
  for (auto* kv : under(prefix)) index_put(kv);
}

std::vector<const KeyValue*> Mirror::grouped(const std::string& prefix,
                                             const std::string& g) const {
  std::vector<const KeyValue*> out;
  for (auto& index : indexes_) {
    if (index.prefix != prefix) continue;
    auto it = index.groups.find(g);
    if (it != index.groups.end())
      for (auto& [key, kv] : it->second) out.push_back(kv);
    return out;
  }
  throw std::logic_error("mirror: no index on " + prefix);
}

void Mirror::index_put(const KeyValue* kv) {
  for (auto& index : indexes_) {
    if (!kv->key.starts_with(index.prefix)) continue;
    auto g = index.group(kv->key);
    if (!g.empty()) index.groups[g][kv->key] = kv;
  }
}

void Mirror::index_erase(const std::string& key) {
  for (auto& index : indexes_) {
    if (!key.starts_with(index.prefix)) continue;
    auto it = index.groups.find(index.group(key));
    if (it == index.groups.end()) continue;
    it->second.erase(key);
    if (it->second.empty()) index.groups.erase(it);
  }
}

asio::awaitable<void> Mirror::run() {
  asio::steady_timer backoff(executor_);
  for (;;) {
    try {
      auto snapshot = co_await store_.get_prefix(prefix_);
      items_.clear();
      for (auto& index : indexes_) index.groups.clear();
      for (auto& kv : snapshot.kvs) {
        auto& slot = items_[kv.key];
        slot = std::move(kv);
        index_put(&slot);
      }
      revision_ = snapshot.revision;
      loaded_ = true;
      for (auto& [id, o] : observers_)
        if (o.loaded) o.loaded(items_);
      if (on_change) on_change();
      changed_.notify_all();
      co_await store_.watch(
          prefix_, revision_ + 1,
          [this](int64_t rev, const std::vector<WatchEvent>& events) { apply(rev, events); });
      continue;
    } catch (const Compacted&) {
      continue;  // fell too far behind: reload everything
    } catch (const std::exception& e) {
      std::fprintf(stderr, "mirror %s: %s\n", prefix_.c_str(), e.what());
    }
    backoff.expires_after(std::chrono::milliseconds(500));
    co_await backoff.async_wait(asio::use_awaitable);
  }
}

void Mirror::apply(int64_t revision, const std::vector<WatchEvent>& events) {
  for (auto& e : events) {
    if (e.type == WatchEvent::Type::Put) {
      auto& slot = items_[e.kv.key];
      slot = e.kv;
      index_put(&slot);
    } else {
      index_erase(e.kv.key);
      items_.erase(e.kv.key);
    }
  }
  revision_ = std::max(revision_, revision);
  for (auto& [id, o] : observers_)
    if (o.applied) o.applied(events);
  if (on_change) on_change();
  changed_.notify_all();
}

int Mirror::add_observer(Observer observer) {
  int id = next_observer_++;
  auto& o = observers_[id] = std::move(observer);
  if (loaded_ && o.loaded) o.loaded(items_);
  return id;
}

void Mirror::remove_observer(int id) {
  observers_.erase(id);
}

asio::awaitable<bool> Mirror::wait_for(std::function<bool()> condition,
                                       std::chrono::steady_clock::duration timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) co_return false;
    co_await changed_.wait(deadline);
  }
  co_return true;
}

asio::awaitable<void> Mirror::wait_change(std::chrono::steady_clock::duration timeout) {
  co_await changed_.wait(std::chrono::steady_clock::now() + timeout);
}

asio::awaitable<bool> Mirror::wait_revision(int64_t rev,
                                            std::chrono::steady_clock::duration timeout) {
  co_return co_await wait_for([this, rev] { return loaded_ && revision_ >= rev; }, timeout);
}

}  // namespace berth::store
