#!/usr/bin/env python3
"""bench/failover: berth and Redis Sentinel side by side, the same host cut, the same client.

In each run, on the same lab (tests/e2e/lab.py: three hosts, each its own network namespace
and dockerd, on one bridge):
- berth: a Redis database with one replica, the agents at their shipped defaults
  (`--lease-ttl 5 --probe-interval-ms 1000`, the server's `--leader-ttl 2`), or at the tuning
  the e2e tests use (`--lease-ttl 2 --probe-interval-ms 200`) with BERTH_TUNED=1;
- Sentinel: the Debian redis-server in berth's image, a master on h1 and a replica on h2,
  watched by three Debian redis-sentinel (down-after-milliseconds 1000, failover-timeout 3000).
  The cut waits (up to 30 s) until `SENTINEL MASTER m` on every sentinel shows the master up,
  the two other sentinels and the replica, and `SENTINEL SLAVES m` its link ok.
The order alternates: berth first in even runs, Sentinel first in odd ones. RUNS runs
(default 10).

One client for both, redis-py (Debian's python3-redis): a thread sends SET key i then
WAIT 1 100, 300 ms socket and connect timeouts, and on any error drops its connection and
connects again after 10 ms. For berth it connects to the database address; for Sentinel it is
redis-py's Sentinel client (`master_for`), which asks the sentinels for the master on every
new connection and skips a master they flag down. Before the cut the client has had more than
100 writes acknowledged by the replica (WAIT >= 1: durable). The primary's host (the master's,
h1, for Sentinel) is then cut off the LAN until the client has had 100 more writes accepted.
- the gap: the longest pause between two accepted writes around the cut (as
  tests/e2e/writer.py's gap_around), i.e. from the last write accepted before the cut to the
  first accepted after it;
- lost writes: durable keys not readable, with the value written, on the new primary (the
  database address for berth, the master Sentinel names for Sentinel).

berth's gap is broken down from its logs, wall-clock times (the client's monotonic times
converted with the offset taken at the cut):
- detect_ms: the cut -> the leader's log line that it committed the failover (`failover ID:
  instance N on HOST promoted`): the prober's misses, the second look, the replica's word and
  the etcd transaction;
- agent_ms: that commit -> the promoted instance's agent logs that it holds the database
  address (the watch, REPLICAOF NO ONE, `ip addr`, and the unsolicited ARP: `arping -U -c 1`
  returns only about 1 s after it sends, so this log line comes that much after the address
  works);
- client_ms: that log line -> the first write accepted (negative when the client is through
  before the agent's log line);
- arp_ms: the commit -> the client's ARP table (/proc/net/arp, read every 5 ms) shows the
  address at a new MAC address, the promoted container's;
- arp_client_ms: that -> the first write accepted (a connect sent to the old MAC address times
  out after 300 ms, so the client gets through on a ~310 ms grid of retries after the cut).
A part not found in a run is left out of that run (said on stderr). Sentinel's are taken from
its logs: sentinel_sdown_ms, sentinel_odown_ms, sentinel_switch_ms (the cut -> the first
sentinel's +sdown, +odown, +switch-master).

Prints on stdout a `# berth at shipped defaults: ...` (or `tuned`) line first, `# run i: ...`
on stderr per run, then on stdout `name=value unit` lines:
failover_ms (median), failover_ms_min, failover_ms_max, sentinel_failover_ms (median, min,
max), failover_ratio (berth median / Sentinel median), lost_acked_writes,
sentinel_lost_acked_writes (totals over the runs), the medians of the breakdown, and
failed runs of each (no failover within 30 s; left out of the figures)."""
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime

try:
    import redis
except ImportError:
    # Debian's python3-redis (scripts/install-deps.sh), for a python3 that does not look in
    # Debian's dist-packages (a pyenv one). Appended: it shadows nothing the python has.
    sys.path.append("/usr/lib/python3/dist-packages")
    import redis
import redis.sentinel  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
from harness import ApiError, Process, redis_cli, wait_until  # noqa: E402
from lab import BRIDGE, GATEWAY, MultiHostLab  # noqa: E402

