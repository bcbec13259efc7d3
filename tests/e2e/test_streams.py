"""Large backups stream: a 1 GB backup's download keeps the server's memory flat, and a 2 GB
restore on a host with a replicated primary fences nothing and fails nothing over."""
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.request

from harness import Berth, Etcd, redis_cli, wait_until
from lab import LabTestCase
from writer import Writer

GB = 1 << 30


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def put_object(directory, size, seed=b"berth"):
    """Writes size bytes of varied data as a store object; its sha256."""
    os.makedirs(directory, exist_ok=True)
    block = hashlib.sha512(seed).digest() * (1 << 14)  # 1 MiB
    digest = hashlib.sha256()
    temp = os.path.join(directory, ".partial-test")
    with open(temp, "wb") as f:
        for i in range(size // len(block)):
            piece = i.to_bytes(8, "little") + block[8:]
            digest.update(piece)
            f.write(piece)
    sha = digest.hexdigest()
    os.rename(temp, os.path.join(directory, sha))
    return sha


class DownloadStreamsTest(unittest.TestCase):
    """A berth server alone (etcd, no Docker): the catalog record is written straight to etcd."""

    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="berth-test-streams-")
        self.etcd = Etcd(self.workdir)
        self.berth = Berth(self.workdir, self.etcd, None, None, None)
        self.berth.start_server()

    def tearDown(self):
        self.berth.stop()
        self.etcd.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def test_a_1gb_download_keeps_the_server_rss_flat(self):
        sha = put_object(self.berth.backup_dir, GB)
        record = {"id": "b-stream1g", "database_id": "d-none", "database_name": "gone",
                  "engine": "redis", "sha256": sha, "size_bytes": GB, "file": "dump.rdb",
                  "created_at": "2026-11-27T00:00:00Z"}
        subprocess.run(["etcdctl", "--endpoints", self.etcd.endpoint, "put",
                        "/berth/backups/b-stream1g", json.dumps(record)],
                       env={**os.environ, "ETCDCTL_API": "3"}, check=True, capture_output=True)
        wait_until(lambda: self.berth.request("GET", "/v1/backups/b-stream1g")[0] == 200, 10,
                   "the server to see the catalog record")
        pid = self.berth.server.pid
        before = rss_kb(pid)
        peak = [before]
        done = threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], rss_kb(pid))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample)
        sampler.start()
        digest, total = hashlib.sha256(), 0
        req = urllib.request.Request(f"{self.berth.url}/v1/backups/b-stream1g/data",
                                     headers={"Authorization": "Bearer " + self.berth.token})
        started = time.monotonic()
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                self.assertEqual(resp.headers["Content-Length"], str(GB))
                self.assertEqual(resp.headers["X-Checksum-Sha256"], sha)
                while True:
                    piece = resp.read(1 << 20)
                    if not piece:
                        break
                    digest.update(piece)
                    total += len(piece)
        finally:
            done.set()
            sampler.join()
        seconds = time.monotonic() - started
        growth_mb = (peak[0] - before) / 1024
        print(f"\n# 1 GB download: {seconds:.1f} s, server RSS {before / 1024:.0f} MB before, "
              f"peak growth {growth_mb:.1f} MB", flush=True)
        self.assertEqual(total, GB)
        self.assertEqual(digest.hexdigest(), sha)
        self.assertLess(growth_mb, 50)


if __name__ == "__main__":
    unittest.main()


def fences(agent_log):
    with open(agent_log) as f:
        return f.read().count("fencing primaries")


