"""Usage analytics and events, end to end: a real redis in a container, the leader sampling
its agent's reports every second, events written as state changes."""
import json
import subprocess
import unittest

from harness import BERTH, Lab, wait_until

MiB = 1024 * 1024


class ObserveTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lab = Lab("obs", "10.212.0.0/16", server_args=["--usage-step", "1"])
        cls.berth, cls.etcd = cls.lab.berth, cls.lab.etcd

    @classmethod
    def tearDownClass(cls):
        cls.lab.close()

    def events(self, **query):
        q = "&".join(f"{k}={v}" for k, v in query.items())
        return self.berth.api("GET", "/v1/events?" + q)["events"]

    def usage(self, name, span="15m"):
        return self.berth.api("GET", f"/v1/databases/{name}/usage?range={span}")

    def test_usage_follows_the_data_and_events_tell_the_story(self):
        status, db = self.berth.request("POST", "/v1/databases",
                                        {"name": "obs", "engine": "redis", "memory_mb": 64})
        self.assertEqual(status, 201, db)
        self.addCleanup(self.berth.request, "DELETE", "/v1/databases/obs")
        wait_until(lambda: self.berth.api("GET", "/v1/databases/obs")["state"] == "running", 30)

        # 2,000 keys through redis-cli's own pipe mode.
        commands = "".join(f"SET key:{i} {'v' * 100}\n" for i in range(2000))
        r = subprocess.run(["redis-cli", "--no-auth-warning", "-h", db["address"], "-a",
                            db["password"]], input=commands, capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)

        def sampled():
            points = self.usage("obs")["points"]
            return points and points[-1]["keys"] == 2000 and points[-1]
        point = wait_until(sampled, 40, "a usage point with 2000 keys")
        self.assertGreater(point["memory_used_bytes"], 2000 * 100)
        self.assertEqual(point["memory_limit_bytes"], 64 * MiB)
        self.assertGreater(point["ops_per_sec"], 0)  # at least the agent's own probes
        self.assertTrue(point["time"].endswith("Z"))
        self.assertEqual(self.usage("obs")["step_seconds"], 1)

        # As it ages, a coarse point (20 steps here) sums the span up.
        coarse = wait_until(lambda: self.usage("obs", "7d")["points"], 60, "a coarse point")
        self.assertEqual(self.usage("obs", "7d")["step_seconds"], 20)
        self.assertGreater(coarse[-1]["memory_used_bytes"], 0)

        out = self.berth.cli("usage", "obs", "--range", "5m", check=True).stdout
        self.assertIn("KEYS", out)
        self.assertIn("2000", out)

        # Events: created and healthy so far; a resize is seen by a follower as it happens.
        kinds = [e["kind"] for e in self.events(database="obs")]
        self.assertIn("database.created", kinds)
        self.assertIn("instance.healthy", kinds)
        follower = subprocess.Popen([BERTH, "events", "obs", "--follow", "--json", "--limit", "1"],
                                    stdout=subprocess.PIPE, text=True,
                                    env={"BERTH_SERVER": self.berth.url,
                                         "BERTH_TOKEN": self.berth.token, "HOME": "/tmp"})
        try:
            first = json.loads(follower.stdout.readline())  # the newest past event
            self.assertEqual(first["name"], "obs")
            self.berth.api("PATCH", "/v1/databases/obs", {"memory_mb": 96})
            seen = []
            while not any(e["kind"] == "database.resized" for e in seen):
                line = follower.stdout.readline()  # the test's timeout bounds this wait
                self.assertTrue(line, "berth events --follow ended early")
                seen.append(json.loads(line))
            resized = next(e for e in seen if e["kind"] == "database.resized")
            self.assertEqual(resized["message"], "obs resized from 64 to 96 MiB")
            self.assertGreater(resized["id"], first["id"])
        finally:
            follower.kill()
            follower.wait()
            follower.stdout.close()
        out = self.berth.cli("events", "obs", check=True).stdout
        self.assertIn("database.resized", out)

        # Deleting the database removes its samples and says so.
        self.berth.api("DELETE", "/v1/databases/obs")
        wait_until(lambda: "database.deleted" in [e["kind"] for e in self.events(database="obs")],
                   10, "a deleted event")
        # (A sample taken just before the delete may land just after it, and is then removed.)
        wait_until(lambda: self.etcd.get_prefix("/berth-usage/" + db["id"] + "/") == {}, 10,
                   "the samples of the deleted database gone")

    def test_bad_input(self):
        status, body = self.berth.request("GET", "/v1/databases/nosuch/usage")
        self.assertEqual(status, 404)
        self.assertIn("database", body["error"])
        status, _ = self.berth.request("POST", "/v1/databases",
                                       {"name": "obsbad", "engine": "redis", "memory_mb": 64})
        self.assertEqual(status, 201)
        self.addCleanup(self.berth.request, "DELETE", "/v1/databases/obsbad")
        for span in ("2w", "0h", "8d", "x"):
            status, body = self.berth.request("GET", f"/v1/databases/obsbad/usage?range={span}")
            self.assertEqual(status, 400, span)
            self.assertTrue(body["error"].startswith("range:"), body)
        status, body = self.berth.request("GET", "/v1/events?limit=abc")
        self.assertEqual(status, 400)
        self.assertTrue(body["error"].startswith("limit:"), body)
        r = self.berth.cli("usage", "nosuch")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        r = self.berth.cli("usage", "obsbad", "--range", "1y")
        self.assertEqual(r.returncode, 2)


if __name__ == "__main__":
    unittest.main()
