-- Usage: tarantool tarantool_eval.lua URI LUA [CONNECT_TIMEOUT]: evaluates LUA there and prints
-- its result, or the error Tarantool answered.
local netbox = require('net.box')
local conn = netbox.connect(arg[1], {wait_connected = tonumber(arg[3]) or 5,
                                     connect_timeout = tonumber(arg[3]) or 5})
assert(conn:is_connected(), 'cannot connect to ' .. arg[1])
local ok, result = pcall(conn.eval, conn, arg[2])
print(ok and tostring(result) or ('error: ' .. tostring(result)))
os.exit(0)
