#include "engines/tarantool/init_lua.hpp"

namespace berth::engines {

// Runs inside every instance after `local cfg = {...}`. Every start is read-only except the
// very first of a primary (Tarantool cannot bootstrap read-only): only the agent makes an
// instance writable, under the newest epoch. The berth.* functions are what the agent calls.
const char* const kInitLua = R"lua(
local fio = require('fio')
local fiber = require('fiber')
local fresh = #fio.glob('/data/*.snap') == 0
local bootstrap = fresh and cfg.role == 'primary'
-- Restored from a backup: the snapshot's user has the backed-up database's password.
local restored = fio.path.exists('/data/berth-restored')
local setup = bootstrap or (restored and cfg.role == 'primary')
-- One UUID per instance number for the database's whole life: a re-created instance (fresh
-- volume) rejoins under its old replica id instead of taking a new one; a replica set has only
-- 31, and every failover re-creates an instance.
local uuid = cfg.uuid
-- A fresh replica cannot start without its primary (a read-only instance cannot bootstrap, and
-- box.cfg exits after replication_connect_timeout): wait for the primary to listen, up to a
-- minute, so a primary that starts slowly does not make its new replica crash-loop.
if fresh and cfg.role == 'replica' and cfg.primary ~= '' then
  local host, port = cfg.primary:match('([^@]+):(%d+)$')  -- user:password@host:port
  local deadline = fiber.clock() + 60
  while fiber.clock() < deadline do
    local s = require('socket').tcp_connect(host, tonumber(port), 0.5)
    if s then
      -- The greeting names the primary's UUID. A primary restored from a copy of this very
      -- instance has this one: then a new UUID (and replica id), or the join is refused.
      local greeting = s:read(64, 0.5) or ''
      s:close()
      if greeting:find(uuid, 1, true) then uuid = nil end
      break
    end
    fiber.sleep(0.2)
  end
end
box.cfg{
  instance_uuid = fresh and uuid or nil,
  memtx_memory = cfg.memtx_memory,
  vinyl_memory = 8 * 1024 * 1024,
  vinyl_cache = 4 * 1024 * 1024,
  memtx_dir = '/data', wal_dir = '/data', vinyl_dir = '/data',
  read_only = not setup,
  replication = (cfg.role == 'replica' and cfg.primary ~= '') and {cfg.primary} or nil,
  replication_connect_quorum = 0,
  replication_connect_timeout = 5,
  replication_timeout = 0.3,
  log_level = 5,
}
-- berth's own functions (the agent's and the controller's calls), run with their owner's
-- rights (setuid); berth.wait is for the users' own writes.
local functions = {'berth.status', 'berth.apply', 'berth.pause', 'berth.resume', 'berth.resize',
                   'berth.backup', 'berth.passwd', 'berth.wait'}
if setup then
  box.schema.user.create(cfg.user, {password = cfg.password, if_not_exists = true})
  box.schema.user.passwd(cfg.user, cfg.password)
  -- A database user's rights, not super's: data and schema (SQL, or the binary protocol's
  -- requests), replication, berth's functions; no Lua (eval, calls, functions of its own),
  -- no users or grants. A backup taken before had the user super: taken away here.
  box.schema.user.revoke(cfg.user, 'super', nil, nil, {if_exists = true})
  box.schema.user.grant(cfg.user, 'replication', nil, nil, {if_not_exists = true})
  for _, kind in ipairs({'space', 'sequence'}) do
    box.schema.user.grant(cfg.user, 'read,write,create,alter,drop', kind, nil,
                          {if_not_exists = true})
  end
  for _, name in ipairs(functions) do
    box.schema.func.create(name, {setuid = true, if_not_exists = true})
    box.schema.user.grant(cfg.user, 'execute', 'function', name, {if_not_exists = true})
  end
  box.cfg{read_only = true}
end
if restored then fio.unlink('/data/berth-restored') end
-- Clients only once the instance is set up (and read-only).
box.cfg{listen = cfg.port}

-- min_replicas: how many replicas must have acknowledged lately for this primary to take
-- writes (the agent says, with the role).
berth = {paused_until = 0, min_replicas = 0}

local function lsn_sum()
  local lsn = 0
  for id, v in pairs(box.info.vclock) do if id ~= 0 then lsn = lsn + v end end
  return lsn
end

-- A planned switchover: read-only for a while (writes are refused, never lost), even if the
-- agent asks for writable meanwhile; returns the offset the replica must reach.
function berth.pause(seconds)
  berth.paused_until = fiber.clock() + seconds
  if not box.cfg.read_only then box.cfg{read_only = true} end
  return lsn_sum()
end

function berth.resume()
  berth.paused_until = 0
  return true
end

