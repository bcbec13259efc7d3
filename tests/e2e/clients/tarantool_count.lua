-- Usage: tarantool tarantool_count.lua URI [SPACE]: prints the space's tuple count, or -1.
local netbox = require('net.box')
local conn = netbox.connect(arg[1], {wait_connected = 5})
if not conn:is_connected() then print(-1) os.exit(0) end
local name = arg[2] or 'kv'
if conn.space[name] == nil then print(-1) os.exit(0) end
local ok, r = pcall(conn.execute, conn, 'SELECT COUNT(*) FROM "' .. name .. '"')
print(ok and r.rows[1][1] or -1)
os.exit(0)
