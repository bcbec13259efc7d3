#include "store/quorum.hpp"

#include <algorithm>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace berth::store {

MemberWord member_word(int http_status, std::string_view body) {
  if (http_status != 200) return MemberWord::Unknown;
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object()) return MemberWord::Unknown;
  // etcd 3.4 leaves "leader" out (its zero) and lists "etcdserver: no leader" in "errors".
  for (auto& e : j.value("errors", nlohmann::json::array()))
    if (e.is_string() && e.get<std::string>().find("no leader") != std::string::npos)
      return MemberWord::NoLeader;
  auto leader = j.find("leader");  // a uint64 as a string, as the gateway writes them
  bool none = leader == j.end() ||
              (leader->is_string() &&
               (leader->get<std::string>().empty() || leader->get<std::string>() == "0")) ||
              (leader->is_number() && leader->get<uint64_t>() == 0);
  return none ? MemberWord::NoLeader : MemberWord::Leader;
}

bool quorum_lost(const std::vector<MemberWord>& members) {
  auto cannot_commit = std::count_if(members.begin(), members.end(), [](MemberWord w) {
    return w == MemberWord::NoLeader || w == MemberWord::Refused;
  });
  return !members.empty() && cannot_commit * 2 > static_cast<long>(members.size());
}

}  // namespace berth::store
