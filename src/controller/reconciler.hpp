// The reconciler of a term: on every change of state (and every 250 ms) plans what must change
// (controller/plan, controller/tasks: pure) and writes each change as one transaction that
// also checks this server still leads.
#pragma once

#include <string>
#include <vector>

#include "controller/plan.hpp"
#include "controller/term.hpp"

namespace berth::controller {

class EventRecorder;
class PrimaryProber;

class Reconciler {
 public:
  Reconciler(const TermContext& term, const TermSettings& settings, PrimaryProber& prober,
             EventRecorder& events)
      : term_(term), settings_(settings), prober_(prober), events_(events) {}

  // Reconciles until stopped.
  boost::asio::awaitable<void> run();
  int64_t failovers() const { return failovers_; }

 private:
  boost::asio::awaitable<void> reconcile_once();
  Snapshot snapshot() const;
  // Asks the switchover runner to move the primary off a draining host, unless it is asked.
  boost::asio::awaitable<void> request_switchover(const std::string& database_id,
                                                  const std::string& why);
  // Writes one change's transaction; its revision, 0 when what it read had changed.
  boost::asio::awaitable<int64_t> write(const Writes& writes);
  boost::asio::awaitable<bool> primary_really_lost(const Snapshot& snapshot,
                                                   const std::string& database_id);
  boost::asio::awaitable<void> drop_unreferenced(std::vector<std::string> objects);

  const TermContext& term_;
  const TermSettings& settings_;
  PrimaryProber& prober_;
  EventRecorder& events_;
  int64_t failovers_ = 0;
};

}  // namespace berth::controller
