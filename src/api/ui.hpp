// The admin web UI: the files of web/, built into the binary at build time, served at /ui/.
// The files are public; the pages call the /v1 API with the token the user signs in with.
#pragma once

#include <span>
#include <string_view>

#include "http/http.hpp"

namespace berth::api {

// One file of web/: its name (no folders) and its bytes.
struct UiAsset {
  std::string_view name;
  std::string_view data;
};

// Every file of web/ (defined in the source CMake generates from the folder).
std::span<const UiAsset> ui_assets();

// True for the paths the UI answers: "/ui" and everything under "/ui/".
bool is_ui_path(std::string_view path);

// The answer to a GET under /ui: "/ui" redirects to "/ui/" (keeping the query, so ?token=
// survives), "/ui/" is index.html, "/ui/NAME" a file of web/, anything else 404.
http::Response serve_ui(const http::ServerRequest& request);

}  // namespace berth::api