RUNS = int(os.environ.get("RUNS", "10"))
TUNED = os.environ.get("BERTH_TUNED", "") not in ("", "0")
LEASE_TTL, PROBE_MS = (2, 200) if TUNED else (5, 1000)  # `berth agent --help`: 5 and 1000
DOCKER = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else "docker"
PASSWORD = "sentinelbench1"
CLIENT = {"socket_timeout": 0.3, "socket_connect_timeout": 0.3, "decode_responses": True}
FAILOVER_LIMIT = 30  # seconds after the cut for 100 accepted writes, or the run failed


class Writer(threading.Thread):
    """SET key i then WAIT 1 100 through one redis-py client; on any error the connection is
    dropped and made again (for a Sentinel client that asks the sentinels anew)."""

    def __init__(self, client, prefix):
        super().__init__(daemon=True)
        self.client, self.prefix = client, prefix
        self.accepted = []  # (monotonic time, key) of every SET answered OK
        self.durable = []   # keys whose WAIT saw a replica
        self.errors = 0
        self.running = True

    def run(self):
        i = 0
        while self.running:
            key = f"{self.prefix}{i}"
            try:
                if self.client.set(key, i):
                    self.accepted.append((time.monotonic(), key))
                    if self.client.execute_command("WAIT", 1, 100) >= 1:
                        self.durable.append(key)
            except (redis.RedisError, OSError):
                self.errors += 1
                self.client.connection_pool.disconnect()
                time.sleep(0.01)
            i += 1

    def stop(self):
        self.running = False
        self.join(5)
        self.client.connection_pool.disconnect()

    def gap_around(self, moment):
        """(milliseconds, end): the longest pause between two accepted writes, the first of them
        at most 1 s before moment, and the time of the write that ended it."""
        times = [t for t, _ in self.accepted if t > moment - 1.0]
        if len(times) < 2:
            return None, None
        gap, end = max((b - a, b) for a, b in zip(times, times[1:]))
        return gap * 1000, end

    def lost(self, client):
        """Durable keys not readable with the value written through client."""
        lost = 0
        for n in range(0, len(self.durable), 500):
            keys = self.durable[n:n + 500]
            for key, value in zip(keys, client.mget(keys)):
                lost += value != key[len(self.prefix):]
        return lost


class ArpWatch(threading.Thread):
    """When this machine's ARP table (the client's) first shows address at a MAC address other
    than the one it had when started."""

    def __init__(self, address):
        super().__init__(daemon=True)
        self.address, self.running = address, True
        self.first = self.mac()
        self.changed_at = None  # time.time()

    def mac(self):
        with open("/proc/net/arp") as f:
            for line in f.read().splitlines()[1:]:
                parts = line.split()
                if len(parts) >= 6 and parts[0] == self.address and parts[5] == BRIDGE:
                    return None if parts[3] == "00:00:00:00:00:00" else parts[3]
        return None

    def run(self):
        while self.running and self.changed_at is None:
            mac = self.mac()
            if mac and self.first and mac != self.first:
                self.changed_at = time.time()
            time.sleep(0.005)

    def stop(self):
        self.running = False
        self.join(2)


def measure(writer, cut):
    """Cuts once the writer is warm; returns (gap ms or None, cut wall time, end wall time)."""
    wait_until(lambda: len(writer.durable) > 100, 20, "durable writes before the cut")
    cut_mono, cut_wall = time.monotonic(), time.time()
    cut()
    try:
        wait_until(lambda: len([t for t, _ in writer.accepted if t > cut_mono + 0.1]) > 100,
                   FAILOVER_LIMIT, "writes accepted after the cut")
    except AssertionError as e:
        print(f"#   {e}", file=sys.stderr)
        return None, cut_wall, None
    finally:
        writer.stop()
    gap, end = writer.gap_around(cut_mono)
    return gap, cut_wall, None if end is None else cut_wall + (end - cut_mono)


def iso_time(stamp):
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def first_line_after(path, pattern, after):
    """(wall time, match) of the first line of berth's log at path that matches, after a time."""
    try:
        with open(path, errors="replace") as f:
            for line in f:
                m = re.match(r"(\S+Z) " + pattern, line)
                if m and iso_time(m.group(1)) >= after:
                    return iso_time(m.group(1)), m
    except OSError:
        pass
    return None, None


