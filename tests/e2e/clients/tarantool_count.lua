-- Usage: tarantool tarantool_count.lua URI [SPACE]: prints the space's tuple count, or -1.
local netbox = require('net.box')
local conn = netbox.connect(arg[1], {wait_connected = 5})
if not conn:is_connected() then print(-1) os.exit(0) end
local ok, n = pcall(conn.eval, conn, 'local s = box.space[...] return s and s:count() or -1',
                    {arg[2] or 'kv'})
print(ok and n or -1)
os.exit(0)
