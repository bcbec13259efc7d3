"""Usage: python3 inside_writer.py redis|tarantool PASSWORD [ADDRESS]: a client on the cut-off
side (run with nsenter in a host's or an instance's network namespace) that writes to the
instance at ADDRESS (default 127.0.0.1) every 20 ms and prints "W T" for every write it took,
T on CLOCK_MONOTONIC (the machine's, the same in every process). The fencing tests compare
these with the first write the promoted replica takes."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from writer import Connection  # noqa: E402

engine, password = sys.argv[1], sys.argv[2]
address = sys.argv[3] if len(sys.argv) > 3 else "127.0.0.1"
sys.stdout.reconfigure(line_buffering=True)
if engine == "tarantool":
    # Tarantool's own client, in Lua: clock.monotonic() reads the same clock.
    lua = f"""
io.stdout:setvbuf('line')
local c = require('net.box').connect('berth:{password}@{address}:3301')
local clock, fiber = require('clock'), require('fiber')
for i = 1, 1000000 do
  if pcall(c.space.probe.replace, c.space.probe, {{1, i}}) then
    print(string.format('W %.3f', clock.monotonic()))
  elseif not c:is_connected() then
    c = require('net.box').connect('berth:{password}@{address}:3301')
  end
  fiber.sleep(0.02)
end
os.exit(0)"""
    os.execvp("tarantool", ["tarantool", "-e", lua])  # one process: killed, it is gone
client, i = None, 0
while True:
    i += 1
    try:
        client = client or Connection(address, password)
        if client.call("SET", "inside", i) == "OK":
            print(f"W {time.monotonic():.3f}")
    except RuntimeError:  # refused: READONLY, NOREPLICAS
        pass
    except OSError:  # ConnectionError and timeouts among them: connect again
        client = None
    time.sleep(0.02)
