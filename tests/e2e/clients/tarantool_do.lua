-- Usage: tarantool tarantool_do.lua URI LUA [CONNECT_TIMEOUT]: runs LUA here, in the client,
-- with `conn` a net.box connection to URI (as the database user: requests, SQL and berth's
-- functions, no eval), and prints its result or the error Tarantool answered. Fails when the
-- connection or its authentication fails.
local netbox = require('net.box')
local conn = netbox.connect(arg[1], {wait_connected = tonumber(arg[3]) or 5,
                                     connect_timeout = tonumber(arg[3]) or 5})
assert(conn:is_connected(), 'cannot connect to ' .. arg[1] .. ': ' .. tostring(conn.error))
local chunk = assert(load(arg[2], 'LUA', 't', setmetatable({conn = conn}, {__index = _G})))
local ok, result = pcall(chunk)
print(ok and tostring(result) or ('error: ' .. tostring(result)))
os.exit(0)
