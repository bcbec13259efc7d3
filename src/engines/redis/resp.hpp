// Redis's bytes (RESP): commands out, replies in, and what a probe reads from INFO. Pure, and
// hardened for replies from outside: no throw on a bad number, no unbounded recursion.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engines/probe.hpp"

namespace berth::engines::resp {

// min-replicas-to-write on a fenced primary: no database has this many replicas.
constexpr int kFencedMinReplicas = 1000000;
// Arrays nested deeper than this are not a reply berth asked for.
constexpr int kMaxDepth = 8;

// RESP encoding of one command.
std::string command(const std::vector<std::string>& args);

// Counts the whole replies at the start of buf. A reply that is not RESP counts as one line,
// so a caller waiting for N replies from something that is not Redis stops waiting.
int complete_replies(std::string_view buf);

// The value of a "field:value" line of INFO output; empty when there is none.
std::string info_field(std::string_view info, std::string_view field);

// A decimal number; 0 when text is not one.
int64_t number(std::string_view text);

// A health probe in one round trip: AUTH, PING, INFO memory, INFO replication, CONFIG GET
// min-replicas-to-write, INFO clients, INFO stats, INFO keyspace; and its replies, read.
std::string probe_request(const std::string& password);
constexpr int kProbeReplies = 8;
ProbeResult read_probe(std::string_view reply);

}  // namespace berth::engines::resp
