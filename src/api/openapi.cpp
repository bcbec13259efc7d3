// The OpenAPI document: one operation per row of the route table, what the table does not say
// (summary, bodies, the statuses each handler answers) from the description table in
// openapi_operations.cpp.
#include "api/openapi.hpp"

#include <algorithm>
#include <map>

#include "api/respond.hpp"

namespace berth::api::openapi {

namespace {

using nlohmann::json;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return c | 0x20; });
  return out;
}

json body_schema(std::string_view body) {
  if (body == "text") return {{"type", "string"}};
  if (body == "binary") return {{"type", "string"}, {"format", "binary"}};
  std::string ref = "#/components/schemas/";
  if (body.ends_with("[]"))
    return {{"type", "array"},
            {"items", {{"$ref", ref + std::string(body.substr(0, body.size() - 2))}}}};
  return {{"$ref", ref + std::string(body)}};
}

// What a path parameter names, by the collection it follows.
std::string_view parameter_description(std::string_view collection) {
  if (collection == "databases") return "a database's name or id";
  if (collection == "hosts") return "a host's name";
  if (collection == "engines") return "an engine's name";
  if (collection == "backups") return "a backup's id";
  if (collection == "tasks") return "a task's id";
  return "a file's name";
}

json path_parameters(std::string_view pattern) {
  json out = json::array();
  std::string_view previous;
  while (!pattern.empty()) {
    pattern.remove_prefix(1);  // '/'
    auto segment = pattern.substr(0, pattern.find('/'));
    pattern.remove_prefix(segment.size());
    if (segment.starts_with('{') && segment.ends_with('}'))
      out.push_back({{"name", segment.substr(1, segment.size() - 2)},
                     {"in", "path"},
                     {"required", true},
                     {"description", parameter_description(previous)},
                     {"schema", {{"type", "string"}}}});
    previous = segment;
  }
  return out;
}

json operation(const Route& route, const Operation* described) {
  json op = json::object();
  auto name = route.name;
  op["tags"] = json::array({name.substr(0, name.find('.'))});
  if (!described) {
    op["summary"] = name;
    op["responses"] = {{"default", {{"description", "not described yet"}}}};
    return op;
  }
  op["summary"] = described->summary;
  json parameters = path_parameters(route.pattern);
  for (auto& q : described->query)
    parameters.push_back({{"name", q.name},
                          {"in", "query"},
                          {"required", false},
                          {"description", q.description},
                          {"schema", {{"type", q.type}}}});
  // Every POST that makes something or starts a task is done once per key.
  if (route.method == "POST" && (name == "databases.create" || name.starts_with("backups.")))
    parameters.push_back(
        {{"name", "Idempotency-Key"},
         {"in", "header"},
         {"required", false},
         {"description",
          "A key of the client's choosing (1-255 printable characters, kept a day): the same "
          "request sent again with it answers what the first did (a create: the same database "
          "and password) and does nothing new; the key on a different request is a 422"},
         {"schema", {{"type", "string"}}}});
  if (!parameters.empty()) op["parameters"] = parameters;
  if (!described->request.empty())
    op["requestBody"] = {
        {"required", described->request_required},
        {"content", {{"application/json", {{"schema", body_schema(described->request)}}}}}};
  json responses = json::object();
  auto add = [&](const Response& r) {
    json response = {{"description", r.description}};
    auto body = r.body.empty() && r.status >= 400 ? std::string_view("Error") : r.body;
    if (!body.empty()) response["content"] = {{r.media, {{"schema", body_schema(body)}}}};
    responses[std::to_string(r.status)] = response;
  };
  for (auto& r : described->responses) add(r);
  if (route.need != auth::Need::open) {
    add({401, "no token, a wrong, expired or revoked one"});
    if (route.need != auth::Need::whoami)
      add({403, "the token's role or project does not allow it"});
  }
  op["responses"] = responses;
  return op;
}

}  // namespace

json document(std::span<const Route> routes) {
  json paths = json::object();
  std::map<std::string_view, int> seen;  // a name on two rows (/ui and /ui/) gets a suffix
  for (auto& route : routes) {
    json op = operation(route, describe(route.name));
    int n = ++seen[route.name];
    op["operationId"] = std::string(route.name) + (n > 1 ? "_" + std::to_string(n) : "");
    // Open routes say so: the document's default is the token.
    if (route.need == auth::Need::open) op["security"] = json::array();
    paths[std::string(route.pattern)][lower(route.method)] = std::move(op);
  }
  return {{"openapi", "3.0.3"},
          {"info",
           {{"title", "berth"},
            {"version", "1"},
            {"description",
             "berth's REST API: databases on Docker hosts, their backups, tasks and events. "
             "Every /v1 route but health and this document takes the admin token."}}},
          {"paths", paths},
          {"security", json::array({json{{"bearer", json::array()}}})},
          {"components",
           {{"schemas", schemas()},
            {"securitySchemes",
             {{"bearer",
               {{"type", "http"},
                {"scheme", "bearer"},
                {"description",
                 "the admin token, written by the first server to its --token-file"}}}}}}}};
}

http::Response serve(Context&, const Request&) {
  static const std::string body = document(routes()).dump();
  http::Response r;
  r.status = 200;
  r.body = body;
  return r;
}

}  // namespace berth::api::openapi
