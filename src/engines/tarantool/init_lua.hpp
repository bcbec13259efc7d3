// The Lua every Tarantool instance runs at start after `local cfg = {...}`: its box.cfg, and
// the berth.* functions the agent calls (status, apply, pause, wait, backup, resize).
#pragma once

namespace berth::engines {

extern const char* const kInitLua;

}  // namespace berth::engines