def settle(lab):
    wait_until(lambda: all(h["state"] == "alive" for h in lab.berth.api("GET", "/v1/hosts")),
               60, "every host alive")


def berth_run(lab, i):
    settle(lab)
    db = lab.berth.api("POST", "/v1/databases", {"name": f"fo{i}", "engine": "redis",
                                                  "memory_mb": 64, "replicas": 1})
    primary = next(x for x in db["instances"] if x["role"] == "primary")
    host = lab.host(primary["host"])
    client = redis.Redis(host=db["address"], password=db["password"], **CLIENT)
    writer = Writer(client, prefix=f"b{i}-")
    writer.start()
    wait_until(lambda: len(writer.durable) > 100, 20, "durable writes before the cut")
    arp = ArpWatch(db["address"])  # the client has resolved the address by now
    arp.start()
    lost = None
    try:
        gap, cut_at, end = measure(writer, host.cut)
        try:
            lost = writer.lost(redis.Redis(host=db["address"], password=db["password"],
                                           socket_timeout=5, decode_responses=True))
        except (redis.RedisError, OSError) as e:
            print(f"#   berth: cannot read the writes back: {e}", file=sys.stderr)
    finally:
        arp.stop()
        host.restore()

    parts = {}
    commit, m = first_line_after(lab.berth.server.log_path,
                                 rf"controller .*?: failover {db['id']}: instance (?P<n>\d+) on "
                                 r"(?P<host>\S+) promoted", cut_at)
    if commit is None:
        print(f"#   berth run {i}: no failover line in the server log", file=sys.stderr)
    else:
        parts["detect_ms"] = (commit - cut_at) * 1000
        n, promoted_host = m.group("n"), m.group("host")
        held, _ = first_line_after(lab.host(promoted_host).agent.log_path,
                                   rf"agent {promoted_host}: {db['id']}/{n} holds the database "
                                   "address", cut_at)
        if held is None:
            print(f"#   berth run {i}: no 'holds the database address' line in "
                  f"{promoted_host}'s agent log", file=sys.stderr)
        else:
            parts["agent_ms"] = (held - commit) * 1000
            if end is not None:
                parts["client_ms"] = (end - held) * 1000
        if arp.changed_at is None:
            print(f"#   berth run {i}: the client's ARP entry for {db['address']} never changed",
                  file=sys.stderr)
        else:
            parts["arp_ms"] = (arp.changed_at - commit) * 1000
            if end is not None:
                parts["arp_client_ms"] = (end - arp.changed_at) * 1000

    wait_until(lambda: not [c for c in host.dockerd.containers()
                            if c["Labels"].get("berth.database") == db["id"]], 60,
               "the returned host to clean up")
    lab.berth.api("DELETE", f"/v1/databases/fo{i}")
    return gap, lost, parts


