// The usage recorder of a term: turns the instance statuses agents publish into usage points
// (usage::Tracker) and writes them under /berth-usage/, where the API reads them on demand.
#pragma once

#include "controller/term.hpp"
#include "usage/usage.hpp"

namespace berth::controller {

class UsageRecorder {
 public:
  // A fresh tracker each term: another leader may have written meanwhile.
  UsageRecorder(const TermContext& term, int64_t step) : term_(term), usage_(step) {}

  // Samples every database's usage each step and prunes what has aged out, until stopped.
  boost::asio::awaitable<void> run();

 private:
  boost::asio::awaitable<void> record_once(int64_t now, bool prune);

  const TermContext& term_;
  usage::Tracker usage_;
};

}  // namespace berth::controller
