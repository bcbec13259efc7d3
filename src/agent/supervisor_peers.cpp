// What a supervisor's host sees of the database's other instances: a replica's witness of its
// primary (for the leader), and a primary's check that it is still in touch with its replicas
// (for the fence).
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "agent/session.hpp"
#include "agent/supervisor.hpp"
#include "util/tcp_exchange.hpp"

namespace berth::agent {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

asio::awaitable<void> Supervisor::isolation_loop() {
  // A primary's host cut off from the LAN is promoted over as soon as neither the leader nor
  // the replicas reach it, before its lease runs out: while no replica answers here, the
  // session asks etcd at once and fences unless etcd answers (HostSession::peers_silent).
  asio::steady_timer timer(edges_.executor);
  for (;;) {
    timer.expires_after(kIsolationTick);
    co_await timer.async_wait(asio::use_awaitable);
    auto now = std::chrono::steady_clock::now();
    auto& a = allocation_;
    std::vector<std::string> peers;
    // Only a primary with a replica in sync can be promoted over.
    if (a.role == model::Role::primary && a.min_replicas_to_write > 0 && edges_.peers)
      peers = edges_.peers(a);
    if (peers.empty() || status_.state != model::InstanceState::healthy) {
      peer_answered_at_ = now;
      continue;
    }
    for (auto& ip : peers)
      if (pinging_.insert(ip).second) scope_.spawn(ping_peer(ip, a.port), key_ + " ping " + ip);
    if (now - peer_answered_at_ >= 2 * kIsolationTick)
      edges_.session.peers_silent(peer_answered_at_);
  }
}

asio::awaitable<void> Supervisor::ping_peer(std::string ip, int port) {
  auto sent = std::chrono::steady_clock::now();
  try {
    co_await util::tcp_exchange(
        edges_.executor, ip, port, "", [](const std::string&) { return true; }, 300ms);
    peer_answered_at_ = std::max(peer_answered_at_, sent);
  } catch (const util::ExchangeError&) {
  }
  pinging_.erase(ip);
}

asio::awaitable<void> Supervisor::witness_loop() {
  // A second opinion for the leader: can this replica's host reach the primary? On its own
  // short clock, not the probe interval's: the leader waits for it before a failover.
  asio::steady_timer timer(edges_.executor);
  for (;;) {
    auto a = allocation_;  // a copy: a promotion may change it while we wait
    bool down = false;
    if (a.role == model::Role::replica && !a.primary_ip.empty()) {
      try {
        co_await util::tcp_exchange(
            edges_.executor, a.primary_ip, a.port, "", [](const std::string&) { return true; },
            300ms);
      } catch (const util::ExchangeError&) {
        down = true;
      }
    }
    if (down != primary_unreachable_) {
      primary_unreachable_ = down;
      if (status_.state == model::InstanceState::healthy) {
        status_.primary_down = down && status_.role == model::Role::replica;
        publish_.notify_all();
      }
    }
    timer.expires_after(std::min<Clock::duration>(kWitnessInterval, edges_.options.probe_interval));
    co_await timer.async_wait(asio::use_awaitable);
  }
}

}  // namespace berth::agent
