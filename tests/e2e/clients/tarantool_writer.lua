-- Usage: tarantool tarantool_writer.lua URI STOPFILE [RING]
-- Writes continuously to space `log` until STOPFILE exists: each insert, then berth.wait(1,
-- 0.1) as Redis's WAIT 1 100. Prints "A id" for every accepted insert and "D id" for every one
-- a replica acknowledged; reconnects on any error. With RING, replaces {id % RING, id} instead
-- (a long run would fill the database): a key read back holding a smaller id lost a write.
local netbox = require('net.box')
local fio = require('fio')
local fiber = require('fiber')
local uri, stop, ring = arg[1], arg[2], tonumber(arg[3])
io.stdout:setvbuf('line')
local conn
local id = 0
while not fio.path.exists(stop) do
  if conn == nil or not conn:is_connected() then
    if conn then conn:close() end
    conn = netbox.connect(uri, {wait_connected = 0.3, connect_timeout = 0.3})
    if conn:is_connected() then
      -- As the database user: the schema by SQL (a replica refuses it: it is there already).
      pcall(conn.execute, conn,
            'CREATE TABLE IF NOT EXISTS "log" ("id" UNSIGNED PRIMARY KEY, "v" SCALAR)')
    else
      fiber.sleep(0.01)
    end
  elseif conn.space.log == nil then  -- the connection has not seen the new schema yet
    pcall(conn.ping, conn, {timeout = 0.5})
    fiber.sleep(0.01)
  else
    id = id + 1
    local ok
    if ring then
      ok = pcall(conn.space.log.replace, conn.space.log, {id % ring, id}, {timeout = 0.5})
    else
      ok = pcall(conn.space.log.insert, conn.space.log, {id, fiber.time()}, {timeout = 0.5})
    end
    if ok then
      print('A ' .. id)
      local wok, acked = pcall(conn.call, conn, 'berth.wait', {1, 0.1}, {timeout = 0.5})
      if wok and acked >= 1 then print('D ' .. id) end
    else
      conn:close()
      conn = nil
    end
  end
end
os.exit(0)
