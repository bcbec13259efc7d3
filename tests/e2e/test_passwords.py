"""`berth password rotate`: a new password set live on every instance of Redis, Tarantool and
memcached, on the lab's three hosts. The new one works on the primary and the replica (and
replication goes on with it), the old one no longer logs in, nothing restarts, a container
restarted afterwards comes back with the new one, and bad input changes nothing."""
import json
import os

from harness import SQL_TWO, redis_cli, tarantool, wait_until
from lab import LabTestCase
from test_engines import MemcachedBinary


def refused(output):
    """redis-cli's answer when its AUTH failed: the command then needs authentication."""
    return "NOAUTH" in output or "WRONGPASS" in output


def container_of(lab, db_id, n):
    """(host, container id) of instance n."""
    for host in lab.hosts:
        for c in host.dockerd.containers():
            if c["Labels"].get("berth.instance") == f"{db_id}/{n}":
                return host, c["Id"]
    raise AssertionError(f"no container for {db_id}/{n}")


class PasswordRotationTest(LabTestCase):
    def rotate(self, name, *args):
        r = self.berth.cli("password", "rotate", name, "--json", *args)
        self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
        return json.loads(r.stdout)

    def container_ids(self, db_id):
        return sorted(c["Id"] for h in self.lab.hosts for c in h.dockerd.containers()
                      if c["Labels"].get("berth.database") == db_id)

    def test_redis_with_a_replica_takes_a_new_password_live(self):
        db = self.berth.api("POST", "/v1/databases", {"name": "rot-redis", "engine": "redis",
                                                       "memory_mb": 128, "replicas": 1})
        old = db["password"]
        replica = next(i for i in db["instances"] if i["role"] == "replica")
        wait_until(lambda: redis_cli(db["address"], old, "set", "before", "1") == "OK", 30,
                   "a write with the first password")
        containers = self.container_ids(db["id"])

        rotated = self.rotate("rot-redis")
        new = rotated["password"]
        self.assertNotEqual(new, old)
        self.assertGreaterEqual(len(new), 16)
        self.assertEqual(rotated["password_generation"], 1)
        # Every instance takes it at once (the answer waited for them), the old one no more.
        self.assertEqual(redis_cli(db["address"], new, "get", "before"), "1")
        self.assertTrue(refused(redis_cli(db["address"], old, "get", "before")))
        self.assertTrue(refused(redis_cli(replica["address"], old, "get", "before")))
        # Replication goes on with it: a write after the rotation reaches the replica.
        self.assertEqual(redis_cli(db["address"], new, "set", "after", "2"), "OK")
        wait_until(lambda: redis_cli(replica["address"], new, "get", "after") == "2", 10,
                   "the replica to copy a write made after the rotation")
        # Live: the same containers.
        self.assertEqual(self.container_ids(db["id"]), containers)
        # A GET does not show it again.
        self.assertNotIn("password", self.berth.api("GET", "/v1/databases/rot-redis"))

        # The replica's container restarts: it starts with the new password (its secret file
        # was rewritten) and links to its primary again (masterauth).
        host, cid = container_of(self.lab, db["id"], replica["n"])
        status, _ = host.dockerd.call("POST", f"/containers/{cid}/restart?t=1")
        self.assertEqual(status, 204)
        # The primary takes writes again once its replica is back in sync (min-replicas).
        wait_until(lambda: redis_cli(db["address"], new, "set", "after-restart", "3") == "OK",
                   30, "a write once the restarted replica, logged in anew, is back in sync")
        wait_until(lambda: redis_cli(replica["address"], new, "get", "after-restart") == "3", 30,
                   "the restarted replica to log in with the new password and catch up")
        self.assertTrue(refused(redis_cli(replica["address"], old, "get", "before")))

        # A password given from a file, and a second rotation after the first.
        path = os.path.join(self.lab.workdir, "next-password")
        with open(path, "w") as f:
            f.write("Chosen-Pa55word-two\n")
        rotated = self.rotate("rot-redis", "--password-file", path)
        os.unlink(path)
        self.assertEqual(rotated["password"], "Chosen-Pa55word-two")
        self.assertEqual(rotated["password_generation"], 2)
        self.assertEqual(redis_cli(db["address"], "Chosen-Pa55word-two", "get", "before"), "1")
        self.assertTrue(refused(redis_cli(db["address"], new, "get", "before")))
        self.assertEqual(self.berth.request("DELETE", "/v1/databases/rot-redis")[0], 204)

    def test_tarantool_and_memcached_take_a_new_password_live(self):
        tnt = self.berth.api("POST", "/v1/databases", {"name": "rot-tnt", "engine": "tarantool",
                                                        "memory_mb": 128, "replicas": 1})
        mc = self.berth.api("POST", "/v1/databases", {"name": "rot-mc", "engine": "memcached",
                                                       "memory_mb": 64, "password": "Mc-first-pw-1"})
        replica = next(i for i in tnt["instances"] if i["role"] == "replica")

        def tnt_uri(password, address=tnt["address"]):
            return f"berth:{password}@{address}:3301"
        wait_until(lambda: tarantool("tarantool_do.lua", tnt_uri(tnt["password"]), SQL_TWO) == "2",
                   60, "tarantool with its password")

        def mc_auth(password):
            return MemcachedBinary.auth_once(mc["address"], "berth", password)
        wait_until(lambda: mc_auth("Mc-first-pw-1") == 0, 30, "memcached SASL")
        client = MemcachedBinary(mc["address"])
        self.assertEqual(client.auth("berth", "Mc-first-pw-1"), 0)
        self.assertEqual(client.set("kept", "yes"), 0)
        client.close()
        containers = self.container_ids(tnt["id"]) + self.container_ids(mc["id"])

        new = self.rotate("rot-tnt")["password"]
        self.assertEqual(tarantool("tarantool_do.lua", tnt_uri(new), SQL_TWO), "2")
        with self.assertRaises(AssertionError):
            tarantool("tarantool_do.lua", tnt_uri(tnt["password"]), SQL_TWO)
        # The replica has it from its primary (the user replicates); the old one fails there.
        self.assertEqual(tarantool("tarantool_do.lua", tnt_uri(new, replica["address"]), SQL_TWO),
                         "2")
        with self.assertRaises(AssertionError):
            tarantool("tarantool_do.lua", tnt_uri(tnt["password"], replica["address"]), SQL_TWO)

        new_mc = self.rotate("rot-mc")["password"]
        self.assertEqual(mc_auth(new_mc), 0)
        self.assertNotEqual(mc_auth("Mc-first-pw-1"), 0)
        client = MemcachedBinary(mc["address"])
        self.assertEqual(client.auth("berth", new_mc), 0)
        self.assertEqual(client.get("kept"), "yes")  # live: the cache kept what it held
        client.close()
        self.assertEqual(self.container_ids(tnt["id"]) + self.container_ids(mc["id"]), containers)
        for name in ("rot-tnt", "rot-mc"):
            self.assertEqual(self.berth.request("DELETE", f"/v1/databases/{name}")[0], 204)

    def test_bad_rotations_change_nothing(self):
        open_mc = self.berth.api("POST", "/v1/databases", {"name": "rot-open", "engine": "memcached",
                                                            "memory_mb": 64})
        # No password to rotate: made without one.
        r = self.berth.cli("password", "rotate", "rot-open")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("password:", r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        # No such database.
        r = self.berth.cli("password", "rotate", "no-such-db")
        self.assertEqual(r.returncode, 2, r.stderr)
        # A password that breaks the rule; a body that is not an object.
        db = self.berth.api("POST", "/v1/databases", {"name": "rot-bad", "engine": "redis",
                                                       "memory_mb": 64})
        status, body = self.berth.request("POST", "/v1/databases/rot-bad/password",
                                          {"password": "short"})
        self.assertEqual(status, 422, body)
        self.assertIn("password", body["error"])
        status, body = self.berth.request("POST", "/v1/databases/rot-bad/password", [1, 2])
        self.assertEqual(status, 422, body)
        status, body = self.berth.request("POST", "/v1/databases/rot-bad/password",
                                          {"password": db["password"]})
        self.assertEqual(status, 422, body)
        # Nothing changed: the first password still works, the generation is still 0.
        wait_until(lambda: redis_cli(db["address"], db["password"], "ping") == "PONG", 30,
                   "the database with its first password")
        kv = self.lab.etcd.get_prefix(f"/berth/databases/{db['id']}")
        self.assertNotIn('"password_generation":1', "".join(kv.values()))
        for name in ("rot-open", "rot-bad"):
            self.assertEqual(self.berth.request("DELETE", f"/v1/databases/{name}")[0], 204)
        del open_mc


if __name__ == "__main__":
    import unittest
    unittest.main()
