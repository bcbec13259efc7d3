// Whether etcd as a whole can commit anything, judged from what each member says of itself:
// an agent that cannot renew its lease keeps its primaries serving when nobody could promote
// a replica in their place. Pure: no I/O.
#pragma once

#include <string_view>
#include <vector>

namespace berth::store {

// One member's answer to a status request.
enum class MemberWord {
  Leader,    // it answered and knows a leader (maybe an old one: not proof of a quorum)
  NoLeader,  // it answered that it has no leader: it cannot commit
  Refused,   // its host answered that nothing listens on its port: it is down
  Unknown,   // silence, a timeout, an error: it may be committing elsewhere
};

// The word in the answer of POST /v3/maintenance/status (http_status 0: no answer).
MemberWord member_word(int http_status, std::string_view body);

// True only when most members of the cluster are down or leaderless, so no write can commit
// anywhere: members lists every member of the cluster, not only those this client talks to.
bool quorum_lost(const std::vector<MemberWord>& members);

}  // namespace berth::store
