// What an installed engine binary prints (its --version line), read at start-up: each engine
// parses its own version out of it.
#pragma once

#include <string>

namespace berth::engines {

// The standard output of a shell command ("" when it cannot run). Blocking: for start-up only.
std::string command_output(const std::string& command);

}  // namespace berth::engines
