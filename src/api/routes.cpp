#include "api/routes.hpp"

#include "api/handlers.hpp"
#include "api/openapi.hpp"

namespace berth::api {

namespace {

using auth::Need;

// Path parameters are named for the metrics labels they have always had: a database, host or
// engine by {name} (a database's id works too), a task or backup by {id}.
const Route kRoutes[] = {
    {"GET", "/v1/health", "health", on<&observe::health>, Need::open},
    {"GET", "/metrics", "metrics", on<&observe::metrics>, Need::open},
    {"GET", "/ui", "ui.index", on<&ui::index>, Need::open},
    {"GET", "/ui/", "ui.index", on<&ui::index>, Need::open},
    {"GET", "/ui/{file}", "ui.file", on<&ui::file>, Need::open},
    {"GET", "/v1/sd/prometheus", "service_discovery", on<&observe::service_discovery>,
     Need::discovery},
    {"GET", "/v1/openapi.json", "openapi", on<&openapi::serve>, Need::open},

    {"GET", "/v1/databases", "databases.list", on<&databases::list>, Need::read},
    {"POST", "/v1/databases", "databases.create", on<&databases::create>, Need::write},
    {"GET", "/v1/databases/{name}", "databases.get", on<&databases::get>, Need::read},
    {"PATCH", "/v1/databases/{name}", "databases.update", on<&databases::update>, Need::write},
    {"DELETE", "/v1/databases/{name}", "databases.delete", on<&databases::remove>, Need::remove},
    {"POST", "/v1/databases/{name}/switchover", "databases.switchover", on<&databases::switchover>,
     Need::write},
    {"POST", "/v1/databases/{name}/password", "databases.password", on<&databases::rotate_password>,
     Need::write},
    {"POST", "/v1/databases/{name}/backups", "backups.start", on<&backups::start>, Need::write},
    {"POST", "/v1/databases/{name}/restore", "backups.restore", on<&backups::restore>, Need::write},
    {"GET", "/v1/databases/{name}/usage", "usage.get", on<&usage::get>, Need::read},
    {"GET", "/v1/databases/{name}/logs", "databases.logs", on<&logs::get>, Need::read},

    {"GET", "/v1/backups", "backups.list", on<&backups::list>, Need::read},
    {"GET", "/v1/backups/{id}", "backups.get", on<&backups::get>, Need::read},
    {"DELETE", "/v1/backups/{id}", "backups.delete", on<&backups::remove>, Need::remove},
    {"GET", "/v1/backups/{id}/data", "backups.data", on<&backups::data>, Need::read},
    {"POST", "/v1/backups/{id}/restore", "backups.restore_to_new", on<&backups::restore_to_new>,
     Need::write},

    {"GET", "/v1/tasks", "tasks.list", on<&tasks::list>, Need::read},
    {"GET", "/v1/tasks/{id}", "tasks.get", on<&tasks::get>, Need::read},
    {"POST", "/v1/tasks/{id}/cancel", "tasks.cancel", on<&tasks::cancel>, Need::write},

    {"GET", "/v1/events", "events.list", on<&events::list>, Need::read},

    {"GET", "/v1/hosts", "hosts.list", on<&hosts::list>, Need::cluster},
    {"POST", "/v1/hosts/{name}/drain", "hosts.drain", on<&hosts::drain>, Need::cluster},
    {"POST", "/v1/hosts/{name}/undrain", "hosts.undrain", on<&hosts::undrain>, Need::cluster},
    {"DELETE", "/v1/hosts/{name}", "hosts.delete", on<&hosts::remove>, Need::cluster},

    {"GET", "/v1/join-tokens", "join_tokens.list", on<&join_tokens::list>, Need::cluster},
    {"POST", "/v1/join-tokens", "join_tokens.create", on<&join_tokens::create>, Need::cluster},
    {"GET", "/v1/join/ca", "join.ca", on<&joining::ca>, Need::open},
    {"POST", "/v1/join", "join.join", on<&joining::join>, Need::open},

    {"GET", "/v1/orphans", "orphans.list", on<&orphans::list>, Need::cluster},
    {"DELETE", "/v1/orphans/{id}", "orphans.delete", on<&orphans::remove>, Need::cluster},

    {"GET", "/v1/network", "network.get", on<&network::get>, Need::cluster},
    {"PUT", "/v1/network", "network.set", on<&network::set>, Need::cluster},

    {"GET", "/v1/engines", "engines.list", on<&engines::list>, Need::read},
    {"PUT", "/v1/engines/{name}", "engines.set", on<&engines::set>, Need::cluster},

    {"GET", "/v1/projects", "projects.list", on<&projects::list>, Need::cluster},
    {"POST", "/v1/projects", "projects.create", on<&projects::create>, Need::cluster},
    {"GET", "/v1/projects/{name}", "projects.get", on<&projects::get>, Need::cluster},
    {"PATCH", "/v1/projects/{name}", "projects.update", on<&projects::update>, Need::cluster},
    {"DELETE", "/v1/projects/{name}", "projects.delete", on<&projects::remove>, Need::cluster},

    {"GET", "/v1/tokens", "tokens.list", on<&tokens::list>, Need::tokens},
    {"POST", "/v1/tokens", "tokens.create", on<&tokens::create>, Need::tokens},
    {"DELETE", "/v1/tokens/{id}", "tokens.revoke", on<&tokens::revoke>, Need::tokens},
    {"GET", "/v1/whoami", "whoami", on<&tokens::whoami>, Need::whoami},
    {"GET", "/v1/audit", "audit.list", on<&audit_log::list>, Need::tokens},
};

}  // namespace

std::span<const Route> routes() {
  return kRoutes;
}

bool match(std::string_view pattern, std::string_view path, PathParams* params) {
  size_t n = 0;
  for (;;) {
    if (pattern.empty() || path.empty()) return pattern.empty() && path.empty();
    if (pattern[0] != '/' || path[0] != '/') return false;
    pattern.remove_prefix(1);
    path.remove_prefix(1);
    auto want = pattern.substr(0, pattern.find('/'));
    auto got = path.substr(0, path.find('/'));
    if (want.starts_with('{')) {
      if (got.empty() || n == params->size()) return false;
      (*params)[n++] = got;
    } else if (want != got) {
      return false;
    }
    pattern.remove_prefix(want.size());
    path.remove_prefix(got.size());
  }
}

Match find_route(std::string_view method, std::string_view path) {
  Match found;
  for (auto& route : kRoutes) {
    PathParams params;
    if (!match(route.pattern, path, &params)) continue;
    if (route.method != method) {
      found.path_known = true;
      continue;
    }
    found.route = &route;
    found.params = params;
    return found;
  }
  return found;
}

std::string_view route_label(std::string_view path) {
  for (auto& route : kRoutes) {
    PathParams params;
    if (match(route.pattern, path, &params)) return route.pattern;
  }
  return "other";
}

}  // namespace berth::api
