// The switchover runner of a term: claims each switchover request (controller/
// switchover_request), runs it with the no-lost-write procedure (controller/switchover) and
// writes its outcome; finishes what a previous leader left and sweeps what nobody reads.
#pragma once

#include <set>
#include <string>

#include "controller/switchover_request.hpp"
#include "controller/term.hpp"

namespace berth::controller {

class Scope;

class SwitchoverRunner {
 public:
  explicit SwitchoverRunner(const TermContext& term) : term_(term) {}

  // Looks at the requests on every change of state until stopped; every switchover it started
  // has ended when it returns.
  boost::asio::awaitable<void> run();

 private:
  boost::asio::awaitable<void> look();
  boost::asio::awaitable<void> run_one(std::string database_id, int64_t revision,
                                       SwitchoverRequest request);
  boost::asio::awaitable<void> claim_and_run(const std::string& database_id, int64_t revision,
                                             SwitchoverRequest request);
  // Writes the record in place of the one at revision, while this server leads; its revision, 0
  // when something changed first.
  boost::asio::awaitable<int64_t> replace(const std::string& database_id, int64_t revision,
                                          const SwitchoverRequest* record);

  const TermContext& term_;
  Scope* runs_ = nullptr;          // run(): the switchovers under way
  std::set<std::string> running_;  // databases whose switchover this term runs now
};

}  // namespace berth::controller
