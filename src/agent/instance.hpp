// What an agent tracks of one instance it runs: shared by the agent's parts (agent.cpp,
// tasks.cpp), not by anyone else.
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <string>

#include "agent/agent.hpp"
#include "util/signal.hpp"

namespace berth::agent {

// What the agent tracks of one instance it runs.
struct Agent::Instance {
  model::Allocation allocation;
  std::string key;  // "id/n"
  model::InstanceStatus status;
  std::string published;        // the status JSON last written, without its volatile fields
  std::string published_value;  // exactly what was last written
  std::chrono::steady_clock::time_point published_at{};
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  bool ever_healthy = false;
  bool stopped = false;
  bool writes_paused = false;
  bool publishing = false;
  int64_t applied_memory_mb = 0;  // 0: not applied by this agent yet
  int pid = 0;                    // the container's process, for its network namespace
  std::string held_address;       // the database address this container holds
  // Crash-loop detection: Docker's restart count when last seen (-1: a new container), and
  // when each restart since was noticed, kept for a minute.
  int last_restart_count = -1;
  std::deque<std::chrono::steady_clock::time_point> restarts;
  bool crash_looping = false;
  // A primary whose container restarted while it had replicas: it may have lost writes they
  // acknowledged, so it stays read-only and a replica takes over (or, with none, after 15 s).
  std::chrono::steady_clock::time_point lost_writes_since{};
  bool lost_writes = false;
  std::unique_ptr<util::Signal> wake;
};

}  // namespace berth::agent
