"""Tarantool and memcached beside Redis, through the same API, on the lab's three hosts:
each engine's own client writes 10,000 entries and reads them back; resize; delete; failover
for Tarantool; a lost host for memcached."""
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

from harness import EtcdTls, tarantool, wait_until
from lab import LabTestCase

CLIENTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "clients")


def read_password(path):
    with open(path) as f:
        return f.read().strip()


class Memcached:
    """The memcached text protocol, as any client speaks it."""

    def __init__(self, address, port=11211):
        self.sock = socket.create_connection((address, port), timeout=5)
        self.buf = b""

    def _until(self, marker):
        while marker not in self.buf:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        at = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:at], self.buf[at:]
        return out

    def set_many(self, items):
        self.sock.sendall(b"".join(f"set {k} 0 0 {len(v)} noreply\r\n{v}\r\n".encode()
                                   for k, v in items))

    def get_many(self, keys):
        self.sock.sendall(("get " + " ".join(keys) + "\r\n").encode())
        reply = self._until(b"END\r\n").decode()
        found, lines = {}, reply.split("\r\n")
        for i, line in enumerate(lines):
            if line.startswith("VALUE "):
                found[line.split()[1]] = lines[i + 1]
        return found

    def stats(self, kind=""):
        self.sock.sendall(f"stats {kind}\r\n".encode())
        reply = self._until(b"END\r\n").decode()
        return dict(line.split()[1:3] for line in reply.split("\r\n") if line.startswith("STAT"))

    def close(self):
        self.sock.close()


