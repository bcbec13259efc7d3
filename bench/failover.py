#!/usr/bin/env python3
"""bench/failover: a writer sends SET then WAIT 1 100 to the database address; the primary's
host is cut off the LAN; the figure is the longest pause between accepted writes around the
cut, median of RUNS runs. In the same run, on the same lab, Redis Sentinel from Debian
(3 sentinels, down-after-milliseconds 1000, failover-timeout 3000, the client asking Sentinel
for the master after every error) does the same failover.

Prints failover_ms=, sentinel_failover_ms=, failover_ratio=, lost_acked_writes=."""
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
from harness import Process, redis_cli, wait_until  # noqa: E402
from lab import GATEWAY, MultiHostLab  # noqa: E402
from writer import Connection, Writer  # noqa: E402

RUNS = int(os.environ.get("RUNS", "5"))
DOCKER = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else "docker"
PASSWORD = "sentinelbench1"


def measure(writer, host):
    wait_until(lambda: len(writer.durable) > 100, 20, "durable writes before the cut")
    cut_at = time.monotonic()
    host.cut()
    try:
        wait_until(lambda: len([t for t, _ in writer.accepted if t > cut_at + 0.1]) > 100, 30,
                   "writes accepted after the cut")
    finally:
        writer.stop()
    return writer.gap_around(cut_at)


def berth_run(lab, i):
    db = lab.berth.api("POST", "/v1/databases", {"name": f"fo{i}", "engine": "redis",
                                                  "memory_mb": 64, "replicas": 1})
    primary = next(x for x in db["instances"] if x["role"] == "primary")
    host = lab.host(primary["host"])
    writer = Writer(db["address"], db["password"], prefix=f"b{i}-")
    writer.start()
    try:
        gap = measure(writer, host)
        lost = len(writer.missing(db["address"], db["password"]))
    finally:
        host.restore()
    wait_until(lambda: not [c for c in host.dockerd.containers()
                            if c["Labels"].get("berth.database") == db["id"]], 60,
               "the returned host to clean up")
    lab.berth.api("DELETE", f"/v1/databases/fo{i}")
    return gap, lost


class SentinelSetup:
    """A primary on h1 and a replica on h2 (plain docker run of berth's image on the lab's
    macvlan network) watched by three redis-sentinel processes."""

    def __init__(self, lab, i):
        self.lab, self.i = lab, i
        self.ips = [f"10.77.50.{2 * i + 1}", f"10.77.50.{2 * i + 2}"]
        self.names = [f"sent-p{i}", f"sent-r{i}"]
        redis = next(e for e in lab.berth.api("GET", "/v1/engines") if e["name"] == "redis")
        image = redis["image"].split()[0]  # "berth/redis:TAG (built on each host)"
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
        self.ports, self.sentinels = [], []
        for s in range(3):
            port = 26400 + 10 * i + s
            conf = os.path.join(lab.workdir, f"sentinel-{i}-{s}.conf")
            with open(conf, "w") as f:
                f.write(f"port {port}\nbind {GATEWAY}\nsentinel monitor m {self.ips[0]} 6379 2\n"
                        f"sentinel auth-pass m {PASSWORD}\n"
                        "sentinel down-after-milliseconds m 1000\n"
                        "sentinel failover-timeout m 3000\nsentinel parallel-syncs m 1\n")
            self.ports.append(port)
            self.sentinels.append(Process(["redis-sentinel", conf], conf + ".log"))
        wait_until(self.master, 10, "sentinels to know the master")

    def master(self):
        """The master address as the sentinels say (what a Sentinel client does)."""
        for port in self.ports:
            try:
                c = Connection(GATEWAY, None, port=port, timeout=0.2, auth=False)
                addr = c.call("SENTINEL", "get-master-addr-by-name", "m")
                c.close()
                if addr:
                    return addr[0]
            except (OSError, ConnectionError, RuntimeError):
                continue
        return None

    def close(self):
        for s in self.sentinels:
            s.stop()
        for n, host in enumerate(self.lab.hosts[:2]):
            subprocess.run([DOCKER, "-H", "unix://" + host.dockerd.socket, "rm", "-f",
                            self.names[n]], capture_output=True)


def sentinel_run(lab, i):
    setup = SentinelSetup(lab, i)
    writer = Writer(setup.master, PASSWORD, prefix=f"s{i}-")
    writer.start()
    try:
        gap = measure(writer, lab.hosts[0])
        lost = len(writer.missing(setup.master(), PASSWORD))
    finally:
        lab.hosts[0].restore()
        setup.close()
    wait_until(lambda: all(h["state"] == "alive" for h in lab.berth.api("GET", "/v1/hosts")),
               30, "every host back")
    return gap, lost


def main():
    lab = MultiHostLab(hosts=3)
    try:
        # Warm up: images built on every host before anything is timed.
        lab.berth.api("POST", "/v1/databases", {"name": "warm", "engine": "redis",
                                                "memory_mb": 64, "replicas": 2})
        lab.berth.api("DELETE", "/v1/databases/warm")
        berth, sentinel, lost = [], [], 0
        for i in range(RUNS):
            gap, missing = berth_run(lab, i)
            berth.append(gap)
            lost += missing
            sgap, _ = sentinel_run(lab, i)
            sentinel.append(sgap)
            print(f"# run {i}: berth {gap:.0f} ms, sentinel {sgap:.0f} ms, lost {missing}",
                  file=sys.stderr)
        b, s = statistics.median(berth), statistics.median(sentinel)
        print(f"failover_ms={b:.0f} ms")
        print(f"sentinel_failover_ms={s:.0f} ms")
        print(f"failover_ratio={b / s:.2f} ratio")
        print(f"lost_acked_writes={lost} writes")
    finally:
        lab.close()


if __name__ == "__main__":
    main()
