-- Usage: tarantool tarantool_lost.lua URI FILE RING: FILE holds tarantool_writer.lua's output
-- (with RING); prints how many acknowledged ("D id") writes are lost, their key missing or
-- holding an older write, then up to five of them.
local netbox = require('net.box')
local conn = netbox.connect(arg[1], {wait_connected = 5})
assert(conn:is_connected(), 'cannot connect')
local ring = tonumber(arg[3])
-- The whole space, a batch at a time: one round trip per 10,000 keys, not per write.
local have, after = {}, nil
while true do
  local batch = after == nil and conn.space.log:select({}, {limit = 10000})
                or conn.space.log:select({after}, {iterator = 'GT', limit = 10000})
  if #batch == 0 then break end
  for _, t in ipairs(batch) do have[t[1]] = t[2] end
  after = batch[#batch][1]
end
local lost, first = 0, {}
for line in io.lines(arg[2]) do
  local id = tonumber(line:match('^D (%d+)$'))
  if id then
    local held = have[id % ring]
    if held == nil or held < id then
      lost = lost + 1
      if #first < 5 then table.insert(first, id) end
    end
  end
end
print(lost .. ' ' .. table.concat(first, ' '))
os.exit(0)
