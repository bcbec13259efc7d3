-- Usage: tarantool tarantool_missing.lua URI ID...: prints each id missing from space `log`.
local netbox = require('net.box')
local conn = netbox.connect(arg[1], {wait_connected = 5})
assert(conn:is_connected(), 'cannot connect')
for i = 2, #arg do
  if conn.space.log:get(tonumber(arg[i])) == nil then print(arg[i]) end
end
os.exit(0)
