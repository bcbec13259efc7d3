// The API's handlers, one namespace and one file per resource; routes.cpp binds them to their
// paths. Each takes the Context, the request and its typed path parameters.
#pragma once

#include <boost/asio/awaitable.hpp>

#include "api/context.hpp"
#include "api/routes.hpp"
#include "http/http.hpp"

namespace berth::api {

using Reply = boost::asio::awaitable<http::Response>;

namespace databases {  // databases.cpp
http::Response list(Context& c, const Request& r);
http::Response get(Context& c, const Request& r, const DatabaseRef& ref);
Reply create(Context& c, const Request& r);
Reply update(Context& c, const Request& r, const DatabaseRef& ref);
Reply remove(Context& c, const Request& r, const DatabaseRef& ref);
Reply switchover(Context& c, const Request& r, const DatabaseRef& ref);
Reply rotate_password(Context& c, const Request& r, const DatabaseRef& ref);  // passwords.cpp
}  // namespace databases

namespace hosts {  // hosts.cpp
http::Response list(Context& c, const Request& r);
Reply drain(Context& c, const Request& r, const HostName& name);
Reply undrain(Context& c, const Request& r, const HostName& name);
Reply remove(Context& c, const Request& r, const HostName& name);  // join.cpp
}  // namespace hosts

namespace join_tokens {  // join.cpp
Reply create(Context& c, const Request& r);
http::Response list(Context& c, const Request& r);
}  // namespace join_tokens

namespace joining {  // join.cpp: a new host's own calls, with its join token as credential
http::Response ca(Context& c, const Request& r);
Reply join(Context& c, const Request& r);
}  // namespace joining

namespace network {  // network.cpp
http::Response get(Context& c, const Request& r);
Reply set(Context& c, const Request& r);
}  // namespace network

namespace backups {  // backups.cpp
Reply start(Context& c, const Request& r, const DatabaseRef& ref);
Reply restore(Context& c, const Request& r, const DatabaseRef& ref);
Reply restore_to_new(Context& c, const Request& r, const BackupId& id);
http::Response list(Context& c, const Request& r);
http::Response get(Context& c, const Request& r, const BackupId& id);
Reply remove(Context& c, const Request& r, const BackupId& id);
Reply data(Context& c, const Request& r, const BackupId& id);
}  // namespace backups

namespace orphans {  // orphans.cpp
http::Response list(Context& c, const Request& r);
Reply remove(Context& c, const Request& r, const OrphanId& id);
}  // namespace orphans

namespace tasks {  // tasks.cpp
http::Response list(Context& c, const Request& r);
Reply get(Context& c, const Request& r, const TaskId& id);
Reply cancel(Context& c, const Request& r, const TaskId& id);
}  // namespace tasks

namespace events {  // events.cpp
Reply list(Context& c, const Request& r);
}  // namespace events

namespace usage {  // usage.cpp
Reply get(Context& c, const Request& r, const DatabaseRef& ref);
}  // namespace usage

namespace engines {  // engines.cpp
http::Response list(Context& c, const Request& r);
Reply set(Context& c, const Request& r, const EngineName& name);
}  // namespace engines

namespace ui {  // ui.cpp
http::Response index(Context& c, const Request& r);
http::Response file(Context& c, const Request& r, const UiFile& file);
}  // namespace ui

namespace projects {  // projects.cpp
http::Response list(Context& c, const Request& r);
Reply create(Context& c, const Request& r);
http::Response get(Context& c, const Request& r, const ProjectName& name);
Reply update(Context& c, const Request& r, const ProjectName& name);
Reply remove(Context& c, const Request& r, const ProjectName& name);
}  // namespace projects

namespace tokens {  // tokens.cpp
http::Response list(Context& c, const Request& r);
Reply create(Context& c, const Request& r);
Reply revoke(Context& c, const Request& r, const TokenId& id);
http::Response whoami(Context& c, const Request& r);
}  // namespace tokens

namespace logs {  // logs.cpp
Reply get(Context& c, const Request& r, const DatabaseRef& ref);
}  // namespace logs

namespace audit_log {  // audit.cpp
Reply list(Context& c, const Request& r);
}  // namespace audit_log
// Writes the audit entry of an answered call, when it is one that is audited.
boost::asio::awaitable<void> record_call(Context& c, const Request& r, const Route* route,
                                         int status);

namespace observe {  // metrics.cpp: health, Prometheus' scrape and service discovery
http::Response health(Context& c, const Request& r);
http::Response metrics(Context& c, const Request& r);
http::Response service_discovery(Context& c, const Request& r);
}  // namespace observe

}  // namespace berth::api
