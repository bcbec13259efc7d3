// The OpenAPI document: one operation per row of the route table, what the table does not say
// (summary, bodies, the statuses each handler answers) from the description table below.
#include "api/openapi.hpp"

#include <algorithm>
#include <map>

#include "api/respond.hpp"

namespace berth::api::openapi {

namespace {

using nlohmann::json;

// Answers many handlers share.
const Response kBadJson{400, "the body is not JSON"};
const Response kInvalid{422, "a field is invalid; the message names it"};
const Response kNoDatabase{404, "no database of that name or id"};
const Response kNoBackup{404, "no backup of that id"};
const Response kNoTask{404, "no task of that id"};
const Response kNoHost{404, "no host of that name"};
const Response kChanged{409, "it changed meanwhile; try again"};
const Response kTaskRunning{409,
                            "another task is running on the database, or it changed meanwhile"};
const Response kDeferred{503, "etcd does not answer; nothing was changed"};

const Query kWaitForIt{"wait", "boolean",
                       "false: answer 202 at once instead of waiting until it runs (default true)"};
const Query kDatabaseFilter{"database", "string", "only those of this database (name or id)"};

const std::vector<Operation> kOperations = {
    {.route = "health",
     .summary = "Whether the server answers, and the revision of the state it has read",
     .responses = {{200, "it answers", "Health"}}},
    {.route = "metrics",
     .summary = "The cluster's metrics, in Prometheus' text format",
     .responses = {{200, "the exposition", "text", "text/plain"}}},
    {.route = "ui.index",
     .summary = "The web UI (/ui redirects to /ui/)",
     .responses = {{200, "the UI's page", "text", "text/html"}, {301, "to /ui/"}}},
    {.route = "ui.file",
     .summary = "One of the web UI's files",
     .responses = {{200, "the file", "binary", "*/*"}, {404, "no such file"}}},
    {.route = "service_discovery",
     .summary = "Prometheus HTTP service discovery: the servers' and agents' /metrics",
     .responses = {{200, "one target group per server and per agent", "TargetGroup[]"}}},
    {.route = "openapi",
     .summary = "This document",
     .responses = {{200, "the OpenAPI 3.0 document of the API", "OpenApiDocument"}}},

    {.route = "databases.list",
     .summary = "Every database, by name",
     .responses = {{200, "the databases", "Database[]"}}},
    {.route = "databases.create",
     .summary = "Creates a database and waits until it runs",
     .request = "CreateRequest",
     .query = {kWaitForIt},
     .responses = {{201, "created and running; the password is shown only here", "CreatedDatabase"},
                   {202, "created, not running yet (message says why)", "CreatedDatabase"},
                   kBadJson,
                   {409, "the name is taken, no host has room, or no network is configured"},
                   kInvalid,
                   {503, "etcd does not answer, or no addresses could be reserved"}}},
    {.route = "databases.get",
     .summary = "One database and its instances",
     .responses = {{200, "the database", "Database"}, kNoDatabase}},
    {.route = "databases.update",
     .summary = "Resizes a database, changes its replicas or its backup schedule",
     .request = "UpdateRequest",
     .responses = {{200, "changed, and every instance applied it", "Database"},
                   {202, "changed; the instances have not all applied it yet", "Database"},
                   kBadJson,
                   kNoDatabase,
                   {409, "no room for it, the address pool is exhausted, or it changed meanwhile"},
                   kInvalid,
                   kDeferred}},
    {.route = "databases.delete",
     .summary = "Deletes a database and its usage; its backups stay",
     .responses = {{204, "deleted"}, kNoDatabase, kChanged}},
    {.route = "databases.switchover",
     .summary = "Promotes a replica with no write lost",
     .request = "SwitchoverRequest",
     .request_required = false,
     .responses = {{200, "switched over", "Database"},
                   kBadJson,
                   kNoDatabase,
                   {409, "no primary or no replica in sync right now, or it changed meanwhile"},
                   {422, "the engine has no switchover, or to is not an instance"},
                   {503, "the primary could not pause writes, or the replica did not catch up"}}},
    {.route = "backups.start",
     .summary = "Starts a backup of a database (a task)",
     .request = "BackupRequest",
     .request_required = false,
     .responses = {{202, "the task", "Task"},
                   kBadJson,
                   kNoDatabase,
                   kTaskRunning,
                   {422, "the engine keeps no data, or verify is not a boolean"}}},
    {.route = "backups.restore",
     .summary = "Restores a backup into a database (a task); it is in maintenance meanwhile",
     .request = "RestoreRequest",
     .responses = {{202, "the task", "Task"},
                   kBadJson,
                   {404, "no such database or backup"},
                   {409, "the data does not fit, or another task is running on the database"},
                   {422, "no backup id, or a backup of another engine"}}},
    {.route = "usage.get",
     .summary = "A database's usage over a span of time",
     .query = {{"range", "string", "a span like 15m, 1h, 6h, 24h or 7d, at most 7d (default 1h)"}},
     .responses = {{200, "the points, oldest first", "Usage"},
                   {400, "range is not a span of at most 7d"},
                   kNoDatabase}},

    {.route = "backups.list",
     .summary = "The backup catalog, newest first",
     .query = {kDatabaseFilter},
     .responses = {{200, "the backups", "Backup[]"}}},
    {.route = "backups.get",
     .summary = "One backup",
     .responses = {{200, "the backup", "Backup"}, kNoBackup}},
    {.route = "backups.delete",
     .summary = "Deletes a backup, and its data unless another entry names the same bytes",
     .responses = {{204, "deleted"},
                   kNoBackup,
                   {409, "a restore of it is running, or it changed"}}},
    {.route = "backups.data",
     .summary = "A backup's data: the engine's own file, or a tar of its files",
     .responses = {{200, "the data (X-Checksum-Sha256 says its sha256)", "binary",
                    "application/octet-stream"},
                   kNoBackup,
                   {410, "its data is missing from the store"}}},
    {.route = "backups.restore_to_new",
     .summary = "Restores a backup into a new database (a task), shown with its password once",
     .request = "RestoreToNewRequest",
     .query = {kWaitForIt},
     .responses = {{202, "the restore task, with the new database", "TaskWithDatabase"},
                   kBadJson,
                   kNoBackup,
                   {409, "the name is taken, the data does not fit, or no host has room"},
                   kInvalid,
                   {503, "etcd does not answer, or no addresses could be reserved"}}},

    {.route = "tasks.list",
     .summary = "Backups and restores, newest first",
     .query = {kDatabaseFilter},
     .responses = {{200, "the tasks", "Task[]"}}},
    {.route = "tasks.get",
     .summary = "One task; with ?wait, once it changes past ?revision (or ends)",
     .query = {{"wait", "integer", "seconds to wait for a change, 0 to 60"},
               {"revision", "integer", "the task's revision already seen"}},
     .responses = {{200, "the task", "Task"}, kNoTask}},
    {.route = "tasks.cancel",
     .summary = "Cancels a task: at once when pending, at its next step when running",
     .responses = {{200, "the task", "Task"}, kNoTask, {409, "it has ended, or it changed"}}},

    {.route = "events.list",
     .summary = "What happened, oldest first; ?follow waits for what happens next",
     .query = {{"database", "string", "only this database's (name or id)"},
               {"kind", "string", "only kinds that start with this, e.g. database."},
               {"after", "string", "only events after this id"},
               {"limit", "integer", "the newest this many, 1 to 10000 (default 100)"},
               {"wait", "integer", "seconds to wait when there is none yet, 0 to 60"},
               {"follow", "boolean", "only what happens from now on (waits 30 s by default)"}},
     .responses = {{200, "the events", "EventPage"}, {400, "limit is not a number from 1"}}},

    {.route = "hosts.list",
     .summary = "Every host, alive or not",
     .responses = {{200, "the hosts", "Host[]"}}},
    {.route = "hosts.drain",
     .summary = "Moves every instance off a host, and keeps new ones away",
     .responses = {{200, "drained (or two minutes passed)", "Host"}, kNoHost, kChanged}},
    {.route = "hosts.undrain",
     .summary = "Takes a drained host back",
     .responses = {{200, "the host", "Host"}, kNoHost, kChanged}},

    {.route = "orphans.list",
     .summary = "Volumes kept on hosts after their instances left them, oldest first",
     .responses = {{200, "the orphans", "Orphan[]"}}},
    {.route = "orphans.delete",
     .summary = "Removes an orphan volume now, rather than at the end of its retention",
     .responses = {{204, "removed by its host"},
                   {202, "asked; its host removes it when it is back", "Orphan"},
                   {404, "no such orphan"},
                   kChanged}},

    {.route = "network.get",
     .summary = "The cluster network every address comes from",
     .responses = {{200, "the network", "NetworkConfig"}, {404, "none is configured"}}},
    {.route = "network.set",
     .summary = "Configures the cluster network",
     .request = "NetworkConfig",
     .responses = {{200, "the network", "NetworkConfig"},
                   kBadJson,
                   {409, "an address in use would fall outside it"},
                   kInvalid}},

    {.route = "engines.list",
     .summary = "The engines this build has, and the image each runs",
     .responses = {{200, "the engines", "Engine[]"}}},
    {.route = "engines.set",
     .summary = "Runs an engine from a registry image (empty: the locally built one)",
     .request = "EngineSettings",
     .responses = {{200, "the engine's image now", "EngineImage"},
                   kBadJson,
                   {404, "no such engine"},
                   {422, "image is not an image reference"}}},

    {.route = "projects.list",
     .summary = "The projects, their quotas and what they use",
     .responses = {{200, "the projects", "Project[]"}}},
    {.route = "projects.create",
     .summary = "Makes a project: a team's share of the cluster",
     .request = "ProjectRequest",
     .responses = {{201, "the project", "Project"},
                   kBadJson,
                   {409, "a project of that name exists"},
                   kInvalid}},
    {.route = "projects.get",
     .summary = "One project, its quotas and use",
     .responses = {{200, "the project", "Project"}, {404, "no such project"}}},
    {.route = "projects.update",
     .summary = "Changes a project's quotas",
     .request = "ProjectRequest",
     .responses = {{200, "the project", "Project"}, kBadJson, {404, "no such project"}, kInvalid}},
    {.route = "projects.delete",
     .summary = "Removes an empty project and its tokens",
     .responses = {{204, "removed"}, {404, "no such project"}, {409, "it still has databases"}}},

    {.route = "tokens.list",
     .summary = "The tokens (never their secrets): a project admin's own project's",
     .query = {{"project", "string", "an operator's: only this project's"}},
     .responses = {{200, "the tokens", "Token[]"}}},
    {.route = "tokens.create",
     .summary = "Makes a token; its secret is in this answer only",
     .request = "TokenRequest",
     .responses = {{201, "the token and its secret", "NewToken"},
                   kBadJson,
                   {403, "a role or project this token cannot give"},
                   {404, "no such project"},
                   kInvalid}},
    {.route = "tokens.revoke",
     .summary = "Revokes a token: refused at once on every server",
     .responses = {{204, "revoked"}, {404, "no such token"}}},
    {.route = "databases.logs",
     .summary = "An instance's engine log, from the agent of its host",
     .query = {{"instance", "integer", "the instance number; none: the primary"},
               {"tail", "integer", "the last lines (100)"},
               {"after", "string", "the after of an earlier answer: only later lines"},
               {"follow", "boolean", "wait (up to 30 s) for lines after ?after"}},
     .responses = {{200, "the lines, oldest first", "LogPage"},
                   {400, "a query value is not a number"},
                   {404, "no such database or instance"},
                   {503, "the host's agent does not answer"}}},
    {.route = "audit.list",
     .summary = "Calls that changed something or were refused, kept 30 days",
     .query = {{"project", "string", "an operator's: only this project's"},
               {"after", "string", "an entry id: only later ones"},
               {"follow", "boolean", "wait (up to 30 s) for entries after ?after or now"}},
     .responses = {{200, "the entries, oldest first (the newest 1000)", "AuditPage"},
                   {400, "after is not an entry id"}}},
    {.route = "whoami",
     .summary = "The token this request carries: id, name, project, role, expiry",
     .responses = {{200, "the caller", "Whoami"}}},
};

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

std::span<const Operation> operations() {
  return kOperations;
}

const Operation* describe(std::string_view route_name) {
  for (auto& op : kOperations)
    if (op.route == route_name) return &op;
  return nullptr;
}

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
