#include "api/ui.hpp"

#include "api/handlers.hpp"
#include "api/respond.hpp"

namespace berth::api {

namespace {

std::string content_type(std::string_view name) {
  auto dot = name.rfind('.');
  std::string_view ext = dot == std::string_view::npos ? "" : name.substr(dot + 1);
  if (ext == "html") return "text/html; charset=utf-8";
  if (ext == "js" || ext == "mjs") return "text/javascript; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "png") return "image/png";
  if (ext == "ico") return "image/x-icon";
  if (ext == "json") return "application/json";
  if (ext == "txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

const UiAsset* find_asset(std::string_view name) {
  for (auto& asset : ui_assets())
    if (asset.name == name) return &asset;
  return nullptr;
}

}  // namespace

bool is_ui_path(std::string_view path) {
  return path == "/ui" || path.starts_with("/ui/");
}

http::Response serve_ui(const http::ServerRequest& request) {
  if (request.method != "GET") {
    auto r = error(405, "method not allowed: " + request.method + " " + request.path);
    r.headers.push_back({"Allow", "GET"});
    return r;
  }
  if (request.path == "/ui") {
    // The pages load their files relative to /ui/; the query (?token=) goes along.
    auto q = request.target.find('?');
    http::Response r;
    r.status = 301;
    r.content_type = "text/plain; charset=utf-8";
    r.headers.push_back(
        {"Location", "/ui/" + (q == std::string::npos ? "" : request.target.substr(q))});
    return r;
  }
  std::string_view name = std::string_view(request.path).substr(4);
  if (name.empty()) name = "index.html";
  const UiAsset* asset = name.find('/') == std::string_view::npos ? find_asset(name) : nullptr;
  if (!asset) return error(404, "no such file: " + request.path);
  http::Response r;
  r.status = 200;
  r.body = std::string(asset->data);
  r.content_type = content_type(name);
  // The files change with the binary: the browser asks again each time.
  r.headers.push_back({"Cache-Control", "no-cache"});
  r.headers.push_back({"X-Content-Type-Options", "nosniff"});
  // The token may be in the address (?token=): it goes to no other site.
  r.headers.push_back({"Referrer-Policy", "no-referrer"});
  if (r.content_type.starts_with("text/html"))
    r.headers.push_back({"Content-Security-Policy",
                         "default-src 'none'; script-src 'self'; style-src 'self'; "
                         "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
                         "base-uri 'none'; frame-ancestors 'none'"});
  return r;
}

}  // namespace berth::api

namespace berth::api::ui {

http::Response index(Context&, const Request& r) {
  return serve_ui(r);
}

http::Response file(Context&, const Request& r, const UiFile&) {
  return serve_ui(r);
}

}  // namespace berth::api::ui