-- ro, lsn, link_up, upstream, memory used, connections, operations, memtx_memory, tuples,
-- min_replicas
function berth.status()
  local info = box.info
  local lsn = lsn_sum()
  local link_up, upstream = false, ''
  for _, r in pairs(info.replication) do
    if r.id ~= info.id and r.upstream ~= nil then
      upstream = r.upstream.peer or ''
      link_up = r.upstream.status == 'follow'
    end
  end
  local net = box.stat.net()
  local connections = net.CONNECTIONS and net.CONNECTIONS.current or 0
  local ops = 0
  for _, v in pairs(box.stat()) do ops = ops + (v.total or 0) end
  local tuples = 0
  for id, space in pairs(box.space) do
    if type(id) == 'number' and id >= 512 then tuples = tuples + space:len() end
  end
  return {info.ro, lsn, link_up, upstream, box.slab.info().arena_used, connections, ops,
          box.cfg.memtx_memory, tuples, berth.min_replicas}
end

-- This instance's own LSN as it was half a second ago, from samples taken by the fence fiber
-- (0 until there is one that old).
local lsn_samples = {}
local function lsn_half_a_second_ago()
  local now = fiber.clock()
  table.insert(lsn_samples, {now, box.info.lsn})
  while #lsn_samples > 1 and lsn_samples[2][1] <= now - 0.5 do table.remove(lsn_samples, 1) end
  return lsn_samples[1][1] <= now - 0.5 and lsn_samples[1][2] or 0
end

-- Replicas that follow and have acknowledged every write older than half a second. (Not
-- downstream.idle: it counts from what this instance last sent, and a replica out of reach
-- shows as stopped only after 4 replication_timeouts.)
local function replicas_acking()
  local n, id, wanted = 0, box.info.id, lsn_half_a_second_ago()
  for _, r in pairs(box.info.replication) do
    local d = r.downstream
    if r.id ~= id and d ~= nil and d.status == 'follow' and d.vclock ~= nil and
       (d.vclock[id] or 0) >= wanted then
      n = n + 1
    end
  end
  return n
end

-- A primary cut off from its replicas refuses writes within about half a second of the first
-- write they did not acknowledge, as Redis does with min-replicas-max-lag, even when no agent
-- is left to fence it. Only its agent makes it writable again (it asks on each round while it
-- wants it so): never on its own, as the database may have been failed over meanwhile.
local function fence_if_alone()
  local acking = replicas_acking()  -- sampled on every tick, writable or not
  if not box.cfg.read_only and acking < berth.min_replicas then box.cfg{read_only = true} end
end
fiber.create(function()
  fiber.name('berth.fence')
  while true do
    fiber.sleep(0.1)
    pcall(fence_if_alone)
  end
end)

function berth.apply(role, primary, writable, min_replicas)
  berth.min_replicas = role == 'primary' and (min_replicas or 0) or 0
  writable = writable and fiber.clock() >= berth.paused_until and
             replicas_acking() >= berth.min_replicas
  if role == 'primary' then
    if #(box.cfg.replication or {}) > 0 then box.cfg{replication = {}} end
    if box.cfg.read_only ~= not writable then box.cfg{read_only = not writable} end
  else
    if not box.cfg.read_only then box.cfg{read_only = true} end
    local current = box.cfg.replication or {}
    -- An applier that failed (a write to a full disk) stays stopped, space back or not:
    -- replication set again starts a new one.
    local stopped = false
    for _, r in pairs(box.info.replication) do
      if r.upstream ~= nil and r.upstream.status == 'stopped' then stopped = true end
    end
    if primary ~= '' and (#current ~= 1 or current[1] ~= primary or stopped) then
      if stopped then box.cfg{replication = {}} end
      box.cfg{replication = {primary}}
    end
  end
  return true
end

-- A consistent snapshot for a backup: the path of the newest .snap file.
function berth.backup()
  box.snapshot()
  local snaps = fio.glob(box.cfg.memtx_dir .. '/*.snap')
  table.sort(snaps)
  return snaps[#snaps]
end

-- A rotation: the database user's new password (the user replicates to the replicas).
function berth.passwd(password)
  box.schema.user.passwd(cfg.user, password)
  return true
end

function berth.resize(memtx_memory)
  if memtx_memory > box.cfg.memtx_memory then box.cfg{memtx_memory = memtx_memory} end
  return box.cfg.memtx_memory
end

-- Like Redis WAIT: how many replicas have everything this instance wrote, waiting up to
-- timeout seconds for at least n of them.
function berth.wait(n, timeout)
  local deadline = fiber.clock() + (timeout or 1)
  local id, lsn = box.info.id, box.info.lsn
  while true do
    local acked = 0
    for _, r in pairs(box.info.replication) do
      local d = r.downstream
      if r.id ~= id and d ~= nil and d.vclock ~= nil and (d.vclock[id] or 0) >= lsn then
        acked = acked + 1
      end
    end
    if acked >= n or fiber.clock() >= deadline then return acked end
    fiber.sleep(0.001)
  end
end
)lua";

}  // namespace berth::engines
