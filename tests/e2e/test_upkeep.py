"""etcd's upkeep and mishaps. The leader compacts etcd's history on schedule (the keys stay,
every server follows on), reports its size, says a filling etcd in /v1/health and the events,
and refuses a bad interval at start (the lab's server believes etcd's quota is 4 KiB, so etcd
is "filling" from the start). An emptied etcd deletes nothing."""
import json
import os
import subprocess
import time
import unittest
import urllib.request

from harness import BERTH, Lab, redis_cli, wait_until


QUOTA = 4096


def etcdctl(endpoint, *args, stdin=None):
    return subprocess.run(["etcdctl", "--endpoints", endpoint, *args], capture_output=True,
                          text=True, env={**os.environ, "ETCDCTL_API": "3"}, input=stdin)


def metric(text, name):
    values = [float(line.split()[-1]) for line in text.splitlines()
              if line.startswith(name + " ") or line.startswith(name + "{")]
    return values[0] if values else None


class UpkeepTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lab = Lab("upk", "10.220.0.0/16", server_args=["--etcd-compact-interval", "1s",
                                                       "--etcd-quota-bytes", str(QUOTA)])
        cls.berth = cls.lab.berth
        cls.endpoint = cls.lab.etcd.endpoint

    @classmethod
    def tearDownClass(cls):
        cls.lab.close()

    def test_history_is_compacted_the_keys_stay_and_the_size_is_reported(self):
        db = self.berth.api("POST", "/v1/databases", {"name": "kept", "engine": "redis",
                                                       "memory_mb": 64})
        out = etcdctl(self.endpoint, "get", "/berth/databases/" + db["id"], "-w", "json")
        revision = int(json.loads(out.stdout)["header"]["revision"])
        # A change after it: history is compacted up to what the leader has seen of berth's
        # keys, and an idle cluster writes nothing new (statuses go on change only).
        self.berth.api("PATCH", "/v1/databases/kept", {"memory_mb": 96})
        wait_until(lambda: "compacted" in etcdctl(self.endpoint, "get", "/berth/", "--prefix",
                                                  "--keys-only", "--rev", str(revision)).stderr,
                   15, "the history before the create compacted away")
        # The keys as they are stay, and berth goes on reading and writing them.
        self.assertEqual(self.berth.api("GET", "/v1/databases/kept")["state"], "running")
        self.assertEqual(redis_cli(db["address"], db["password"], "set", "k", "v"), "OK")
        self.assertEqual(self.berth.api("GET", "/v1/databases/kept")["memory_mb"], 96)
        self.berth.api("PATCH", "/v1/databases/kept", {"memory_mb": 128})
        self.assertEqual(self.berth.api("GET", "/v1/databases/kept")["memory_mb"], 128)
        with urllib.request.urlopen(self.berth.url + "/metrics", timeout=5) as r:
            text = r.read().decode()
        self.assertGreater(metric(text, "berth_etcd_db_size_bytes") or 0, 0)
        self.assertGreaterEqual(metric(text, "berth_etcd_compacted_revision") or 0, revision)
        self.assertEqual(metric(text, "berth_etcd_quota_bytes"), QUOTA)
        self.assertEqual(metric(text, "berth_etcd_alarms"), 0)
        self.assertEqual(self.berth.request("DELETE", "/v1/databases/kept")[0], 204)

    def test_a_mostly_free_etcd_file_is_defragmented(self):
        def db_size():
            out = etcdctl(self.endpoint, "endpoint", "status", "-w", "json").stdout
            return json.loads(out)[0]["Status"]["dbSize"]

        blob = "x" * (1 << 20)
        for i in range(16):
            # (the value on stdin: one argument may not be that long)
            self.assertEqual(etcdctl(self.endpoint, "put", f"/scratch/{i}", stdin=blob)
                             .returncode, 0)
        self.assertEqual(etcdctl(self.endpoint, "del", "--prefix", "/scratch/").returncode, 0)
        grown = db_size()
        self.assertGreater(grown, 16 << 20)
        # The leader compacts the history that held them, up to the newest revision it has
        # seen of berth's own keys, then gives the free pages back. (A cluster writes on:
        # etcd counts compacted pages as free from its next write.)
        def shrunk():
            etcdctl(self.endpoint, "put", "/berth/test-tick", str(time.monotonic()))
            return db_size() < grown // 2

        wait_until(shrunk, 30, "etcd's file defragmented")
        etcdctl(self.endpoint, "del", "/berth/test-tick")
        with urllib.request.urlopen(self.berth.url + "/metrics", timeout=5) as r:
            text = r.read().decode()
        self.assertGreaterEqual(metric(text, "berth_etcd_defragmentations_total") or 0, 1)
        with open(self.berth.server.log_path) as f:
            self.assertIn("defragmented etcd member", f.read())

    def test_a_filling_etcd_degrades_health_and_is_an_event(self):
        def degraded():
            status, body = self.berth.request("GET", "/v1/health", token="")
            return status == 200 and body["status"] == "degraded" and body

        health = wait_until(degraded, 15, "/v1/health to say degraded")
        self.assertTrue(health["etcd"]["filling"])
        self.assertEqual(health["etcd"]["quota_bytes"], QUOTA)
        self.assertGreater(health["etcd"]["db_size_bytes"], QUOTA * 8 // 10)
        events = self.berth.api("GET", "/v1/events?limit=1000")["events"]
        filling = [e for e in events if e["kind"] == "etcd.filling"]
        self.assertEqual(len(filling), 1, events)
        self.assertIn("of its quota", filling[0]["message"])

    def test_a_bad_interval_is_refused_with_one_line(self):
        for flag in ("5x", "0", "-1m"):
            r = subprocess.run([BERTH, "server", "--etcd", self.endpoint,
                                "--etcd-compact-interval", flag], capture_output=True, text=True,
                               timeout=30)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
            self.assertIn("--etcd-compact-interval", r.stderr)


if __name__ == "__main__":
    unittest.main()


class EmptiedEtcdTest(unittest.TestCase):
    """An etcd emptied under a running cluster (restored from nothing, a stray `etcdctl del`):
    berth deletes nothing. A server started on it makes a new cluster id, and the agent leaves
    the old cluster's containers alone."""

    @classmethod
    def setUpClass(cls):
        cls.lab = Lab("wipe", "10.221.0.0/16")
        cls.berth = cls.lab.berth

    @classmethod
    def tearDownClass(cls):
        cls.lab.close()

    def agent_log(self):
        with open(os.path.join(self.lab.workdir, "agent.log")) as f:
            return f.read()

    def still_there(self, db, container):
        running = [c["Id"] for c in self.lab.dockerd.containers(f"berth.database={db['id']}")]
        self.assertEqual(running, [container])
        volumes = subprocess.run(["docker", "-H", "unix://" + self.lab.dockerd.socket, "volume",
                                  "ls", "-q"], capture_output=True, text=True).stdout.split()
        self.assertIn(f"berth-{db['id']}-0", volumes)
        instance = db["instances"][0]["address"]
        self.assertEqual(redis_cli(instance, db["password"], "get", "kept"), "yes")

    def test_an_emptied_etcd_deletes_nothing(self):
        db = self.berth.api("POST", "/v1/databases", {"name": "precious", "engine": "redis",
                                                       "memory_mb": 64})
        self.assertEqual(redis_cli(db["address"], db["password"], "set", "kept", "yes"), "OK")
        container = self.lab.dockerd.containers(f"berth.database={db['id']}")[0]["Id"]
        self.assertEqual(etcdctl(self.lab.etcd.endpoint, "del", "--prefix", "/berth/").returncode, 0)
        wait_until(lambda: "etcd has no cluster id" in self.agent_log(), 10,
                   "the agent to say why it does nothing")
        time.sleep(3)  # several reconcile passes: none may remove anything
        self.still_there(db, container)
        # A server started on the empty etcd makes a new cluster: not the containers' own.
        self.berth.server.stop()
        self.berth.start_server()
        wait_until(lambda: "are left alone" in self.agent_log(), 10,
                   "the agent to see the new cluster id")
        time.sleep(3)
        self.still_there(db, container)
