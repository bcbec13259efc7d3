// What the API shows of databases and hosts, made from the watched state; the database views
// are cached and made again only when a record they are made of changes.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "store/mirror.hpp"

namespace berth::api {

// The parts of an allocation key, /berth/allocations/HOST/ID/N (all empty if it is not one).
struct AllocationKey {
  std::string_view host, id, n;
};
AllocationKey split_allocation_key(std::string_view key);

// What GET /v1/databases/{name} shows of a database (null when there is none).
nlohmann::json database_view(const store::Mirror& state, const std::string& id);
// What GET /v1/hosts shows of one host.
nlohmann::json host_view(const store::Mirror& state, const std::string& name);

class ViewCache {
 public:
  // database_view(id) serialised, from a cache checked against the revisions of what it was
  // made of ("null" when there is no such database).
  const std::string& database(const store::Mirror& state, const std::string& id);
  // GET /v1/databases: every view by name, made again only when the state changed.
  const std::string& list(const store::Mirror& state);

 private:
  struct Cached {
    std::vector<int64_t> inputs;  // mod revisions of the records the view was made from
    std::string name;
    std::string body;
  };
  std::unordered_map<std::string, Cached> views_;  // by database id
  int64_t list_revision_ = -1;                     // the mirror's, for list_body_
  std::string list_body_;
};

}  // namespace berth::api
