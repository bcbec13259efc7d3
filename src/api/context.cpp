#include "api/context.hpp"

#include "netpool/netpool.hpp"

namespace berth::api {

namespace asio = boost::asio;
namespace keys = model::keys;

Context::Context(asio::any_io_executor executor, store::Store& store, Options options)
    : executor(executor),
      store(store),
      options(std::move(options)),
      state(executor, store, keys::kRoot) {
  // A database's instances without a scan of every allocation.
  state.add_index(keys::kAllocations,
                  [](std::string_view key) { return std::string(split_allocation_key(key).id); });
}

asio::awaitable<std::optional<store::TxnResult>> Context::try_txn(
    std::vector<store::Compare> compares, std::vector<store::Operation> ops) {
  std::optional<store::TxnResult> result;
  try {
    result = co_await store.txn(compares, ops);
  } catch (const std::exception&) {
    // etcd does not answer: the caller says nothing was done.
  }
  co_return result;
}

std::vector<std::string> Context::reserve_addresses(const model::NetworkConfig& network,
                                                    int count) {
  std::set<std::string> taken = pending_addresses_;
  for (auto* kv : state.under(keys::kAddresses))
    taken.insert(kv->key.substr(keys::kAddresses.size()));
  std::vector<std::string> ips;
  for (int i = 0; i < count; ++i) {
    auto ip = netpool::choose(network, taken);
    if (!ip) {
      release_addresses(ips);
      return {};
    }
    taken.insert(*ip);
    ips.push_back(*ip);
    pending_addresses_.insert(*ip);
  }
  return ips;
}

void Context::release_addresses(const std::vector<std::string>& ips) {
  for (auto& ip : ips) pending_addresses_.erase(ip);
}

}  // namespace berth::api