class SentinelSetup:
    """A master on h1 and a replica on h2 (plain docker run of berth's image on the lab's
    macvlan network) watched by three redis-sentinel processes in the root namespace."""

    def __init__(self, lab, i):
        self.lab, self.i = lab, i
        self.ips = [f"10.77.50.{2 * i + 1}", f"10.77.50.{2 * i + 2}"]
        self.names = [f"sent-p{i}", f"sent-r{i}"]
        self.ports, self.sentinels, self.logs = [], [], []
        redis_engine = next(e for e in lab.berth.api("GET", "/v1/engines")
                            if e["name"] == "redis")
        image = redis_engine["image"].split()[0]  # "berth/redis:TAG (built on each host)"
        for n, host in enumerate(lab.hosts[:2]):
            args = ["/usr/bin/redis-server", "--protected-mode", "no", "--requirepass", PASSWORD,
                    "--masterauth", PASSWORD, "--save", "", "--appendonly", "no"]
            if n == 1:
                args += ["--replicaof", self.ips[0], "6379"]
            subprocess.run([DOCKER, "-H", "unix://" + host.dockerd.socket, "run", "-d",
                            "--name", self.names[n], "--network", "lan", "--ip", self.ips[n],
                            "--memory", "64m", image, *args], check=True, capture_output=True)
        wait_until(lambda: "master_link_status:up" in redis_cli(
            self.ips[1], PASSWORD, "info", "replication"), 20, "the sentinel replica to sync")
        for s in range(3):
            port = 26400 + 10 * i + s
            conf = os.path.join(lab.workdir, f"sentinel-{i}-{s}.conf")
            with open(conf, "w") as f:
                f.write(f"port {port}\nbind {GATEWAY}\nsentinel monitor m {self.ips[0]} 6379 2\n"
                        f"sentinel auth-pass m {PASSWORD}\n"
                        "sentinel down-after-milliseconds m 1000\n"
                        "sentinel failover-timeout m 3000\nsentinel parallel-syncs m 1\n")
            self.ports.append(port)
            self.logs.append(conf + ".log")
            self.sentinels.append(Process(["redis-sentinel", conf], conf + ".log"))
        self.last_view = "no answer yet"
        wait_until(self.ready, 30, lambda: f"the sentinels to see each other and the replica "
                                           f"({self.last_view})")

    def ready(self):
        """Every sentinel sees the master up, the two other sentinels and the replica linked."""
        for port in self.ports:
            s = redis.Redis(GATEWAY, port, socket_timeout=0.5, socket_connect_timeout=0.5,
                            decode_responses=True)
            try:
                m = s.sentinel_master("m")
                replicas = s.sentinel_slaves("m")
            except (redis.RedisError, OSError) as e:
                self.last_view = f"sentinel {port}: {e}"
                return False
            finally:
                s.close()
            self.last_view = (f"sentinel {port}: flags {m.get('flags')}, "
                              f"{m.get('num-other-sentinels')} other sentinels, "
                              f"{m.get('num-slaves')} replicas, links "
                              f"{[r.get('master-link-status') for r in replicas]}")
            if (not m.get("is_master") or m.get("is_sdown") or m.get("is_odown")
                    or m.get("num-other-sentinels") != 2 or m.get("num-slaves") != 1
                    or not all(r.get("master-link-status") == "ok" and not r.get("is_sdown")
                               for r in replicas)):
                return False
        return True

    def client(self):
        sentinel = redis.sentinel.Sentinel(
            [(GATEWAY, p) for p in self.ports], socket_timeout=0.3,
            sentinel_kwargs={"socket_timeout": 0.3, "socket_connect_timeout": 0.3})
        return sentinel, sentinel.master_for("m", password=PASSWORD, **CLIENT)

    def first_event(self, event, after):
        """Wall time of the first `event` about m in any sentinel's log, after a time."""
        first = None
        for path in self.logs:
            try:
                with open(path, errors="replace") as f:
                    for line in f:
                        m = re.match(r"\d+:X (\d+ \w+ \d+ [\d:.]+) . (\S+) (.*)", line)
                        if not m or m.group(2) != event or " m " not in f" {m.group(3)} ":
                            continue
                        t = datetime.strptime(m.group(1), "%d %b %Y %H:%M:%S.%f").timestamp()
                        if t >= after and (first is None or t < first):
                            first = t
                        if t >= after:
                            break
            except OSError:
                pass
        return first

    def close(self):
        for s in self.sentinels:
            s.stop()
        for n, host in enumerate(self.lab.hosts[:2]):
            subprocess.run([DOCKER, "-H", "unix://" + host.dockerd.socket, "rm", "-f",
                            self.names[n]], capture_output=True)


def sentinel_run(lab, i):
    settle(lab)
    setup = None
    lost, parts = None, {}
    try:
        setup = SentinelSetup(lab, i)
        sentinel, client = setup.client()
        writer = Writer(client, prefix=f"s{i}-")
        writer.start()
        gap, cut_at, _ = measure(writer, lab.hosts[0].cut)
        try:
            ip, port = sentinel.discover_master("m")
            lost = writer.lost(redis.Redis(host=ip, port=port, password=PASSWORD,
                                           socket_timeout=5, decode_responses=True))
        except (redis.RedisError, OSError) as e:
            print(f"#   sentinel: cannot read the writes back: {e}", file=sys.stderr)
        for name, event in (("sentinel_sdown_ms", "+sdown"), ("sentinel_odown_ms", "+odown"),
                            ("sentinel_switch_ms", "+switch-master")):
            t = setup.first_event(event, cut_at)
            if t is None:
                print(f"#   sentinel run {i}: no {event} in the sentinel logs", file=sys.stderr)
            else:
                parts[name] = (t - cut_at) * 1000
    finally:
        lab.hosts[0].restore()
        if setup:
            setup.close()
    return gap, lost, parts


