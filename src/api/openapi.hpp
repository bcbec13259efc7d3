// The API's OpenAPI 3.0 document, made from the route table (paths, methods, operation ids, who
// may call) and the records' own JSON (schemas); by hand only what neither says. Pure.
#pragma once

#include <nlohmann/json.hpp>
#include <span>
#include <string_view>
#include <vector>

#include "api/routes.hpp"
#include "http/http.hpp"

namespace berth::api::openapi {

// One answer of an operation. body: a schema of components/schemas ("Backup"), an array of one
// ("Backup[]"), "text" or "binary"; empty means no body, or the Error schema from 400 up.
struct Response {
  int status = 0;
  std::string_view description;
  std::string_view body = {};
  std::string_view media = "application/json";
};

struct Query {
  std::string_view name;
  std::string_view type;  // string, integer or boolean
  std::string_view description;
};

// What the route table does not say of an operation, keyed by the route's name.
struct Operation {
  std::string_view route;  // the route's name: the key, and the operationId
  std::string_view summary;
  std::string_view request = {};  // the body's schema; empty: none
  bool request_required = true;   // false: the body may be left out
  std::vector<Query> query = {};
  std::vector<Response> responses = {};
};

// Every operation described, in the route table's order.
std::span<const Operation> operations();
const Operation* describe(std::string_view route_name);

// components/schemas: the records' schemas derived from their JSON, the views' by hand.
nlohmann::json schemas();

// The document of these routes, one operation per row; a row with no description still gets
// one (named after the route, answering "default") so that no route is ever missing.
nlohmann::json document(std::span<const Route> routes);

// GET /v1/openapi.json: document(routes()), made once.
http::Response serve(Context& c, const Request& r);

}  // namespace berth::api::openapi
