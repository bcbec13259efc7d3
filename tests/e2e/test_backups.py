"""Tasks and backups on the lab: a backup taken from a replica, wiped data restored, bad input
refused, and a worker that dies mid-backup leaves one backup or none, never half of one."""
import hashlib
import json
import os
import subprocess
import time
import unittest
import urllib.request

from harness import Berth, redis_cli, tarantool, wait_until
from lab import LabTestCase
from writer import Connection

KEYS = 100_000


def value_of(i, value_size=200):
    """Every key its own value: a restore that mixed keys up, or lost one, shows in a digest."""
    return (f"{i}:" + "v" * value_size)[:value_size]


def expected_digest(count):
    return hashlib.sha256("".join(value_of(i) for i in range(count)).encode()).hexdigest()


def digest(address, password, count):
    """sha256 of the values of key:0 .. key:count-1, read back in order (None for a missing
    key), when the database holds exactly those keys; "dbsize N" when it holds more or fewer."""
    conn = Connection(address, password, timeout=10)
    try:
        size = conn.call("DBSIZE")
        if size != count:
            return f"dbsize {size}"
        h = hashlib.sha256()
        for start in range(0, count, 1000):
            for v in conn.call("MGET", *[f"key:{i}" for i in range(start, min(count, start + 1000))]):
                h.update(("\0missing\0" if v is None else v).encode())
        return h.hexdigest()
    finally:
        conn.close()


def fill(address, password, count, value_size=200):
    """count keys through redis-cli --pipe (Redis's own mass-insert path)."""
    payload = "".join(f"*3\r\n$3\r\nSET\r\n${len(f'key:{i}')}\r\nkey:{i}\r\n"
                      f"${value_size}\r\n{value_of(i, value_size)}\r\n"
                      for i in range(count)).encode()
    # A primary refuses writes (NOREPLICAS) while its replica lags over 2 s, as it must for no
    # acknowledged write to be lost; on a loaded machine a mass insert can make it lag. SET is
    # idempotent: send it all again.
    for _ in range(3):
        r = subprocess.run(["redis-cli", "--no-auth-warning", "-h", address, "-a", password,
                            "--pipe"], input=payload, capture_output=True, timeout=120)
        if r.returncode == 0 or b"NOREPLICAS" not in r.stderr:
            break
    assert r.returncode == 0, r.stderr[:300]