def fmt(value, unit="ms"):
    return "failed" if value is None else f"{value:.0f} {unit}"


def main():
    config = (f"agents --lease-ttl {LEASE_TTL} --probe-interval-ms {PROBE_MS}, "
              "server --leader-ttl 2 (its default)")
    print(f"# berth {'tuned as the e2e tests (BERTH_TUNED=1)' if TUNED else 'at shipped defaults'}:"
          f" {config}; {RUNS} runs", flush=True)
    lab = MultiHostLab(hosts=3, lease_ttl=LEASE_TTL, probe_interval_ms=PROBE_MS)
    try:
        # Warm up: images built on every host before anything is timed. The agents register
        # before they say what they can take: asked again until all three can.
        settle(lab)

        def warm():
            try:
                return lab.berth.api("POST", "/v1/databases", {"name": "warm", "engine": "redis",
                                                               "memory_mb": 64, "replicas": 2})
            except ApiError as e:
                if e.status != 409:
                    raise
                return None
        wait_until(warm, 30, "three hosts to take the warm-up database", interval=0.5)
        lab.berth.api("DELETE", "/v1/databases/warm")
        berth, sentinel = [], []
        lost = {"berth": [], "sentinel": []}
        parts = {}
        for i in range(RUNS):
            order = ("berth", "sentinel") if i % 2 == 0 else ("sentinel", "berth")
            got = {}
            for side in order:
                got[side] = berth_run(lab, i) if side == "berth" else sentinel_run(lab, i)
            (gap, missing, bparts), (sgap, smissing, sparts) = got["berth"], got["sentinel"]
            berth.append(gap)
            sentinel.append(sgap)
            lost["berth"].append(missing)
            lost["sentinel"].append(smissing)
            for k, v in {**bparts, **sparts}.items():
                parts.setdefault(k, []).append(v)
            detail = ", ".join(f"{k[:-3]} {v:.0f}" for k, v in {**bparts, **sparts}.items())
            print(f"# run {i} ({order[0]} first): berth {fmt(gap)} (lost {missing}), "
                  f"sentinel {fmt(sgap)} (lost {smissing}); ms: {detail}",
                  file=sys.stderr, flush=True)
        for name, figures in (("failover_ms", berth), ("sentinel_failover_ms", sentinel)):
            ok = [g for g in figures if g is not None]
            if ok:
                print(f"{name}={statistics.median(ok):.0f} ms")
                print(f"{name}_min={min(ok):.0f} ms")
                print(f"{name}_max={max(ok):.0f} ms")
        ok_b = [g for g in berth if g is not None]
        ok_s = [g for g in sentinel if g is not None]
        if ok_b and ok_s:
            print(f"failover_ratio={statistics.median(ok_b) / statistics.median(ok_s):.2f} ratio")
        for name, side in (("lost_acked_writes", "berth"), ("sentinel_lost_acked_writes",
                                                             "sentinel")):
            known = [n for n in lost[side] if n is not None]
            print(f"{name}={sum(known)} writes")
            if len(known) < len(lost[side]):
                print(f"# {side}: writes not read back in {len(lost[side]) - len(known)} runs")
        for name in ("detect_ms", "agent_ms", "client_ms", "arp_ms", "arp_client_ms",
                     "sentinel_sdown_ms", "sentinel_odown_ms", "sentinel_switch_ms"):
            if parts.get(name):
                print(f"{name}={statistics.median(parts[name]):.0f} ms")
        print(f"failed_runs={berth.count(None)} runs")
        print(f"sentinel_failed_runs={sentinel.count(None)} runs")
    finally:
        lab.close()


if __name__ == "__main__":
    main()
