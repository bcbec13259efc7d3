#!/usr/bin/env python3
"""bench/chaos: ordinary faults, one after another, drawn at random with a printed seed, on the
lab (3 hosts, 3 etcd members, 2 servers) with four databases: Redis with a replica, Redis
without, Tarantool with a replica, memcached. A writer makes durable writes on each replicated
database (Redis: SET, then WAIT 1; Tarantool: replace, then berth.wait for a replica); a
checker writes to each of the replicated Redis' instances' own addresses and records which
process took each write; a watcher lists the running containers of every host and their
addresses. After each fault: wait until every database runs (every instance healthy, one
primary) and every host is back.

FAULTS (default 10) and SEED (default: the time) choose the run. Prints one line per fault and
faults=N lost_durable_writes=N double_writable_windows=N duplicate_addresses=N
converge_p50_s=X converge_max_s=X unconverged=N stalled=N. Exits 1 when anything was lost,
doubled or left unconverged, any address was held twice, or durable writes did not resume
after a fault (make test runs it with 10 faults). KINDS (comma-separated) draws only those.

A full disk is the primary's host's: every host keeps its Docker data (images, containers,
volumes) on a 2 GiB file system of its own (an ext4 image on a loop device), filled with one
file for 3-15 s. The primary then refuses writes (Redis: -MISCONF, Tarantool: its WAL write
fails), its agent reports it unhealthy with the reason, and it takes writes again once the
space is back. berth does not fail it over: its replica holds the same data and would fill up
as well in the usual case, a database that grew."""
import concurrent.futures
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time

E2E = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e")
CLIENTS = os.path.join(E2E, "clients")
sys.path.insert(0, E2E)
from harness import Berth, wait_until  # noqa: E402
from lab import MultiHostLab  # noqa: E402
from writer import Writer, write_taken_by  # noqa: E402

FAULTS = int(os.environ.get("FAULTS", "10"))
SEED = int(os.environ.get("SEED", str(int(time.time()))))
CONVERGE_LIMIT = float(os.environ.get("CONVERGE_LIMIT", "120"))
KINDS = ["agent_restart", "agent_kill", "dockerd_kill", "host_cut", "leader_kill",
         "etcd_member_kill", "etcd_leader_kill", "container_kill", "agent_etcd_cut",
         "disk_full"]
# Only these kinds, when given (a comma-separated list): to try one fault again and again.
KINDS = os.environ.get("KINDS", "").split(",") if os.environ.get("KINDS") else KINDS


class WriteChecker(threading.Thread):
    """Writes to every address an instance has had (an instance re-created elsewhere takes a new
    one; its old container may live on at the old) in rounds, all addresses of a round at once
    (a round lasts at most the 200 ms write timeout, however many old addresses no longer
    answer); a round in which two different processes (run_id) took a write is a moment with two
    writable instances."""

    def __init__(self, current_addresses, password):
        super().__init__(daemon=True)
        self.current_addresses, self.password = current_addresses, password
        self.addresses = set(current_addresses())
        self.double_rounds = []  # (time, [(address, run_id)])
        self.running = True
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=32)

    def run(self):
        i = 0
        looked = time.monotonic()
        while self.running:
            if time.monotonic() - looked > 1:
                self.addresses |= set(self.current_addresses())
                looked = time.monotonic()
            addresses = sorted(self.addresses)
            answers = list(self.pool.map(
                lambda a: write_taken_by(a[1], self.password, f"checker{(i + a[0]) % 1000}",
                                         i + a[0]),
                enumerate(addresses)))
            i += len(addresses)
            took = [(address, run_id) for address, run_id in zip(addresses, answers) if run_id]
            if len({run_id for _, run_id in took}) > 1:
                self.double_rounds.append((time.monotonic(), took))
            time.sleep(0.05)  # the pace of the rounds

    def stop(self):
        self.running = False
        self.join(5)
        self.pool.shutdown(wait=False)


