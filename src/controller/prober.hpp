// The primary prober of a term: probes every primary that has replicas every 100 ms, to notice
// a lost host faster than its lease can expire, and to tell a dead agent (its primary answers
// on) from a dead host. The reconciler asks it which are unreachable and which answer.
#pragma once

#include <chrono>
#include <map>
#include <set>
#include <string>

#include "controller/term.hpp"
#include "engines/engine.hpp"

namespace berth::controller {

// A primary that answers as one and takes writes. One that answers fenced (its agent alive but
// out of touch with etcd) or not yet told its role keeps no database going: if its host's
// lease has run out, nothing would ever make it writable again, and a replica takes over.
bool serves_writes(const engines::ProbeResult& result);

class PrimaryProber {
 public:
  explicit PrimaryProber(const TermContext& term) : term_(term) {}

  // Probes until stopped; every probe it started has ended when it returns.
  boost::asio::awaitable<void> run();
  // Primaries ("id/n") no probe has reached for at least `after`.
  std::set<std::string> unreachable(std::chrono::steady_clock::duration after) const;
  // Primaries a probe found serving writes within `within`.
  std::set<std::string> answering(std::chrono::steady_clock::duration within) const;
  // The primary answered another look: it is not down.
  void reached(const std::string& owner) {
    down_since_.erase(owner);
    answered_at_[owner] = std::chrono::steady_clock::now();
  }

 private:
  boost::asio::awaitable<void> probe_one(std::string owner, std::string engine, std::string ip,
                                         int port, std::string password);

  const TermContext& term_;
  std::map<std::string, std::chrono::steady_clock::time_point> down_since_;   // "id/n"
  std::map<std::string, std::chrono::steady_clock::time_point> answered_at_;  // "id/n"
  std::set<std::string> probing_;
};

}  // namespace berth::controller