def fill_big(address, password, keys, value):
    """keys copies of one incompressible value (the RDB is as big as the data), piped."""
    head = f"${len(value)}\r\n".encode()
    proc = subprocess.Popen(["redis-cli", "--no-auth-warning", "-h", address, "-a", password,
                             "--pipe"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    for i in range(keys):
        key = f"big:{i}".encode()
        proc.stdin.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n" % (len(key), key) + head + value +
                         b"\r\n")
    proc.stdin.close()
    assert proc.wait(timeout=300) == 0


class RestoreStreamsTest(LabTestCase):
    """On a lab of three hosts (lease TTL 2 s: an agent whose loop stalls 1.2 s fences)."""

    def primary(self, name):
        db = self.berth.api("GET", f"/v1/databases/{name}")
        return next(i for i in db["instances"] if i["role"] == "primary"), db

    def test_a_2gb_restore_beside_a_replicated_primary_fences_nothing(self):
        steady = self.berth.api("POST", "/v1/databases", {"name": "steady", "engine": "redis",
                                                           "memory_mb": 64, "replicas": 1})
        self.addCleanup(self.berth.request, "DELETE", "/v1/databases/steady")
        # The big one on the same host as steady's primary (h1 is the only host in zone a).
        huge = self.berth.api("POST", "/v1/databases", {
            "name": "huge", "engine": "redis", "memory_mb": 6144, "constraints": {"zone": "a"}})
        self.addCleanup(self.berth.request, "DELETE", "/v1/databases/huge")
        host = huge["instances"][0]["host"]
        primary, view = self.primary("steady")
        if primary["host"] != host:
            there = next(i for i in view["instances"] if i["host"] == host)
            self.berth.cli("switchover", "steady", "--to", str(there["n"]), check=True)
            primary, view = self.primary("steady")
        self.assertEqual(primary["host"], host)

        value = os.urandom(1 << 20)
        keys = 2048
        started = time.monotonic()
        fill_big(huge["address"], huge["password"], keys, value)
        self.assertEqual(redis_cli(huge["address"], huge["password"], "dbsize"), str(keys))
        filled = time.monotonic()
        r = self.berth.cli("backup", "huge", "--json", check=True)
        backup = json.loads(r.stdout)
        self.assertGreater(backup["size_bytes"], 2 * GB)
        backed_up = time.monotonic()
        self.assertEqual(redis_cli(huge["address"], huge["password"], "flushall"), "OK")

        agent_log = os.path.join(self.lab.host(host).dir, "agent.log")
        fences_before = fences(agent_log)
        events_before = {e["id"] for e in self.berth.api("GET", "/v1/events?database=steady")
                         ["events"]}
        writer = Writer(view["address"], steady["password"], prefix="steady")
        writer.start()
        try:
            time.sleep(1)
            restore_started = time.monotonic()
            self.berth.cli("restore", "huge", backup["id"], check=True)
            restored = time.monotonic()
            time.sleep(1)
        finally:
            writer.stop()
        print(f"\n# fill {filled - started:.1f} s, backup of {backup['size_bytes'] / GB:.2f} GB "
              f"{backed_up - filled:.1f} s, restore {restored - restore_started:.1f} s",
              flush=True)
        self.assertEqual(redis_cli(huge["address"], huge["password"], "dbsize"), str(keys))

        # steady saw nothing: no fencing, no failover, the same primary and epoch, and a writer
        # acknowledged by its replica throughout.
        self.assertEqual(fences(agent_log), fences_before)
        after, after_view = self.primary("steady")
        self.assertEqual((after["host"], after["n"]), (primary["host"], primary["n"]))
        self.assertEqual(after_view["epoch"], view["epoch"])
        kinds = [e["kind"] for e in self.berth.api("GET", "/v1/events?database=steady")["events"]
                 if e["id"] not in events_before]
        self.assertNotIn("database.failover", kinds)
        self.assertNotIn("database.switchover", kinds)
        times = [t for t, _ in writer.accepted if restore_started <= t <= restored]
        self.assertGreater(len(times), 10)
        self.assertLess(times[0] - restore_started, 1.0)
        self.assertLess(restored - times[-1], 1.0)
        gap = max(b - a for a, b in zip(times, times[1:]))
        self.assertLess(gap, 1.0, f"steady took no write for {gap:.2f} s during the restore")
        self.assertGreater(len(writer.durable), len(writer.accepted) * 0.9)