class AddressWatcher(threading.Thread):
    """Lists every host's running berth containers and the addresses they hold: Docker's, and
    those an agent added inside (a database address); an address held by two running containers
    at once is a duplicate on the LAN."""

    def __init__(self, hosts):
        super().__init__(daemon=True)
        self.hosts = hosts
        self.duplicates = set()
        self.first_seen = {}  # ip -> (monotonic time, its holders), for the report
        self.running = True

    def run(self):
        while self.running:
            holders = {}
            for h in self.hosts:
                try:
                    containers = h.dockerd.containers() or []
                except (OSError, TypeError, ValueError):
                    continue  # its dockerd is down: what runs there is seen when it is back
                for c in containers:
                    if c.get("State") != "running":
                        continue
                    for net in (c.get("NetworkSettings") or {}).get("Networks", {}).values():
                        ip = net.get("IPAddress")
                        if ip:
                            holders.setdefault(ip, set()).add((h.name, c["Id"]))
                    for ip in h.addresses_inside(c["Id"]):
                        holders.setdefault(ip, set()).add((h.name, c["Id"]))
            for ip, held in holders.items():
                if len(held) > 1:
                    self.duplicates.add(ip)
                    self.first_seen.setdefault(
                        ip, (time.monotonic(), sorted((h, c[:12]) for h, c in held)))
            time.sleep(0.5)

    def stop(self):
        self.running = False
        self.join(5)


