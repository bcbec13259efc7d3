#include "support/fake_store.hpp"

#include <chrono>

namespace berth::test {

using store::Compare;
using store::KeyValue;
using store::Operation;
using store::WatchEvent;

FakeStore::FakeStore(boost::asio::any_io_executor executor)
    : executor_(executor), changed_(executor) {}

void FakeStore::set_unavailable(bool unavailable) {
  unavailable_ = unavailable;
  changed_.notify_all();
}

void FakeStore::check_available() const {
  if (unavailable_) throw store::Unavailable("fake etcd: no endpoint answers");
}

const KeyValue* FakeStore::find(const std::string& key) const {
  auto it = data_.find(key);
  return it == data_.end() ? nullptr : &it->second;
}

bool FakeStore::lease_alive(int64_t lease) const {
  return leases_.count(lease) > 0;
}

std::map<std::string, KeyValue> FakeStore::at(int64_t rev) const {
  if (rev == 0 || rev >= revision_) return data_;
  std::map<std::string, KeyValue> out;
  for (auto& [r, e] : history_) {
    if (r > rev) break;
    if (e.type == WatchEvent::Type::Put)
      out[e.kv.key] = e.kv;
    else
      out.erase(e.kv.key);
  }
  return out;
}

asio::awaitable<store::RangeResult> FakeStore::get(std::string key) {
  check_available();
  store::RangeResult r;
  r.revision = revision_;
  if (auto* kv = find(key)) r.kvs.push_back(*kv);
  co_return r;
}

asio::awaitable<store::RangeResult> FakeStore::get_prefix(std::string prefix, int64_t revision) {
  check_available();
  if (revision != 0 && revision < compacted_) throw store::Compacted(compacted_);
  store::RangeResult r;
  r.revision = revision == 0 ? revision_ : revision;
  for (auto& [key, kv] : at(revision))
    if (key.starts_with(prefix)) r.kvs.push_back(kv);
  co_return r;
}

asio::awaitable<store::RangeResult> FakeStore::get_range(std::string from, std::string to) {
  check_available();
  store::RangeResult r;
  r.revision = revision_;
  for (auto it = data_.lower_bound(from); it != data_.end() && it->first < to; ++it)
    r.kvs.push_back(it->second);
  co_return r;
}

asio::awaitable<int64_t> FakeStore::put(std::string key, std::string value, int64_t lease) {
  check_available();
  co_return apply({Operation::put(std::move(key), std::move(value), lease)});
}

asio::awaitable<int64_t> FakeStore::erase(std::string key) {
  check_available();
  co_return apply({Operation::erase(std::move(key))});
}

bool FakeStore::holds(const Compare& c) const {
  auto* kv = find(c.key);
  if (c.target == Compare::Target::Value) {
    if (!kv) return false;  // as etcd: a value compare on a missing key fails
    int order = kv->value.compare(c.value);
    switch (c.op) {
      case Compare::Op::Equal:
        return order == 0;
      case Compare::Op::NotEqual:
        return order != 0;
      case Compare::Op::Greater:
        return order > 0;
      case Compare::Op::Less:
        return order < 0;
    }
  }
  int64_t have = 0;
  if (kv) {
    have = c.target == Compare::Target::Create ? kv->create_revision
           : c.target == Compare::Target::Mod  ? kv->mod_revision
                                               : kv->version;
  }
  switch (c.op) {
    case Compare::Op::Equal:
      return have == c.number;
    case Compare::Op::NotEqual:
      return have != c.number;
    case Compare::Op::Greater:
      return have > c.number;
    case Compare::Op::Less:
      return have < c.number;
  }
  return false;
}

asio::awaitable<store::TxnResult> FakeStore::txn(std::vector<Compare> compares,
                                                 std::vector<Operation> success,
                                                 std::vector<Operation> failure) {
  check_available();
  bool ok = true;
  for (auto& c : compares) ok = ok && holds(c);
  auto& ops = ok ? success : failure;
  store::TxnResult r;
  r.succeeded = ok;
  r.revision = ops.empty() ? revision_ : apply(ops);
  co_return r;
}

void FakeStore::remove(const std::string& key, std::vector<WatchEvent>& events) {
  auto it = data_.find(key);
  if (it == data_.end()) return;
  if (auto lease = leases_.find(it->second.lease); lease != leases_.end())
    lease->second.keys.erase(key);
  WatchEvent e;
  e.type = WatchEvent::Type::Delete;
  e.kv.key = key;
  events.push_back(e);
  data_.erase(it);
}

int64_t FakeStore::apply(const std::vector<Operation>& ops) {
  for (auto& op : ops)
    if (op.kind == Operation::Kind::Put && op.lease != 0 && !leases_.count(op.lease))
      throw std::runtime_error("fake etcd: requested lease not found");
  int64_t rev = revision_ + 1;
  std::vector<WatchEvent> events;
  for (auto& op : ops) {
    switch (op.kind) {
      case Operation::Kind::Put: {
        auto& kv = data_[op.key];
        if (kv.create_revision == 0) kv.create_revision = rev;
        if (kv.lease != op.lease)
          if (auto old = leases_.find(kv.lease); old != leases_.end())
            old->second.keys.erase(op.key);
        kv.key = op.key;
        kv.value = op.value;
        kv.mod_revision = rev;
        kv.version += 1;
        kv.lease = op.lease;
        if (op.lease) leases_[op.lease].keys.insert(op.key);
        events.push_back({WatchEvent::Type::Put, kv});
        break;
      }
      case Operation::Kind::Delete:
        remove(op.key, events);
        break;
      case Operation::Kind::DeletePrefix:
      case Operation::Kind::DeleteRange: {
        std::string end =
            op.kind == Operation::Kind::DeletePrefix ? store::prefix_end(op.key) : op.range_end;
        std::vector<std::string> doomed;
        for (auto it = data_.lower_bound(op.key); it != data_.end() && it->first < end; ++it)
          doomed.push_back(it->first);
        for (auto& key : doomed) remove(key, events);
        break;
      }
    }
  }
  if (events.empty()) return revision_;  // as etcd: a delete of nothing makes no revision
  revision_ = rev;
  for (auto& e : events) {
    if (e.type == WatchEvent::Type::Delete) e.kv.mod_revision = rev;
    history_.emplace_back(rev, e);
  }
  changed_.notify_all();
  return rev;
}

asio::awaitable<int64_t> FakeStore::lease_grant(int64_t ttl_seconds) {
  check_available();
  int64_t id = next_lease_++;
  leases_[id].ttl = ttl_seconds;
  co_return id;
}

asio::awaitable<int64_t> FakeStore::lease_keep_alive(int64_t lease) {
  check_available();
  if (keep_alive_failing_) throw store::Unavailable("fake etcd: keep-alive timed out");
  ++keep_alives_;
  auto it = leases_.find(lease);
  co_return it == leases_.end() ? 0 : it->second.ttl;
}

void FakeStore::expire_lease(int64_t lease) {
  auto it = leases_.find(lease);
  if (it == leases_.end()) return;
  std::vector<Operation> ops;
  for (auto& key : it->second.keys) ops.push_back(Operation::erase(key));
  leases_.erase(it);
  if (!ops.empty()) apply(ops);
}

asio::awaitable<void> FakeStore::compact(int64_t revision) {
  check_available();
  if (revision <= compacted_)
    throw std::runtime_error("mvcc: required revision has been compacted");
  if (revision > revision_)
    throw std::runtime_error("mvcc: required revision is a future revision");
  compacted_ = revision;
  co_return;
}

asio::awaitable<store::StoreStatus> FakeStore::status() {
  check_available();
  auto out = status_answer;
  out.revision = revision_;
  co_return out;
}

asio::awaitable<std::vector<store::MemberStatus>> FakeStore::member_statuses() {
  check_available();
  co_return members_answer;
}

asio::awaitable<void> FakeStore::defragment(std::string endpoint) {
  check_available();
  defragmented.push_back(endpoint);
  for (auto& m : members_answer)
    if (m.endpoint == endpoint) m.db_size_bytes = m.db_size_in_use_bytes;
  co_return;
}

asio::awaitable<void> FakeStore::lease_revoke(int64_t lease) {
  check_available();
  expire_lease(lease);
  co_return;
}

asio::awaitable<void> FakeStore::watch(
    std::string prefix, int64_t start_revision,
    std::function<void(int64_t, const std::vector<WatchEvent>&)> on_events) {
  check_available();
  if (start_revision > 0 && start_revision < compacted_) throw store::Compacted(compacted_);
  int64_t next = start_revision > 0 ? start_revision : revision_ + 1;
  for (;;) {
    if (!unavailable_) {
      // Every revision from next on, in order, one batch per revision.
      int64_t rev = 0;
      std::vector<WatchEvent> batch;
      for (size_t i = 0; i < history_.size(); ++i) {
        auto [r, e] = history_[i];
        if (r < next) continue;
        if (r != rev && !batch.empty()) {
          on_events(rev, batch);
          batch.clear();
        }
        rev = r;
        if (e.kv.key.starts_with(prefix)) batch.push_back(e);
      }
      if (!batch.empty()) on_events(rev, batch);
      next = revision_ + 1;
    }
    co_await changed_.wait(std::chrono::steady_clock::now() + std::chrono::hours(1));
  }
}

}  // namespace berth::test
