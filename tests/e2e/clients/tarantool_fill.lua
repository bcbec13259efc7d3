-- Usage: tarantool tarantool_fill.lua URI COUNT
-- Creates space `kv` (if missing), inserts COUNT tuples, reads them back and prints
-- "inserted N counted M replicas_acked R".
local netbox = require('net.box')
local uri, count = arg[1], tonumber(arg[2])
local conn = netbox.connect(uri, {wait_connected = 5})
assert(conn:is_connected(), 'cannot connect to ' .. uri)
-- As the database user: schema by SQL (no Lua), rows by the thousand in one statement.
conn:execute('CREATE TABLE IF NOT EXISTS "kv" ("id" UNSIGNED PRIMARY KEY, "v" SCALAR)')
local batch = 1000
for start = 1, count, batch do
  local rows = {}
  for i = start, math.min(start + batch - 1, count) do
    table.insert(rows, string.format("(%d, 'value%d')", i, i))
  end
  conn:execute('REPLACE INTO "kv" VALUES ' .. table.concat(rows, ', '))
end
local counted = conn:execute('SELECT COUNT(*) FROM "kv"').rows[1][1]
conn:reload_schema()
local ok = 0
for i = 1, count, 97 do
  local t = conn.space.kv:get(i)
  if t ~= nil and t[2] == 'value' .. i then ok = ok + 1 end
end
local acked = conn:call('berth.wait', {1, 5})
print(string.format('inserted %d counted %d sampled_ok %d replicas_acked %d', count, counted, ok,
                    acked))
os.exit(0)