class TarantoolWriter:
    """clients/tarantool_writer.lua on the Tarantool database's address, over a ring of keys:
    an insert, then berth.wait for a replica (durable when it saw one); reconnects on error."""

    RING = 100_000

    def __init__(self, db):
        self.uri = f"berth:{db['password']}@{db['address']}:3301"
        self.password = db["password"]
        self.stop_file = tempfile.mktemp(prefix="berth-chaos-tt-stop-")
        self.log = tempfile.NamedTemporaryFile("w+", prefix="berth-chaos-tt-", delete=False)
        self.proc = subprocess.Popen(["tarantool", os.path.join(CLIENTS, "tarantool_writer.lua"),
                                      self.uri, self.stop_file, str(self.RING)],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.durable, self._read_to = 0, 0

    def count(self):
        """Durable writes so far (reads only what the writer printed since the last count)."""
        with open(self.log.name, "rb") as f:
            f.seek(self._read_to)
            data = f.read()
        cut = data.rfind(b"\n") + 1  # whole lines only
        self.durable += data[:cut].count(b"D ")
        self._read_to += cut
        return self.durable

    def stop(self):
        open(self.stop_file, "w").close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        os.unlink(self.stop_file)

    def lost(self, addresses, within=10):
        """(how many, what) for each address that lost durable writes, as read there; a replica
        is given `within` seconds to catch up."""
        out = []
        for address in addresses:
            uri = f"berth:{self.password}@{address}:3301"
            deadline = time.monotonic() + within
            while True:
                r = subprocess.run(["tarantool", os.path.join(CLIENTS, "tarantool_lost.lua"),
                                    uri, self.log.name, str(self.RING)],
                                   capture_output=True, text=True, timeout=300)
                answer = r.stdout.split() if r.returncode == 0 else ["unreadable"]
                if answer[:1] == ["0"] or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            if answer[:1] != ["0"]:
                out.append((int(answer[0]) if answer[0].isdigit() else self.durable,
                            f"{address}: {' '.join(answer)}"))
        return out

    def close(self):
        os.unlink(self.log.name)


def wait_for(condition, seconds):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def etcdctl(lab, *args):
    # The harness's own look at etcd: right after a member's restart, a read can wait on a
    # member still catching up; asked again, another member answers.
    for attempt in range(4):
        try:
            return subprocess.run(["etcdctl", "--endpoints", lab.etcd.endpoints,
                                   "--command-timeout=5s", *args],
                                  env={**os.environ, "ETCDCTL_API": "3"}, capture_output=True,
                                  text=True, timeout=10)
        except subprocess.TimeoutExpired:
            if attempt == 3:
                raise


class Chaos:
    def __init__(self, lab, rng):
        self.lab, self.rng = lab, rng
        self.servers = [lab.berth]
        standby = Berth(lab.workdir, lab.etcd, None, None, None)
        standby.start_server(log="server2.log")
        self.servers.append(standby)

    def api(self, method, path, body=None):
        for s in self.servers:
            if s.server and s.server.alive():
                try:
                    status, answer = s.request(method, path, body)
                except OSError:  # started again but not listening yet: ask the other one
                    continue
                if status < 500:
                    return status, answer
        return 503, None

    def primary_host(self, name):
        status, db = self.api("GET", f"/v1/databases/{name}")
        if status != 200:
            return self.rng.choice(self.lab.hosts)
        primary = next((i for i in db["instances"] if i["role"] == "primary"), None)
        return self.lab.host(primary["host"]) if primary else self.rng.choice(self.lab.hosts)

    def settled(self, hold=3.0):
        """Converged, and still so after `hold` seconds of looks: a fault not noticed yet
        (a killed container the API still shows running) does not pass for convergence.
        Returns when that began."""
        since = None
        while True:
            if self.converged():
                since = since or time.monotonic()
                if time.monotonic() - since >= hold:
                    return since
            else:
                since = None
            time.sleep(0.25)

    def converged(self):
        status, dbs = self.api("GET", "/v1/databases")
        if status != 200 or len(dbs) != 4 or any(d["state"] != "running" for d in dbs):
            return False
        if any(sum(i["role"] == "primary" for i in d["instances"]) != 1 for d in dbs):
            return False
        status, hosts = self.api("GET", "/v1/hosts")
        return status == 200 and all(h["state"] == "alive" for h in hosts)

    def fault(self, kind):
        """Applies one fault, mostly to the host of the replicated Redis' primary; returns what
        it did."""
        host = self.primary_host("rr")
        if kind == "agent_restart":
            host.agent.stop()
            host.start_agent()
            return f"{host.name} agent restarted"
        if kind == "agent_kill":
            host.kill_agent()
            time.sleep(8)  # the fault lasts 8 s
            host.start_agent()
            return f"{host.name} agent killed for 8 s"
        if kind == "dockerd_kill":
            host.dockerd.kill()
            time.sleep(8)
            host.dockerd.start()
            return f"{host.name} dockerd killed for 8 s"
        if kind == "host_cut":
            seconds = self.rng.uniform(3, 20)
            host.cut()
            time.sleep(seconds)
            host.restore()
            return f"{host.name} cut off for {seconds:.1f} s"
        if kind == "agent_etcd_cut":
            # Only the agent loses etcd; the host and its containers stay on the LAN.
            seconds = self.rng.uniform(3, 15)
            host.cut_from_etcd()
            try:
                time.sleep(seconds)
            finally:
                host.cut_from_etcd(False)
            return f"{host.name} agent cut off from etcd for {seconds:.1f} s"
        if kind == "disk_full":
            # The disk of the primary's host fills up: its databases' writes fail (nothing
            # they refuse was acknowledged) until space comes back.
            seconds = self.rng.uniform(3, 15)
            host.fill_disk()
            try:
                time.sleep(seconds)
            finally:
                host.fill_disk(False)
            return f"{host.name} disk full for {seconds:.1f} s"
        if kind == "leader_kill":
            leader = etcdctl(self.lab, "get", "/berth/leader", "--print-value-only").stdout
            for s in self.servers:  # the leader's id is HOSTNAME:PID
                if s.server and s.server.alive() and leader.strip().endswith(f":{s.server.pid}"):
                    s.server.kill()
                    time.sleep(2)
                    s.start_server(log=f"server-{int(time.time())}.log")
                    return f"leader server :{s.port} killed, back after 2 s"
            victim = self.rng.choice(self.servers)
            victim.server.kill()
            time.sleep(2)
            victim.start_server(log=f"server-{int(time.time())}.log")
            return f"server :{victim.port} killed (leader not found), back after 2 s"
        if kind in ("etcd_member_kill", "etcd_leader_kill"):
            i = self.rng.randrange(len(self.lab.etcd.members))
            if kind == "etcd_leader_kill":
                out = etcdctl(self.lab, "endpoint", "status", "-w", "json").stdout
                for n, st in enumerate(json.loads(out or "[]")):
                    if st["Status"]["leader"] == st["Status"]["header"]["member_id"]:
                        i = n
            self.lab.etcd.kill(i)
            time.sleep(5)
            self.lab.etcd.start(i)
            return f"etcd member e{i} killed for 5 s" + (" (the leader)" if "leader" in kind else "")
        if kind == "container_kill":
            for c in host.dockerd.containers() or []:
                status, db = self.api("GET", "/v1/databases/rr")
                if status == 200 and c["Labels"].get("berth.database") == db["id"]:
                    host.dockerd.call("POST", f"/containers/{c['Id']}/kill")
                    return f"{host.name}: the replicated Redis' primary container killed"
            return "no container to kill"
        raise ValueError(kind)


def main():
    rng = random.Random(SEED)
    print(f"seed={SEED} faults={FAULTS}", flush=True)
    # Each host's Docker data on a disk of its own, small enough to fill in a moment.
    lab = MultiHostLab(hosts=3, volumes_mb=2048)
    failed, tt_writer = False, None
    try:
        chaos = Chaos(lab, rng)
        made = {}
        for name, engine, replicas in (("rr", "redis", 1), ("rs", "redis", 0),
                                       ("tt", "tarantool", 1), ("mc", "memcached", 0)):
            status, db = chaos.api("POST", "/v1/databases", {"name": name, "engine": engine,
                                                             "memory_mb": 64,
                                                             "replicas": replicas})
            assert status in (201, 202), (status, db)
            made[name] = db
        wait_until(chaos.converged, 120, "every database running")
        rr = made["rr"]
        # Over a ring of keys: a run of hundreds of faults writes millions, more than fits.
        writer = Writer(rr["address"], rr["password"], prefix="chaos", ring=100_000)
        def rr_addresses():
            status, view = chaos.api("GET", "/v1/databases/rr")
            return [i["address"] for i in view["instances"]] if status == 200 else []

        tt_writer = TarantoolWriter(made["tt"])
        checker = WriteChecker(rr_addresses, rr["password"])
        watcher = AddressWatcher(lab.hosts)
        for t in (writer, checker, watcher):
            t.start()
        converge, unconverged, stalled = [], 0, 0
        for n in range(1, FAULTS + 1):
            kind = rng.choice(KINDS)
            what = chaos.fault(kind)
            started = time.monotonic()
            result = {}
            settle = threading.Thread(target=lambda: result.update(at=chaos.settled()),
                                      daemon=True)
            settle.start()
            settle.join(CONVERGE_LIMIT)
            # The writer must be writing again: a run whose writes stopped (a full database,
            # a writer stuck) would test nothing from then on.
            before, tt_before = len(writer.durable), tt_writer.count()
            if not wait_for(lambda: len(writer.durable) > before + 10 and
                            tt_writer.count() > tt_before + 10, 20):
                stalled += 1
                print(f"fault {n}: durable writes stalled after it", flush=True)
            if "at" in result:
                took = max(0.0, result["at"] - started)
                converge.append(took)
                print(f"fault {n} at {started:.1f}: {kind}: {what}; converged in {took:.1f} s",
                      flush=True)
            else:
                unconverged += 1
                print(f"fault {n}: {kind}: {what}; NOT converged in {CONVERGE_LIMIT:.0f} s",
                      flush=True)
            if n % 25 == 0:  # a long run says how it goes (lost writes are read at the end)
                print(f"# after {n} faults: double_writable_windows={len(checker.double_rounds)} "
                      f"duplicate_addresses={len(watcher.duplicates)} unconverged={unconverged} "
                      f"durable_writes={len(writer.durable)}", flush=True)
        for t in (writer, checker, watcher, tt_writer):
            t.stop()
        status, view = chaos.api("GET", "/v1/databases/rr")
        lost = writer.missing(view["address"], rr["password"],
                              [i["address"] for i in view["instances"]]) \
            if status == 200 else writer.durable
        status, tt = chaos.api("GET", "/v1/databases/tt")
        tt_writer.count()
        tt_lost = tt_writer.lost([tt["address"]] + [i["address"] for i in tt["instances"]]) \
            if status == 200 else [(tt_writer.durable, "tt: no answer")]
        tt_writer.close()
        for _, what in tt_lost:
            print(f"  tarantool writes lost at {what}")
        lost = lost + [None] * sum(n for n, _ in tt_lost)
        print(f"faults={FAULTS} lost_durable_writes={len(lost)} "
              f"double_writable_windows={len(checker.double_rounds)} "
              f"duplicate_addresses={len(watcher.duplicates)} "
              f"converge_p50_s={statistics.median(converge) if converge else 0:.1f} "
              f"converge_max_s={max(converge) if converge else 0:.1f} "
              f"unconverged={unconverged} stalled={stalled} "
              f"durable_writes={len(writer.durable) + tt_writer.durable} "
              f"tarantool_durable_writes={tt_writer.durable}")
        for t, took in checker.double_rounds[:5]:
            print(f"  two writable at {t:.1f}: {took}")
        if watcher.duplicates:
            print(f"  duplicate addresses: {sorted(watcher.duplicates)}")
            for ip, (at, held) in sorted(watcher.first_seen.items()):
                print(f"  {ip} first held twice at {at:.1f}: {held}")
        failed = bool(lost or checker.double_rounds or watcher.duplicates or unconverged
                      or stalled)
    finally:
        if tt_writer and tt_writer.proc.poll() is None:  # the run broke off: stop its writer
            tt_writer.proc.kill()
        lab.close()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
