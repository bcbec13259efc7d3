// /v1/engines: the engines this build has, and the image each runs.
#include "api/handlers.hpp"
#include "api/respond.hpp"
#include "engines/engine.hpp"

namespace berth::api::engines {

namespace keys = model::keys;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

std::string image_of(const Context& c, const berth::engines::Engine& engine) {
  if (auto* kv = c.state.find(keys::engine_settings(engine.name())))
    if (auto image = model::parse<model::EngineSettings>(kv->value).image; !image.empty())
      return image;
  return engine.image_recipe().reference() + " (built on each host)";
}

}  // namespace

http::Response list(Context& c, const Request&) {
  json out = json::array();
  for (auto* e : berth::engines::all_engines()) {
    auto caps = e->capabilities();
    out.push_back({{"name", e->name()},
                   {"version", e->version()},
                   {"installed", !e->version().empty()},
                   {"port", e->port()},
                   {"min_memory_mb", e->min_memory_mb()},
                   {"image", image_of(c, *e)},
                   {"supports",
                    {{"replication", caps.replication},
                     {"failover", caps.replication},
                     {"persistence", caps.persistent},
                     {"backups", caps.persistent && caps.backups},
                     {"users", caps.users},
                     {"shrink_in_place", caps.shrink_in_place},
                     {"password_optional", caps.password_optional}}}});
  }
  return reply(200, out);
}

Reply set(Context& c, const Request& r, const EngineName& name) {
  auto* engine = berth::engines::find_engine(name.value);
  if (!engine)
    co_return error(404, "engine: unknown engine '" + name.value +
                             "' (known: " + berth::engines::engine_names() + ")");
  http::Response failure;
  auto parsed = parse_body(r, &failure);
  if (!parsed) co_return failure;
  json body = std::move(*parsed);
  if (!body.is_object() || (body.contains("image") && !body["image"].is_string()))
    co_return error(422, "image: must be a string (empty: build from local binaries)");
  model::EngineSettings settings;
  settings.image = body.value("image", "");
  if (settings.image.find_first_of(" \t\n\"") != std::string::npos)
    co_return error(422, "image: '" + settings.image + "' is not an image reference");
  auto rev = co_await c.store.put(keys::engine_settings(name.value), model::dump(settings));
  co_await c.state.wait_revision(rev, 5s);
  co_return reply(200, {{"name", name.value}, {"image", image_of(c, *engine)}});
}

}  // namespace berth::api::engines
