// The event recorder of a term: compares the state with what it saw last (events::diff) and
// writes each change as an event under /berth/events/, pruned after a week or 10,000 events.
#pragma once

#include <limits>
#include <map>
#include <optional>
#include <string>

#include "controller/term.hpp"
#include "events/events.hpp"

namespace berth::controller {

class EventRecorder {
 public:
  explicit EventRecorder(const TermContext& term) : term_(term) {}

  // Records on every change of state (and every 250 ms) until stopped. The first view of a
  // term is only a baseline.
  boost::asio::awaitable<void> run();

  // The reconciler marks a failover before it writes it and settles the mark after, so that the
  // diff that first shows the new primary calls it a failover, not a switchover, whichever of
  // the write's answer and the watch comes first. revision 0: the write did not apply.
  void failover_writing(const std::string& database_id) { failed_over_[database_id] = kWriting; }
  void failover_written(const std::string& database_id, int64_t revision);

 private:
  static constexpr int64_t kWriting = std::numeric_limits<int64_t>::max();
  boost::asio::awaitable<void> record_once();
  events::View view_of_state();

  const TermContext& term_;
  std::optional<events::View> last_view_;
  int64_t pruned_at_ = 0;
  int64_t last_micros_ = 0;                     // event ids only grow, whatever the clock does
  std::map<std::string, int64_t> failed_over_;  // database -> revision of the failover
};

}  // namespace berth::controller
