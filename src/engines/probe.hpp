// What a health probe learns of one instance. Each engine reads it from its own protocol's
// reply (the pure readers beside each engine), so the fuzz targets can take them alone.
#pragma once

#include <cstdint>
#include <string>

namespace berth::engines {

struct ProbeResult {
  bool healthy = false;
  std::string role;  // primary / replica, as the engine reports it
  int64_t memory_used_bytes = 0;
  std::string message;            // why not healthy
  bool refused_password = false;  // it answered, and refused the password
  int64_t offset = 0;             // replication offset
  std::string primary_host;       // for a replica: the address it replicates from
  bool link_up = false;           // for a replica: its link to the primary is up
  int min_replicas_to_write = 0;
  bool writes_paused = false;
  // Started afresh and given no role since (instances start read-only): a primary seen so had
  // restarted, and may have lost writes its replicas acknowledged.
  bool awaiting_role = false;
  // Metrics, as the engine counts them.
  int64_t connections = 0;
  int64_t operations = 0;  // commands or requests served since the start
  int64_t keys = 0;        // keys, tuples or items held
};

}  // namespace berth::engines