class BackupsTest(LabTestCase):
    """On a lab of three hosts, all alive at the start of every test."""

    def in_sync(self, db, password):
        replica = next(i for i in db["instances"] if i["role"] == "replica")
        wait_until(lambda: redis_cli(replica["address"], password, "dbsize") == str(KEYS), 60,
                   "the replica to have every key")
        self.reported_in_sync(db["name"])

    def reported_in_sync(self, name):
        def replica_in_sync():
            view = self.berth.api("GET", f"/v1/databases/{name}")
            r = next(i for i in view["instances"] if i["role"] == "replica")
            return r["state"] == "healthy" and r.get("link_up")

        wait_until(replica_in_sync, 30, "the replica reported in sync")

    def test_backup_wipe_restore_gives_the_same_contents(self):
        db = self.berth.api("POST", "/v1/databases", {"name": "big", "engine": "redis",
                                                       "memory_mb": 128, "replicas": 1})
        pw = db["password"]
        fill(db["address"], pw, KEYS)
        self.assertEqual(digest(db["address"], pw, KEYS), expected_digest(KEYS))
        self.in_sync(db, pw)

        r = self.berth.cli("backup", "big", "--verify", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        backup = json.loads(r.stdout)
        # Verified: Redis's own loader read every key of it in a scratch container.
        self.assertEqual(backup["verified"], "verified", backup)
        self.assertIn(f"{KEYS} keys", backup["verify_message"])
        self.assertEqual(backup["source_role"], "replica")  # not the primary's load
        self.assertGreater(backup["size_bytes"], KEYS * 10)  # RDB compresses the values
        # The data as stored is what its checksum says.
        req = urllib.request.Request(f"{self.berth.url}/v1/backups/{backup['id']}/data",
                                     headers={"Authorization": "Bearer " + self.berth.token})
        with urllib.request.urlopen(req, timeout=60) as resp:
            self.assertEqual(hashlib.sha256(resp.read()).hexdigest(), backup["sha256"])
        listed = self.berth.cli("backups", "big")
        self.assertIn(backup["id"], listed.stdout)
        tasks = self.berth.api("GET", "/v1/tasks")
        task = next(t for t in tasks if t["backup_id"] == backup["id"])
        self.assertEqual((task["state"], task["progress"], task["attempts"]), ("done", 100, 1))

        # Wipe, then restore: the same keys, and the replica re-seeded from the primary.
        self.assertEqual(redis_cli(db["address"], pw, "flushall"), "OK")
        self.assertEqual(redis_cli(db["address"], pw, "set", "after-backup", "1"), "OK")
        r = self.berth.cli("restore", "big", backup["id"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(digest(db["address"], pw, KEYS), expected_digest(KEYS))
        self.assertEqual(redis_cli(db["address"], pw, "get", "key:99999"), value_of(99999))
        self.assertEqual(redis_cli(db["address"], pw, "exists", "after-backup"), "0")
        view = self.berth.api("GET", "/v1/databases/big")
        # The data it had is not deleted: its volume stays on the primary's host, an orphan.
        primary = next(i for i in view["instances"] if i["role"] == "primary")
        [kept] = [o for o in self.berth.api("GET", "/v1/orphans") if o["database_id"] == db["id"]
                  and backup["id"] in o["reason"]]
        self.assertEqual((kept["host"], kept["instance"]), (primary["host"], primary["n"]))
        self.assertIn(kept["volume"], self.lab.host(kept["host"]).dockerd.volumes())
        replica = next(i for i in view["instances"] if i["role"] == "replica")
        wait_until(lambda: redis_cli(replica["address"], pw, "dbsize") == str(KEYS), 60,
                   "the replica re-seeded from the restored primary")
        self.assertEqual(digest(replica["address"], pw, KEYS), expected_digest(KEYS))
        self.assertEqual(redis_cli(db["address"], pw, "set", "writable", "1"), "OK")

        # Bad input changes nothing: an unknown backup, a database too small, another engine.
        r = self.berth.cli("restore", "big", "b-nosuch")
        self.assertEqual(r.returncode, 2)
        self.assertIn("backup", r.stderr)
        small = self.berth.api("POST", "/v1/databases", {"name": "small", "engine": "redis",
                                                          "memory_mb": 32})
        status, body = self.berth.request("POST", "/v1/databases/small/restore",
                                          {"backup": backup["id"]})
        self.assertEqual(status, 409, body)
        self.assertIn("memory_mb", body["error"])
        status, body = self.berth.request("POST", "/v1/databases/small/restore", {})
        self.assertEqual(status, 422, body)
        self.assertEqual(redis_cli(small["address"], small["password"], "dbsize"), "0")
        self.assertEqual(self.berth.request("POST", "/v1/databases/nosuch/backups")[0], 404)

        # A backup request sent again with its Idempotency-Key starts nothing new.
        key = {"Idempotency-Key": "backup-small-" + backup["id"]}
        first = self.berth.request("POST", "/v1/databases/small/backups", headers=key)
        again = self.berth.request("POST", "/v1/databases/small/backups", headers=key)
        self.assertEqual((first[0], again[0]), (202, 202), (first, again))
        self.assertEqual(again[1]["id"], first[1]["id"])
        wait_until(lambda: self.berth.api("GET", f"/v1/tasks/{first[1]['id']}?wait=5")["state"]
                   in ("done", "failed"), 120, "the backup of small to end")
        self.assertEqual(self.berth.api("GET", f"/v1/tasks/{first[1]['id']}")["state"], "done")
        self.assertEqual(len([t for t in self.berth.api("GET", "/v1/tasks?database=small")
                              if t["kind"] == "backup"]), 1)

        # Into a new database: same engine, the original's memory, the same keys.
        key = {"Idempotency-Key": "restore-copy-" + backup["id"]}
        status, started = self.berth.request("POST", f"/v1/backups/{backup['id']}/restore",
                                             {"to": "copy"}, headers=key)
        self.assertEqual(status, 202, started)
        copy_pw = started["database"]["password"]
        r = self.berth.cli("task", started["id"], "--follow")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("restored backup", r.stdout)  # plain log lines when not on a terminal
        # Sent again with its key: the same task and the same new database, password and all.
        status, again = self.berth.request("POST", f"/v1/backups/{backup['id']}/restore",
                                           {"to": "copy"}, headers=key)
        self.assertEqual(status, 202, again)
        self.assertEqual((again["id"], again["database"]["id"], again["database"]["password"]),
                         (started["id"], started["database"]["id"], copy_pw))
        copy = self.berth.api("GET", "/v1/databases/copy")
        self.assertEqual((copy["engine"], copy["memory_mb"]), ("redis", 128))
        self.assertEqual(digest(copy["address"], copy_pw, KEYS), expected_digest(KEYS))
        status, body = self.berth.request("POST", f"/v1/backups/{backup['id']}/restore",
                                          {"to": "copy"})
        self.assertEqual(status, 409, body)  # the name is taken
        self.assertIn("name", body["error"])
        self.assertEqual(self.berth.request("DELETE", "/v1/databases/copy")[0], 204)

        # The CLI's restore into a new database shows it as `berth run` does: the password,
        # given only at creation, reaches the user and works; --json carries it too.
        r = self.berth.cli("restore", backup["id"], "--to", "copy2")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        lines = r.stdout.splitlines()
        self.assertIn(f"copy2 restored from {backup['id']}", lines)
        address = next(line.split()[1] for line in lines if "address:" in line).split(":")[0]
        password = next(line.split()[1] for line in lines if "password:" in line)
        self.assertTrue(any(line.strip().startswith("connect:") for line in lines), r.stdout)
        self.assertEqual(digest(address, password, KEYS), expected_digest(KEYS))
        self.assertEqual(self.berth.request("DELETE", "/v1/databases/copy2")[0], 204)
        r = self.berth.cli("restore", backup["id"], "--to", "copy3", "--json")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        task = json.loads(r.stdout)
        self.assertEqual(task["state"], "done", task)
        new = task["database"]
        self.assertEqual(new["name"], "copy3")
        self.assertEqual(digest(new["address"], new["password"], KEYS), expected_digest(KEYS))
        self.assertEqual(self.berth.request("DELETE", "/v1/databases/copy3")[0], 204)

        r = self.berth.cli("backup", "rm", backup["id"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.berth.request("GET", f"/v1/backups/{backup['id']}")[0], 404)
        self.assertFalse(os.path.exists(os.path.join(self.berth.backup_dir, backup["sha256"])))
        for name in ("big", "small"):
            self.assertEqual(self.berth.request("DELETE", f"/v1/databases/{name}")[0], 204)

    def test_a_damaged_backup_is_refused_as_it_streams_and_changes_nothing(self):
        db = self.berth.api("POST", "/v1/databases", {"name": "dmg", "engine": "redis",
                                                       "memory_mb": 64})
        pw = db["password"]
        fill(db["address"], pw, 2000)
        r = self.berth.cli("backup", "dmg", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        backup = json.loads(r.stdout)
        self.assertEqual(redis_cli(db["address"], pw, "set", "after-backup", "1"), "OK")
        # One byte flipped past the middle of the stored file: only reading it all can tell.
        path = os.path.join(self.berth.backup_dir, backup["sha256"])
        with open(path, "r+b") as f:
            f.seek(os.path.getsize(path) * 2 // 3)
            byte = f.read(1)
            f.seek(-1, os.SEEK_CUR)
            f.write(bytes([byte[0] ^ 0xFF]))
        [instance] = self.berth.api("GET", "/v1/databases/dmg")["instances"]
        dockerd = self.lab.host(instance["host"]).dockerd
        volumes = dockerd.volumes()
        containers = [c["Id"] for c in dockerd.containers(f"berth.database={db['id']}")]
        r = self.berth.cli("restore", "dmg", backup["id"])
        self.assertNotEqual(r.returncode, 0, r.stdout)
        self.assertIn("checksum mismatch", r.stdout + r.stderr)
        self.assertIn("keeps the data it had", r.stdout + r.stderr)
        # Nothing changed: the same container and data, writable; no volume or helper left.
        self.assertEqual(redis_cli(db["address"], pw, "get", "after-backup"), "1")
        self.assertEqual(redis_cli(db["address"], pw, "dbsize"), "2001")
        self.assertEqual(redis_cli(db["address"], pw, "set", "writable", "1"), "OK")
        self.assertEqual([c["Id"] for c in dockerd.containers(f"berth.database={db['id']}")],
                         containers)
        self.assertEqual(dockerd.volumes(), volumes)
        self.assertEqual(dockerd.containers("berth.restore"), [])
        self.assertEqual(self.berth.request("DELETE", "/v1/databases/dmg")[0], 204)

    def test_tarantool_backup_wipe_restore_gives_the_same_tuples(self):
        db = self.berth.api("POST", "/v1/databases", {"name": "tbig", "engine": "tarantool",
                                                       "memory_mb": 128, "replicas": 1})
        uri = f"berth:{db['password']}@{db['address']}:{db['port']}"
        out = tarantool("tarantool_fill.lua", uri, KEYS)
        self.assertIn(f"counted {KEYS}", out)
        replica = next(i for i in db["instances"] if i["role"] == "replica")
        replica_uri = f"berth:{db['password']}@{replica['address']}:{db['port']}"
        wait_until(lambda: tarantool("tarantool_count.lua", replica_uri) == str(KEYS), 60,
                   "the replica to have every tuple")
        self.reported_in_sync("tbig")

        r = self.berth.cli("backup", "tbig", "--verify", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        backup = json.loads(r.stdout)
        # Tarantool's own recovery read the snapshot in a scratch container.
        self.assertEqual(backup["verified"], "verified", backup)
        self.assertIn(f"{KEYS} tuples", backup["verify_message"])
        self.assertEqual(backup["source_role"], "replica")

        # Wipe, then restore: the same tuples, nothing written after the backup.
        wiped = tarantool("tarantool_do.lua", uri,
                          "conn:execute('TRUNCATE TABLE \"kv\"') conn.space.kv:replace{0, 'after'} "
                          "return conn:execute('SELECT COUNT(*) FROM \"kv\"').rows[1][1]")
        self.assertEqual(wiped, "1")
        r = self.berth.cli("restore", "tbig", backup["id"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(tarantool("tarantool_count.lua", uri), str(KEYS))
        self.assertEqual(tarantool("tarantool_do.lua", uri,
                                   "return conn.space.kv:get(99999)[2]"), "value99999")
        self.assertEqual(tarantool("tarantool_do.lua", uri,
                                   "return conn.space.kv:get(0) == nil"), "true")
        # The replica started over from an empty volume and joined the restored primary.
        view = self.berth.api("GET", "/v1/databases/tbig")
        replica = next(i for i in view["instances"] if i["role"] == "replica")
        wait_until(lambda: tarantool("tarantool_count.lua", replica_uri) == str(KEYS), 90,
                   "the replica re-seeded from the restored primary")
        self.assertEqual(tarantool("tarantool_do.lua", uri,
                                   "conn.space.kv:replace{0, 'new'} return 'written'"), "written")
        wait_until(lambda: tarantool("tarantool_do.lua", replica_uri,
                                     "return conn.space.kv:get(0) ~= nil") == "true", 30,
                   "the replica to follow the restored primary")

        # Into a new database, whose password differs from the backed-up one.
        status, started = self.berth.request("POST", f"/v1/backups/{backup['id']}/restore",
                                             {"to": "tcopy"})
        self.assertEqual(status, 202, started)
        r = self.berth.cli("task", started["id"], "--follow")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        copy = self.berth.api("GET", "/v1/databases/tcopy")
        copy_uri = f"berth:{started['database']['password']}@{copy['address']}:{copy['port']}"
        self.assertEqual(tarantool("tarantool_count.lua", copy_uri), str(KEYS))
        self.berth.cli("backup", "rm", backup["id"], check=True)
        for name in ("tbig", "tcopy"):
            self.assertEqual(self.berth.request("DELETE", f"/v1/databases/{name}")[0], 204)

    def test_a_schedule_fires_on_time_and_retention_prunes(self):
        db = self.berth.api("POST", "/v1/databases", {"name": "nightly", "engine": "redis",
                                                       "memory_mb": 64})
        redis_cli(db["address"], db["password"], "set", "k", "v")
        for bad in ("0 25 * * *", "every night", "* * * *"):
            status, body = self.berth.request("PATCH", "/v1/databases/nightly",
                                              {"backup_schedule": bad})
            self.assertEqual(status, 422, body)
            self.assertIn("backup_schedule", body["error"])
        r = self.berth.cli("update", "nightly", "--backup-schedule", "* * * * *",
                           "--backup-keep", "1")
        self.assertEqual(r.returncode, 0, r.stderr)

        seen = {}  # every scheduled backup observed: id -> sha256

        def scheduled_tasks():
            for b in self.berth.api("GET", "/v1/backups?database=nightly"):
                seen[b["id"]] = b["sha256"]
            return [t for t in self.berth.api("GET", "/v1/tasks?database=nightly")
                    if t["scheduled"] and t["state"] == "done"]

        # Every minute on the minute (UTC): two fires within about two minutes.
        wait_until(lambda: len(scheduled_tasks()) >= 2, 150, "two scheduled backups")
        for t in scheduled_tasks():
            started = time.strptime(t["started_at"][:19], "%Y-%m-%dT%H:%M:%S")
            self.assertLessEqual(started.tm_sec, 15, t["started_at"])  # on time, give or take
        # Keep 1: the older scheduled backup is gone, catalog entry and data.
        wait_until(lambda: len(self.berth.api("GET", "/v1/backups?database=nightly")) == 1, 20,
                   "retention to prune")
        kept = self.berth.api("GET", "/v1/backups?database=nightly")[0]
        self.assertTrue(kept["scheduled"])
        pruned = {sha for bid, sha in seen.items() if bid != kept["id"]}
        self.assertTrue(pruned, seen)
        for sha in pruned - {kept["sha256"]}:
            self.assertFalse(os.path.exists(os.path.join(self.berth.backup_dir, sha)))
        view = self.berth.api("GET", "/v1/databases/nightly")
        self.assertEqual((view["backup_schedule"], view["backup_keep"]), ("* * * * *", 1))
        r = self.berth.cli("update", "nightly", "--backup-schedule", "none")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.berth.cli("backup", "rm", kept["id"], check=True)
        self.assertEqual(self.berth.request("DELETE", "/v1/databases/nightly")[0], 204)

    def test_a_worker_that_dies_mid_backup_leaves_one_backup_or_none(self):
        db = self.berth.api("POST", "/v1/databases", {"name": "fragile", "engine": "redis",
                                                       "memory_mb": 128, "replicas": 1})
        fill(db["address"], db["password"], KEYS)
        self.in_sync(db, db["password"])
        # Verified, so that it lasts: the data is in the store, its catalog entry not yet.
        status, task = self.berth.request("POST", "/v1/databases/fragile/backups",
                                          {"verify": True})
        self.assertEqual(status, 202, task)
        # While it verifies, the worker's host dies (agent and all).
        wait_until(lambda: self.berth.api("GET", f"/v1/tasks/{task['id']}")["progress"] >= 85,
                   30, "the backup to reach its verification")
        worker = self.lab.host(self.berth.api("GET", f"/v1/tasks/{task['id']}")["worker"])
        worker.kill_agent()
        try:
            self.assert_ended_once(self.berth, task["id"], "fragile")
        finally:
            worker.start_agent()
        self.assertEqual(self.berth.request("DELETE", "/v1/databases/fragile")[0], 204)

    def test_the_leader_killed_mid_backup_ends_it_once(self):
        db = self.berth.api("POST", "/v1/databases", {"name": "orphan", "engine": "redis",
                                                       "memory_mb": 128, "replicas": 1})
        fill(db["address"], db["password"], KEYS)
        self.in_sync(db, db["password"])
        # A second server takes over the controllers when the leader dies.
        standby = Berth(self.lab.workdir, self.lab.etcd, None, None, None)
        standby.start_server(log="server2.log")
        try:
            status, task = self.berth.request("POST", "/v1/databases/orphan/backups")
            self.assertEqual(status, 202, task)
            # (The standby's view of etcd may lag the leader's by a moment.)
            wait_until(lambda: (standby.request("GET", f"/v1/tasks/{task['id']}")[1] or {})
                       .get("state") == "running", 30, "the backup to start")
            self.berth.server.kill()
            self.assert_ended_once(standby, task["id"], "orphan")
            # The new leader goes on dispatching: another backup runs to its end.
            r = standby.cli("backup", "orphan", "--json")
            self.assertEqual(r.returncode, 0, r.stderr)
            backups = standby.api("GET", "/v1/backups?database=orphan")
            self.assertIn(json.loads(r.stdout)["id"], [b["id"] for b in backups])
            for b in backups:
                standby.cli("backup", "rm", b["id"], check=True)
            self.assertEqual(standby.request("DELETE", "/v1/databases/orphan")[0], 204)
        finally:
            standby.server.stop()
            if not self.berth.server.alive():
                self.berth.start_server()

    def assert_ended_once(self, server, task_id, name):
        """The task, its worker or leader killed under it, is taken up again and ends done with
        exactly one catalog entry and its object whole; no partial object is left in the
        store."""
        wait_until(lambda: server.api("GET", f"/v1/tasks/{task_id}?wait=5")["state"]
                   in ("done", "failed"), 60, "the task to end")
        final = server.api("GET", f"/v1/tasks/{task_id}")
        self.assertEqual(final["state"], "done", final)
        backups = [b for b in server.api("GET", f"/v1/backups?database={name}")
                   if b["task_id"] == task_id]
        self.assertEqual(len(backups), 1, final)
        self.assertEqual(final["backup_id"], backups[0]["id"])
        with open(os.path.join(self.berth.backup_dir, backups[0]["sha256"]), "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).hexdigest(), backups[0]["sha256"])
        self.assertEqual([f for f in os.listdir(self.berth.backup_dir) if "partial" in f], [])


if __name__ == "__main__":
    unittest.main()
