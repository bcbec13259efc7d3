// Which records a request's caller sees, and which project its creates go into: the project
// rules every handler applies, in one place (the role rules are applied in Api::handle).
#pragma once

#include <string>

#include "api/context.hpp"
#include "api/routes.hpp"

namespace berth::api {

// Whether a record of `project` is shown to the caller: a project token's own project only;
// an operator's every project, or the one its ?project= names.
bool shown(const Request& r, const std::string& project);

// The id of the database ref names for the caller: an id, or a name within its project (an
// operator's: within ?project=, else the default project's, else the only project's with that
// name). "" when none it may see: another project's database does not exist for it (404).
std::string resolve(const Context& c, const Request& r, const std::string& ref);

// The project a create goes into: a project token's own; an operator's `asked` (a body's
// "project"), ?project= or the default one. Sets *error (the 4xx message) and returns "" when
// the project does not exist or a project token asks for another.
std::string project_for_create(const Context& c, const Request& r, const std::string& asked,
                               int* status, std::string* error);

}  // namespace berth::api
