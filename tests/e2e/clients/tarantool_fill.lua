-- Usage: tarantool tarantool_fill.lua URI COUNT
-- Creates space `kv` (if missing), inserts COUNT tuples, reads them back and prints
-- "inserted N counted M replicas_acked R".
local netbox = require('net.box')
local uri, count = arg[1], tonumber(arg[2])
local conn = netbox.connect(uri, {wait_connected = 5})
assert(conn:is_connected(), 'cannot connect to ' .. uri)
conn:eval([[
  box.schema.space.create('kv', {if_not_exists = true})
  box.space.kv:create_index('pk', {if_not_exists = true, parts = {1, 'unsigned'}})
]])
local batch = 1000
for start = 1, count, batch do
  conn:eval([[
    local from, to = ...
    box.begin()
    for i = from, to do box.space.kv:replace{i, 'value' .. i} end
    box.commit()
  ]], {start, math.min(start + batch - 1, count)})
end
local counted = conn:eval('return box.space.kv:count()')
local ok = 0
for i = 1, count, 97 do
  local t = conn.space.kv:get(i)
  if t ~= nil and t[2] == 'value' .. i then ok = ok + 1 end
end
local acked = conn:call('berth.wait', {1, 5})
print(string.format('inserted %d counted %d sampled_ok %d replicas_acked %d', count, counted, ok,
                    acked))
os.exit(0)