class MemcachedBinary:
    """The memcached binary protocol with SASL PLAIN, as SASL-capable clients speak it."""

    def __init__(self, address, port=11211):
        self.sock = socket.create_connection((address, port), timeout=5)

    def request(self, opcode, key=b"", value=b"", extras=b""):
        body = extras + key + value
        self.sock.sendall(struct.pack(">BBHBBHIIQ", 0x80, opcode, len(key), len(extras), 0, 0,
                                      len(body), 0, 0) + body)
        header = self._read(24)
        _, _, key_len, extras_len, _, status, body_len, _, _ = struct.unpack(">BBHBBHIIQ",
                                                                            header)
        body = self._read(body_len)
        return status, body[extras_len + key_len:]

    def _read(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("closed")
            data += chunk
        return data

    def auth(self, user, password):
        return self.request(0x21, b"PLAIN", b"\0" + user.encode() + b"\0" + password.encode())[0]

    @classmethod
    def auth_once(cls, address, user, password):
        """The status of one SASL sign-in on a connection of its own (0: signed in)."""
        client = cls(address)
        try:
            return client.auth(user, password)
        finally:
            client.close()

    def set(self, key, value):
        return self.request(0x01, key.encode(), value.encode(), extras=b"\0" * 8)[0]

    def get(self, key):
        status, value = self.request(0x00, key.encode())
        return value.decode() if status == 0 else None

    def close(self):
        self.sock.close()


class EnginesTest(LabTestCase):
    """On a lab of three hosts, all alive at the start of every test."""

    def containers(self, db_id):
        return [(h.name, c) for h in self.lab.hosts for c in h.dockerd.containers()
                if c["Labels"].get("berth.database") == db_id]

    def delete_releases_everything(self, name, db_id):
        self.assertEqual(self.berth.request("DELETE", f"/v1/databases/{name}")[0], 204)
        # A container an agent was starting as the delete came in goes on its next pass.
        wait_until(lambda: self.containers(db_id) == [], 10, "every container removed")
        # Its addresses, and those retired on a host its instances left, go back to the pool:
        # a retired one on that host's next reconcile pass (slower on a loaded machine).
        wait_until(lambda: not [kv for kv in self.lab.etcd.get_prefix("/berth/ips/").values()
                                if kv.startswith(db_id) or f"/{db_id}/" in kv], 30,
                   "every address of the database back in the pool")

    def test_engines_are_listed_with_what_they_support(self):
        engines = {e["name"]: e for e in self.berth.api("GET", "/v1/engines")}
        self.assertEqual(set(engines), {"redis", "tarantool", "memcached", "postgres"})
        self.assertTrue(engines["tarantool"]["version"].startswith("2."))
        self.assertTrue(engines["tarantool"]["supports"]["replication"])
        self.assertTrue(engines["tarantool"]["supports"]["users"])
        self.assertFalse(engines["memcached"]["supports"]["replication"])
        self.assertFalse(engines["memcached"]["supports"]["persistence"])
        status, body = self.berth.request("POST", "/v1/databases", {
            "name": "nocopies", "engine": "memcached", "memory_mb": 64, "replicas": 1})
        self.assertEqual(status, 422, body)
        self.assertIn("replicas", body["error"])

    def test_a_database_container_gets_nothing_from_etcd(self):
        """A tenant's container shares the LAN with etcd: plain or certificate-less requests
        from it get nothing, nor does berth's client certificate without a sign-in; the
        certificate with the agent's etcd user (held by the hosts, not the containers) reads
        the state, so the refusals are etcd's and not the network's."""
        db = self.berth.api("POST", "/v1/databases", {"name": "knock", "engine": "redis",
                                                       "memory_mb": 64})
        host, container = next((h, c) for h, c in self.containers(db["id"]))
        pid = self.lab.host(host).dockerd.inspect(container["Id"])["State"]["Pid"]
        tls = EtcdTls.files()
        out = subprocess.run(["nsenter", f"--target={pid}", "--net", sys.executable,
                              os.path.join(CLIENTS, "etcd_knock.py"), tls["ca.pem"],
                              tls["client.pem"], tls["client-key.pem"], "agent-" + host,
                              read_password(EtcdTls.password_file("agent-" + host)),
                              *self.lab.etcd.endpoints.split(",")],
                             capture_output=True, text=True, timeout=120)
        answers = json.loads(out.stdout)
        for way, answer in answers.items():
            if way.endswith(" berth"):
                self.assertEqual(answer, "ok", way)
            else:
                self.assertNotEqual(answer, "ok", way)
                self.assertNotEqual(answer, "no keys", way)
        self.delete_releases_everything("knock", db["id"])

    def test_an_agents_etcd_user_writes_only_what_an_agent_writes(self):
        """etcd's authentication is on: each agent signs in as its own user, whose role cannot
        mint API tokens, change the cluster's settings, write a database or allocation record or
        speak for another host."""
        endpoints = self.lab.etcd.endpoints
        agent = "agent-h1:" + read_password(EtcdTls.password_file("agent-h1"))

        def etcdctl(user, *args):
            env = {k: v for k, v in os.environ.items() if k != "ETCDCTL_USER"}
            return subprocess.run(["etcdctl", "--endpoints", endpoints, *(["--user", user] if user
                                                                           else []), *args],
                                  env=env, capture_output=True, text=True, timeout=30)
        for key in ("/berth/tokens/forged", "/berth/config/admin-token-sha256",
                    "/berth/config/network", "/berth/hosts/h2", "/berth/projects/mine",
                    "/berth/databases/forged", "/berth/allocations/h1/forged/0"):
            r = etcdctl(agent, "put", key, "x")
            self.assertNotEqual(r.returncode, 0, key)
            self.assertIn("permission denied", r.stderr, key)
        self.assertIn("/berth/hosts/h1", etcdctl(agent, "get", "/berth/hosts/h1").stdout)
        self.assertEqual(etcdctl(agent, "put", "/berth/status/h1/probe/0", "x").returncode, 0)
        self.assertEqual(etcdctl(agent, "del", "/berth/status/h1/probe/0").returncode, 0)
        # Instance statuses are kept by host: another host's are not its to write.
        r = etcdctl(agent, "put", "/berth/status/h2/probe/0", "x")
        self.assertIn("permission denied", r.stderr)
        # The client certificate alone, signed in as no one, reads nothing.
        r = etcdctl(None, "get", "--prefix", "/berth/")
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(r.stdout, "")
        self.assertEqual(etcdctl(agent + "wrong", "get", "/berth/hosts/h1").stdout, "")

    def test_memcached_holds_10000_entries_resizes_and_goes(self):
        r = self.berth.cli("run", "memcached", "--name", "cache", "--memory", "64M")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("open", r.stdout)  # the output says the text protocol is open
        db = self.berth.api("GET", "/v1/databases/cache")
        self.assertEqual((db["engine"], db["durable"], db["port"]), ("memcached", False, 11211))
        mc = Memcached(db["address"])
        try:
            items = [(f"key{i}", f"value{i}") for i in range(10000)]
            mc.set_many(items)
            found = {}
            for start in range(0, 10000, 500):
                found.update(mc.get_many([k for k, _ in items[start:start + 500]]))
            self.assertEqual(found, dict(items))
            r = self.berth.cli("update", "cache", "--memory", "128M")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(int(mc.stats("settings")["maxbytes"]), 128 * 80 // 100 << 20)
            self.assertEqual(mc.get_many(["key1"]), {"key1": "value1"})  # no restart
        finally:
            mc.close()
        self.delete_releases_everything("cache", db["id"])

    def test_memcached_with_a_password_speaks_sasl_only(self):
        db = self.berth.api("POST", "/v1/databases", {"name": "locked", "engine": "memcached",
                                                       "memory_mb": 64,
                                                       "password": "cache-secret-1"})
        self.assertEqual(db["user"], "berth")
        self.assertEqual(db["instances"][0]["state"], "healthy")
        mc = MemcachedBinary(db["address"])
        self.assertNotEqual(mc.auth("berth", "wrong-password"), 0)
        mc.close()
        mc = MemcachedBinary(db["address"])
        self.assertEqual(mc.auth("berth", "cache-secret-1"), 0)
        for i in range(1000):
            self.assertEqual(mc.set(f"k{i}", f"v{i}"), 0)
        self.assertEqual([mc.get(f"k{i}") for i in range(0, 1000, 111)],
                         [f"v{i}" for i in range(0, 1000, 111)])
        mc.close()
        # Without authentication nothing is served, in either protocol.
        mc = MemcachedBinary(db["address"])
        self.assertIsNone(mc.get("k1"))
        mc.close()
        text = Memcached(db["address"])
        text.sock.settimeout(1)
        try:
            text.sock.sendall(b"get k1\r\n")
            self.assertNotIn(b"VALUE", text.sock.recv(1024))
        except (socket.timeout, ConnectionError):
            pass
        text.close()
        # A new limit restarts it (SASL leaves no text protocol to change it in place).
        r = self.berth.cli("update", "locked", "--memory", "96M")
        self.assertEqual(r.returncode, 0, r.stderr)
        view = self.berth.api("GET", "/v1/databases/locked")
        self.assertEqual(view["memory_mb"], 96)
        # The new container holds the same address behind a new MAC: a connection right after
        # the re-create can meet a stale neighbour entry (seen once on a loaded machine), so it
        # may take the next gratuitous ARP to get through.
        def connected():
            try:
                return MemcachedBinary(db["address"])
            except OSError:
                return None
        def unreachable():
            now = self.berth.api("GET", "/v1/databases/locked")
            host = self.lab.host(now["instances"][0]["host"])
            address = db["address"]
            seen = subprocess.run(f"ip neigh show {address}; bridge fdb show br berth-lan | "
                                  f"grep -i 02:42:{':'.join('%02x' % int(p) for p in address.split('.'))}",
                                  shell=True, capture_output=True, text=True).stdout
            return (f"a connection to the re-created memcached; now {now['instances']}; "
                    f"this machine's neighbour and bridge entries for {address}: {seen!r}; "
                    f"{host.name}'s agent log ends:\n{host.log_tail()}")
        mc = wait_until(connected, 20, unreachable)
        self.assertEqual(mc.auth("berth", "cache-secret-1"), 0)
        self.assertEqual(mc.request(0x10, b"", b"")[0], 0)
        mc.close()
        self.delete_releases_everything("locked", db["id"])

    def test_memcached_on_a_lost_host_comes_back_empty_at_a_new_address(self):
        db = self.berth.api("POST", "/v1/databases", {"name": "volatile", "engine": "memcached",
                                                       "memory_mb": 64})
        mc = Memcached(db["address"])
        mc.set_many([("before", "1")])
        self.assertEqual(mc.get_many(["before"]), {"before": "1"})
        mc.close()
        host = self.lab.host(db["instances"][0]["host"])
        host.cut()
        try:
            def moved():
                view = self.berth.api("GET", "/v1/databases/volatile")
                i = view["instances"][0]
                return i["host"] != host.name and i["state"] == "healthy"
            wait_until(moved, 30, "the cache re-created on another host")
            view = self.berth.api("GET", "/v1/databases/volatile")
            # Not at the old address: the cut-off host may still run the old cache there.
            self.assertNotEqual(view["address"], db["address"])
            self.assertFalse(view["durable"])
            mc = Memcached(view["address"])
            self.assertEqual(mc.get_many(["before"]), {})  # empty, as promised
            mc.set_many([("after", "2")])
            self.assertEqual(mc.get_many(["after"]), {"after": "2"})
            mc.close()
        finally:
            host.restore()
        wait_until(lambda: not [c for h, c in self.containers(db["id"]) if h == host.name], 30,
                   "the returning host to remove its stale cache")
        self.delete_releases_everything("volatile", db["id"])

    def test_tarantool_holds_10000_tuples_replicates_resizes_and_goes(self):
        r = self.berth.cli("run", "tarantool", "--name", "tt", "--memory", "128M",
                           "--replicas", "1", "--json")
        self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
        db = json.loads(r.stdout)
        self.assertEqual(db["user"], "berth")
        self.assertEqual(len({i["host"] for i in db["instances"]}), 2)
        uri = f"berth:{db['password']}@{db['address']}:3301"
        out = tarantool("tarantool_fill.lua", uri, 10000)
        self.assertEqual(out, "inserted 10000 counted 10000 sampled_ok 104 replicas_acked 1")
        replica = next(i for i in db["instances"] if i["role"] == "replica")
        self.assertEqual(tarantool("tarantool_count.lua",
                                   f"berth:{db['password']}@{replica['address']}:3301"), "10000")
        # A replica is read-only: the user's writes go to the primary only.
        self.assertIn("read-only", tarantool(
            "tarantool_do.lua", f"berth:{db['password']}@{replica['address']}:3301",
            "conn.space.kv:replace{1, 'x'}"))
        # A planned switchover: the replica takes over with every tuple, and takes writes.
        r = self.berth.cli("switchover", "tt")
        self.assertEqual(r.returncode, 0, r.stderr)
        view = self.berth.api("GET", "/v1/databases/tt")
        now = next(i for i in view["instances"] if i["role"] == "primary")
        self.assertEqual(now["n"], replica["n"])
        wait_until(lambda: tarantool("tarantool_do.lua", uri,
                                     "conn.space.kv:replace{10001, 'after'} return 'written'")
                   == "written", 10, "writes at the database address after the switchover")
        self.assertEqual(tarantool("tarantool_count.lua", uri), "10001")
        # Growing is in place; shrinking memtx_memory is not possible while Tarantool runs.
        r = self.berth.cli("update", "tt", "--memory", "192M", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        memtx = tarantool("tarantool_do.lua", uri, "return conn:call('berth.status')[8]")
        self.assertEqual(int(memtx), 192 * 1024 * 1024 * 70 // 100)
        status, body = self.berth.request("PATCH", "/v1/databases/tt", {"memory_mb": 96})
        self.assertEqual(status, 409, body)
        self.assertIn("memory_mb", body["error"])
        self.assertEqual(tarantool("tarantool_count.lua", uri), "10001")
        self.delete_releases_everything("tt", db["id"])

    def test_tarantool_failover_loses_no_acknowledged_write(self):
        db = self.berth.api("POST", "/v1/databases", {"name": "ledger", "engine": "tarantool",
                                                       "memory_mb": 128, "replicas": 1})
        uri = f"berth:{db['password']}@{db['address']}:3301"
        old_primary = next(i for i in db["instances"] if i["role"] == "primary")
        host = self.lab.host(old_primary["host"])
        stop = tempfile.mktemp(prefix="berth-writer-stop-")
        log = tempfile.NamedTemporaryFile("w+", prefix="berth-writer-", delete=False)
        writer = subprocess.Popen(["tarantool", os.path.join(CLIENTS, "tarantool_writer.lua"),
                                   uri, stop], stdout=log, stderr=subprocess.STDOUT)

        def lines(kind):
            with open(log.name) as f:
                return [int(line.split()[1]) for line in f if line.startswith(kind + " ")]

        instance = f"{db['id']}/{old_primary['n']}"
        old_container = next(c["Id"] for c in host.dockerd.containers()
                             if c["Labels"].get("berth.instance") == instance)
        self.assertIn(db["address"], host.addresses_inside(old_container))
        try:
            wait_until(lambda: len(lines("D")) > 50, 30, "durable writes before the cut")
            cut_at = len(lines("A"))
            host.cut()
            wait_until(lambda: self.berth.api("GET", "/v1/databases/ledger")["instances"] and
                       next(i for i in self.berth.api("GET", "/v1/databases/ledger")["instances"]
                            if i["role"] == "primary")["host"] != host.name, 30,
                       "the replica promoted")
            wait_until(lambda: len(lines("A")) > cut_at + 50, 30, "writes accepted again")
            # Cut off, its agent cannot reach the container (the link took its interface down
            # too) but lets go of the database address all the same: when the cable goes back
            # in, the LAN must not find the address on the stale primary as well.
            wait_until(lambda: db["address"] not in host.addresses_inside(old_container), 10,
                       "the cut-off primary lets go of the database address")
        finally:
            open(stop, "w").close()
            writer.wait(10)
            host.restore()
        durable = lines("D")

        def read_back():
            # The returning host's stale instance is fenced and killed as it comes back: a
            # connection in that moment may be reset. A client connects again.
            try:
                return tarantool("tarantool_missing.lua", uri, *durable).split(), True
            except AssertionError:
                return None

        missing = wait_until(read_back, 30, "the acknowledged writes read back")[0]
        print(f"\ntarantool failover: {len(lines('A'))} accepted, {len(durable)} acknowledged")
        self.assertEqual(missing, [], f"{len(missing)} of {len(durable)} acknowledged writes lost")
        view = self.berth.api("GET", "/v1/databases/ledger")
        self.assertGreater(view["epoch"], db["epoch"])
        wait_until(lambda: self.berth.api("GET", "/v1/databases/ledger")["state"] == "running",
                   60, "the lost instance re-created as a replica")
        # Re-created under its old replica id: a replica set has only 31, and a database fails
        # over many times in its life.
        self.assertEqual(tarantool("tarantool_do.lua", uri, "return #conn.space._cluster:select{}"),
                         "2")
        # Exactly one writable instance, asked at each instance's own address: the promoted one.
        instances = self.berth.api("GET", "/v1/databases/ledger")["instances"]
        writable = [i["n"] for i in instances if tarantool(
            "tarantool_do.lua", f"berth:{db['password']}@{i['address']}:3301",
            "return conn:call('berth.status')[1]") == "false"]
        self.assertEqual(writable, [i["n"] for i in instances if i["role"] == "primary"])
        os.unlink(log.name)
        os.unlink(stop)
        self.delete_releases_everything("ledger", db["id"])

    def test_a_tarantool_primary_left_alone_fences_itself_before_a_promotion(self):
        """The primary's agent is SIGKILLed, then its host cut off: nothing is left to fence the
        primary but the instance itself. A writer in its own network namespace records every write
        it takes; the last must come before the first write the promoted replica takes, and
        soon after the cut."""
        db = self.berth.api("POST", "/v1/databases", {"name": "alone", "engine": "tarantool",
                                                       "memory_mb": 128, "replicas": 1})
        uri = f"berth:{db['password']}@{db['address']}:3301"
        old_primary = next(i for i in db["instances"] if i["role"] == "primary")
        host = self.lab.host(old_primary["host"])
        own = f"berth:{db['password']}@{old_primary['address']}:3301"
        # The leader asks for a replica's acknowledgement once the replica is in sync.
        wait_until(lambda: tarantool("tarantool_do.lua", own, "return conn:call('berth.status')[10]")
                   == "1", 30, "the primary told to wait for its replica")
        tarantool("tarantool_do.lua", uri, "return conn:execute('CREATE TABLE IF NOT EXISTS "
                  "\"probe\" (\"id\" UNSIGNED PRIMARY KEY, \"v\" SCALAR)').row_count")
        container = next(c["Id"] for c in host.dockerd.containers()
                         if c["Labels"].get("berth.instance") == f"{db['id']}/{old_primary['n']}")
        inside = host.writer_inside("tarantool", db["password"], container_id=container)
        try:
            wait_until(lambda: inside.stdout.readline().startswith("W "), 10,
                       "writes taken inside the primary's container")
            host.kill_agent()
            host.cut()
            cut_at = time.monotonic()
            # The first write the database address takes after the cut: the promoted replica's.
            def first_write_after_the_cut():
                try:
                    r = tarantool("tarantool_do.lua", uri, "conn.space.probe:replace{2, 0} "
                                  "return 'taken'", 0.3, timeout=10)
                except AssertionError:  # not reached: the address is still on the cut host
                    return None
                return time.monotonic() if r == "taken" else None
            promoted_at = wait_until(first_write_after_the_cut, 40, "the replica promoted",
                                     interval=0.05)
            # The new primary takes writes on, while the writer inside goes on trying the old.
            for n in range(3, 13):
                self.assertEqual(tarantool("tarantool_do.lua", uri, f"conn.space.probe:"
                                           f"replace{{{n}, 0}} return 'taken'", 1), "taken")
        finally:
            inside.kill()
            out = inside.communicate()[0]
            host.restore()
            host.start_agent()
        accepted = [float(line.split()[1]) for line in out.splitlines() if line.startswith("W ")]
        last = max([cut_at] + accepted)
        print(f"\ntarantool self-fence: last write on the old primary {last - cut_at:.2f} s "
              f"after the cut, first on the promoted replica {promoted_at - cut_at:.2f} s")
        self.assertLess(last, promoted_at, "two writable instances")
        self.assertLess(last - cut_at, 1.0, "the primary went on taking writes alone")
        wait_until(lambda: self.berth.api("GET", "/v1/databases/alone")["state"] == "running",
                   60, "the database running again")

        def one_writable_the_primary():
            # Asked at each instance's own address; the lost one re-created elsewhere may still
            # be starting there.
            instances = self.berth.api("GET", "/v1/databases/alone")["instances"]
            try:
                writable = [i["n"] for i in instances if tarantool(
                    "tarantool_do.lua", f"berth:{db['password']}@{i['address']}:3301",
                    "return conn:call('berth.status')[1]", 1) == "false"]
            except AssertionError:
                return False
            return writable == [i["n"] for i in instances if i["role"] == "primary"]
        wait_until(one_writable_the_primary, 30, "exactly one writable instance, the primary")
        self.delete_releases_everything("alone", db["id"])


if __name__ == "__main__":
    unittest.main()
