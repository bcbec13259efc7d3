// Every JSON body the API parses into a typed request (api/requests.hpp): create, update,
// restore to a new database, a new password, projects, tokens and joins. A refusal is fine; a throw
// would be a 500.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "api/requests.hpp"
#include "engines/engine.hpp"
#include "join/token.hpp"

using namespace berth;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto body = nlohmann::json::parse(data, data + size, nullptr, false);
  if (body.is_discarded()) return 0;  // the handler answers 400
  api::CreateRequest create;
  if (!api::parse_create(body, &create) && (!create.engine || create.name.empty()))
    __builtin_trap();  // accepted, so complete
  for (auto* engine : engines::all_engines()) {
    api::UpdateRequest update;
    api::parse_update(body, *engine, &update);
    api::CreateRequest restored;
    api::parse_restore_to_new(body, engine->name(), 256, &restored);
    std::optional<std::string> password;
    if (!api::parse_password(body, *engine, &password) && password &&
        (password->size() < 8 || password->size() > 128))
      __builtin_trap();  // accepted, so within the rule
  }
  api::ProjectRequest project;
  api::parse_project(body, true, &project);
  api::parse_project(body, false, &project);
  api::TokenRequest token;
  api::parse_token(body, &token);
  api::JoinTokenRequest join_token;
  api::parse_join_token(body, &join_token);
  api::JoinRequest join;
  if (!api::parse_join(body, &join) && !join::parse(join.token))
    __builtin_trap();  // accepted, so a join token
  return 0;
}
