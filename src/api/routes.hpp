// The API's routes as data: one row per (method, pattern), matched segment by segment, with
// the path parameters handed to the handler typed. The pattern is the metrics label.
#pragma once

#include <array>
#include <boost/asio/awaitable.hpp>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "auth/auth.hpp"
#include "http/http.hpp"

namespace berth::api {

struct Context;

// Path parameters, typed by what they name: a handler cannot take a host for a database.
struct DatabaseRef {  // a database's name or id, as the user wrote it
  std::string value;
};
struct HostName {
  std::string value;
};
struct TaskId {
  std::string value;
};
struct BackupId {
  std::string value;
};
struct OrphanId {
  std::string value;
};
struct EngineName {
  std::string value;
};
struct UiFile {
  std::string value;
};
struct ProjectName {
  std::string value;
};
struct TokenId {
  std::string value;
};

// A request as a handler gets it: who sent it too (Api::handle identified the token and
// checked its role against the route's need before any handler runs).
struct Request : http::ServerRequest {
  auth::Caller caller;
};

// The {param} segments of a matched path, in order (no route has more than two).
using PathParams = std::array<std::string_view, 2>;
using Handler = boost::asio::awaitable<http::Response> (*)(Context&, const Request&,
                                                           const PathParams&);

// A handler function bound to the generic Handler shape: each PathParams entry becomes the
// handler's typed parameter in order. A handler may answer at once or be a coroutine; it takes
// its parameters by const reference (they live in the caller's frame until it answers).
struct Bound {
  Handler call = nullptr;
  int params = 0;  // how many typed path parameters the handler takes
};

namespace detail {
template <auto Fn>
struct Bind;
template <typename R, typename... P, R (*Fn)(Context&, const Request&, P...)>
struct Bind<Fn> {
  static constexpr int arity = sizeof...(P);
  template <size_t... I>
  static boost::asio::awaitable<http::Response> with(Context& c, const Request& r,
                                                     const PathParams& p,
                                                     std::index_sequence<I...>) {
    // Named, not temporaries: g++ 12 destroys a temporary of a co_await expression twice.
    std::tuple<std::decay_t<P>...> args{std::decay_t<P>{std::string(p[I])}...};
    if constexpr (std::is_same_v<R, http::Response>)
      co_return Fn(c, r, std::get<I>(args)...);
    else
      co_return co_await Fn(c, r, std::get<I>(args)...);
  }
  static boost::asio::awaitable<http::Response> call(Context& c, const Request& r,
                                                     const PathParams& p) {
    return with(c, r, p, std::index_sequence_for<P...>{});
  }
};
}  // namespace detail

template <auto Fn>
inline constexpr Bound on{&detail::Bind<Fn>::call, detail::Bind<Fn>::arity};

struct Route {
  std::string_view method;
  std::string_view pattern;  // "/v1/databases/{name}/backups": literal segments and {params}
  std::string_view name;     // the operation, resource.verb
  Bound handler;
  auth::Need need;  // of the caller's token: Need::open for none
};

// Every route of the API.
std::span<const Route> routes();

// Whether path matches pattern segment by segment; a {param} takes one non-empty segment and
// lands in *params in order.
bool match(std::string_view pattern, std::string_view path, PathParams* params);

struct Match {
  const Route* route = nullptr;  // the route of this method and path; null when none
  bool path_known = false;       // some route has this path, with another method
  PathParams params;
};
Match find_route(std::string_view method, std::string_view path);

// The metrics label of a path: the pattern of the route it matches, whatever the method;
// "other" when none does (so a scan of made-up paths makes no new series).
std::string_view route_label(std::string_view path);

}  // namespace berth::api
