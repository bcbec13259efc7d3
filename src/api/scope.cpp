#include "api/scope.hpp"

namespace berth::api {

namespace {

std::string asked_project(const Request& r) {
  auto it = r.query.find("project");
  return it == r.query.end() ? std::string() : it->second;
}

}  // namespace

bool shown(const Request& r, const std::string& project) {
  if (!auth::sees(r.caller, project)) return false;
  auto asked = asked_project(r);
  return !r.caller.is_operator() || asked.empty() || asked == project;
}

std::string resolve(const Context& c, const Request& r, const std::string& ref) {
  if (auto* db = c.view.database(ref)) return shown(r, db->value.project) ? ref : "";
  std::string project = r.caller.is_operator() ? asked_project(r) : r.caller.project;
  if (!project.empty()) {
    auto* db = c.view.database_named(project, ref);
    return db && shown(r, db->value.project) ? db->value.id : "";
  }
  if (!r.caller.is_operator()) return "";
  if (auto* db = c.view.database_named(model::keys::kDefaultProject, ref)) return db->value.id;
  auto named = c.view.databases_named(ref);
  return named.size() == 1 ? named[0]->value.id : "";
}

std::string project_for_create(const Context& c, const Request& r, const std::string& asked,
                               int* status, std::string* error) {
  std::string project = asked.empty() ? asked_project(r) : asked;
  if (!r.caller.is_operator()) {
    if (!project.empty() && project != r.caller.project) {
      *status = 403;
      *error = "project: this token belongs to project " + r.caller.project;
      return "";
    }
    project = r.caller.project;
  }
  if (project.empty()) project = model::keys::kDefaultProject;
  if (!c.view.project(project) && project != model::keys::kDefaultProject) {
    *status = 404;
    *error = "project: no project named '" + project + "'";
    return "";
  }
  return project;
}

}  // namespace berth::api
