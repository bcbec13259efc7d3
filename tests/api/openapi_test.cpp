// The OpenAPI document against the route table it is made from: every route is in it with its
// method and nothing else is, every operation is described, every $ref resolves, and the
// records' schemas follow their structs.
#include "api/openapi.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "model/model.hpp"

namespace berth::api::openapi {
namespace {

using nlohmann::json;

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

const std::set<std::string> kMethods = {"get",     "put",  "post",  "delete",
                                        "options", "head", "patch", "trace"};

TEST(OpenApi, EveryRouteIsAnOperationAndNothingElseIs) {
  json doc = document(routes());
  std::set<std::pair<std::string, std::string>> table, documented;
  for (auto& route : routes()) table.insert({std::string(route.pattern), lower(route.method)});
  for (auto& [path, item] : doc["paths"].items())
    for (auto& [method, op] : item.items())
      if (kMethods.count(method)) documented.insert({path, method});
  for (auto& [path, method] : table)
    EXPECT_TRUE(documented.count({path, method}))
        << "not in the document: " << method << " " << path;
  for (auto& [path, method] : documented)
    EXPECT_TRUE(table.count({path, method})) << "not in the route table: " << method << " " << path;
}

TEST(OpenApi, EveryRouteIsDescribedAndEveryDescriptionIsARoute) {
  std::set<std::string_view> names;
  for (auto& route : routes()) {
    names.insert(route.name);
    EXPECT_NE(describe(route.name), nullptr) << "no description of " << route.name;
  }
  for (auto& op : operations()) {
    EXPECT_TRUE(names.count(op.route)) << "a description of no route: " << op.route;
    EXPECT_FALSE(op.summary.empty()) << op.route;
    EXPECT_FALSE(op.responses.empty()) << op.route;
  }
}

TEST(OpenApi, OperationIdsAreUniqueAndNamedAfterTheRoute) {
  json doc = document(routes());
  std::set<std::string> ids;
  for (auto& [path, item] : doc["paths"].items())
    for (auto& [method, op] : item.items()) {
      std::string id = op.at("operationId");
      EXPECT_TRUE(ids.insert(id).second) << "twice: " << id;
    }
  for (auto& route : routes()) EXPECT_TRUE(ids.count(std::string(route.name))) << route.name;
}

TEST(OpenApi, TokenRoutesNeedTheBearerTokenAndOpenOnesNothing) {
  json doc = document(routes());
  EXPECT_EQ(doc["security"], json::parse(R"([{"bearer": []}])"));
  EXPECT_EQ(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
  for (auto& route : routes()) {
    auto& op = doc["paths"][std::string(route.pattern)][lower(route.method)];
    if (route.need == auth::Need::open) {
      EXPECT_EQ(op["security"], json::array()) << route.pattern;
    } else {
      EXPECT_FALSE(op.contains("security")) << route.pattern;
      EXPECT_TRUE(op["responses"].contains("401")) << route.pattern;
    }
  }
  EXPECT_EQ(doc["paths"]["/v1/openapi.json"]["get"]["security"], json::array());
}

TEST(OpenApi, PathParametersAreDeclared) {
  json doc = document(routes());
  auto& params = doc["paths"]["/v1/databases/{name}/backups"]["post"]["parameters"];
  ASSERT_EQ(params.size(), 2u);
  EXPECT_EQ(params[0]["name"], "name");
  EXPECT_EQ(params[0]["in"], "path");
  EXPECT_EQ(params[0]["required"], true);
  // A POST that starts work says that a key makes its retry safe.
  EXPECT_EQ(params[1]["name"], "Idempotency-Key");
  EXPECT_EQ(params[1]["in"], "header");
  // Every {param} of every path is a path parameter of each of its operations.
  for (auto& [path, item] : doc["paths"].items())
    for (auto& [method, op] : item.items()) {
      std::set<std::string> declared;
      for (auto& p : op.value("parameters", json::array()))
        if (p["in"] == "path") declared.insert(p["name"]);
      std::set<std::string> in_path;
      for (size_t open = path.find('{'); open != std::string::npos; open = path.find('{', open + 1))
        in_path.insert(path.substr(open + 1, path.find('}', open) - open - 1));
      EXPECT_EQ(declared, in_path) << method << " " << path;
    }
}

void collect_refs(const json& j, std::vector<std::string>* out) {
  if (j.is_object()) {
    for (auto& [k, v] : j.items()) {
      if (k == "$ref" && v.is_string()) out->push_back(v);
      collect_refs(v, out);
    }
  } else if (j.is_array()) {
    for (auto& v : j) collect_refs(v, out);
  }
}

TEST(OpenApi, EveryRefResolvesAndEverySchemaIsUsed) {
  json doc = document(routes());
  std::vector<std::string> refs;
  collect_refs(doc, &refs);
  ASSERT_FALSE(refs.empty());
  std::set<std::string> used;
  for (auto& ref : refs) {
    ASSERT_TRUE(ref.starts_with("#/")) << ref;
    EXPECT_TRUE(doc.contains(json::json_pointer(ref.substr(1)))) << "unresolved: " << ref;
    used.insert(ref.substr(ref.rfind('/') + 1));
  }
  for (auto& [name, schema] : doc["components"]["schemas"].items())
    EXPECT_TRUE(used.count(name)) << "no operation uses the schema " << name;
}

TEST(OpenApi, EveryErrorAnswersTheErrorSchema) {
  json doc = document(routes());
  int errors = 0;
  for (auto& [path, item] : doc["paths"].items())
    for (auto& [method, op] : item.items())
      for (auto& [status, response] : op["responses"].items()) {
        if (status == "default" || std::stoi(status) < 400) continue;
        ++errors;
        EXPECT_EQ(response["content"]["application/json"]["schema"]["$ref"],
                  "#/components/schemas/Error")
            << method << " " << path << " " << status;
      }
  EXPECT_GT(errors, 50);
}

// The records' schemas come from their JSON: every field of the struct is a property, typed
// as its JSON is; an empty container says what it holds.
TEST(OpenApi, RecordSchemasFollowTheirStructs) {
  json all = schemas();
  auto properties = [&](const char* name) { return all[name]["properties"]; };
  auto fields_are_properties = [&](const json& record, const char* schema) {
    for (auto& [field, value] : record.items())
      EXPECT_TRUE(properties(schema).contains(field)) << schema << "." << field;
  };
  fields_are_properties(model::Backup{}, "Backup");
  fields_are_properties(model::Task{}, "Task");
  fields_are_properties(model::NetworkConfig{}, "NetworkConfig");
  fields_are_properties(model::Orphan{}, "Orphan");

  EXPECT_EQ(properties("Task")["progress"]["type"], "integer");
  EXPECT_EQ(properties("Task")["cancel_requested"]["type"], "boolean");
  EXPECT_EQ(properties("Task")["log"],
            json::parse(R"({"type":"array","items":{"type":"string"}})"));
  EXPECT_EQ(properties("Task")["revision"]["type"], "integer");  // the view's own
  EXPECT_EQ(properties("NetworkConfig")["exclude"]["items"]["type"], "string");
  EXPECT_EQ(properties("Database")["constraints"]["additionalProperties"]["type"], "string");
  EXPECT_EQ(properties("Host")["labels"]["additionalProperties"]["type"], "string");
  EXPECT_EQ(properties("UsagePoint")["ops_per_sec"]["type"], "number");
  EXPECT_EQ(properties("UsagePoint")["time"], json({{"type", "string"},
                                                    {"description",
                                                     "RFC 3339, UTC: the sample's time or the "
                                                     "start of the span it sums"}}));
  EXPECT_EQ(properties("Event")["instance"]["type"], "integer");
  EXPECT_TRUE(properties("Event").contains("host"));  // left out of an empty event's JSON

  // Enum-valued strings are enums.
  EXPECT_EQ(properties("Task")["state"]["enum"],
            json({"pending", "running", "done", "failed", "cancelled"}));
  EXPECT_EQ(properties("Task")["kind"]["enum"], json({"backup", "restore"}));
  EXPECT_EQ(properties("Instance")["role"]["enum"], json({"primary", "replica"}));
  EXPECT_EQ(properties("Host")["state"]["enum"], json({"alive", "draining", "down"}));
  EXPECT_EQ(properties("Backup")["verified"]["enum"], json({"unverified", "verified", "failed"}));
  EXPECT_TRUE(properties("CreateRequest")["engine"]["enum"].size() >= 3);
}

TEST(OpenApi, OperationsSayTheStatusesTheirHandlersAnswer) {
  json doc = document(routes());
  auto statuses = [&](const char* path, const char* method) {
    std::set<std::string> out;
    for (auto& [status, r] : doc["paths"][path][method]["responses"].items()) out.insert(status);
    return out;
  };
  EXPECT_EQ(statuses("/v1/databases", "post"),
            (std::set<std::string>{"201", "202", "400", "401", "403", "409", "422", "503"}));
  EXPECT_EQ(statuses("/v1/databases/{name}", "delete"),
            (std::set<std::string>{"204", "401", "403", "404", "409"}));
  EXPECT_EQ(statuses("/v1/health", "get"), (std::set<std::string>{"200"}));
  auto& create = doc["paths"]["/v1/databases"]["post"];
  EXPECT_EQ(create["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/CreateRequest");
  EXPECT_EQ(create["responses"]["201"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/CreatedDatabase");
  EXPECT_EQ(doc["paths"]["/v1/databases/{name}/switchover"]["post"]["requestBody"]["required"],
            false);
}

}  // namespace
}  // namespace berth::api::openapi
