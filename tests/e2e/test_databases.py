"""The first database, end to end: API and CLI against real etcd, dockerd and redis-server."""
import concurrent.futures
import json
import os
import socket
import subprocess
import threading
import unittest
import uuid

from harness import Lab, redis_cli, wait_until

MiB = 1024 * 1024


class DatabasesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lab = Lab("db", "10.214.0.0/16")
        cls.berth, cls.etcd, cls.dockerd = cls.lab.berth, cls.lab.etcd, cls.lab.dockerd

    @classmethod
    def tearDownClass(cls):
        cls.lab.close()

    def create(self, name, memory_mb=64, **extra):
        status, db = self.berth.request("POST", "/v1/databases",
                                        {"name": name, "engine": "redis",
                                         "memory_mb": memory_mb, **extra})
        self.assertEqual(status, 201, db)
        return db

    def delete(self, name):
        status, _ = self.berth.request("DELETE", f"/v1/databases/{name}")
        self.assertEqual(status, 204)

    def state_keys(self):
        """What bad input must never change: desired state, addresses and containers."""
        keys = {k: v for k, v in self.etcd.get_prefix("/berth/").items()
                if not k.startswith(("/berth/status/", "/berth/hosts/", "/berth/events/"))}
        containers = sorted(c["Id"] for c in self.dockerd.containers())
        return keys, containers

    def test_health_needs_no_token_but_everything_else_does(self):
        self.assertEqual(self.berth.request("GET", "/v1/health", token="")[0], 200)
        status, body = self.berth.request("GET", "/v1/databases", token="")
        self.assertEqual(status, 401)
        self.assertIn("error", body)
        self.assertEqual(self.berth.request("GET", "/v1/databases", token="wrong")[0], 401)
        self.assertEqual(self.berth.request("GET", "/v1/hosts")[0], 200)

    def test_token_file_is_private_and_only_its_hash_is_in_etcd(self):
        self.assertEqual(os.stat(self.berth.token_file).st_mode & 0o777, 0o600)
        stored = self.etcd.get_prefix("/berth/config/")
        self.assertNotIn(self.berth.token, "".join(stored.values()))

    def test_create_connect_inspect_delete(self):
        db = self.create("cache", memory_mb=256)
        for field in ("id", "name", "engine", "memory_mb", "state", "address", "port",
                      "created_at", "instances", "password"):
            self.assertIn(field, db)
        self.assertEqual(db["state"], "running")
        self.assertEqual(db["memory_mb"], 256)
        address, password = db["address"], db["password"]
        self.assertTrue(address.startswith("10.214."))
        self.assertEqual(redis_cli(address, password, "set", "k", "v"), "OK")
        self.assertEqual(redis_cli(address, password, "get", "k"), "v")
        # Without the password Redis refuses.
        self.assertIn("NOAUTH", subprocess.run(["redis-cli", "-h", address, "get", "k"],
                                               capture_output=True, text=True).stdout)
        # Memory: the container limit is memory_mb; Redis' maxmemory under half of it, the rest
        # kept for a fork's copy-on-write (and said so: usable_memory_mb).
        containers = self.dockerd.containers(f"berth.database={db['id']}")
        self.assertEqual(len(containers), 1)
        info = self.dockerd.inspect(containers[0]["Id"])
        self.assertEqual(info["HostConfig"]["Memory"], 256 * MiB)
        maxmemory = int(redis_cli(address, password, "config", "get", "maxmemory").split()[1])
        self.assertEqual(maxmemory // MiB, db["usable_memory_mb"])
        self.assertTrue(100 * MiB <= maxmemory < 128 * MiB, maxmemory)
        self.assertEqual(redis_cli(address, password, "config", "get", "appendonly").split()[1],
                         "yes")
        # Reads by name and by id; the password is shown only at creation.
        by_name = self.berth.api("GET", "/v1/databases/cache")
        by_id = self.berth.api("GET", f"/v1/databases/{db['id']}")
        self.assertEqual(by_name["id"], by_id["id"])
        self.assertNotIn("password", by_name)
        inst = by_name["instances"][0]
        self.assertEqual((inst["n"], inst["host"], inst["address"], inst["role"]),
                         (0, "h1", address, "primary"))
        self.assertIn(db["id"], [d["id"] for d in self.berth.api("GET", "/v1/databases")])
        # Delete: container, volume and address all go.
        self.delete("cache")
        self.assertEqual(self.dockerd.containers(f"berth.database={db['id']}"), [])
        self.assertNotIn(f"/berth/ips/{address}", self.etcd.get_prefix("/berth/ips/"))
        volumes = self.dockerd.call("GET", "/volumes")[1]["Volumes"] or []
        self.assertFalse([v for v in volumes if db["id"] in v["Name"]])
        self.assertEqual(self.berth.request("GET", "/v1/databases/cache")[0], 404)

    def test_bad_input_is_refused_and_changes_nothing(self):
        self.create("taken")
        before = self.state_keys()
        cases = [
            (b"{not json", 400, "malformed JSON"),
            (b"[1,2]", 400, "body"),
            ({"name": "Bad_Name", "engine": "redis", "memory_mb": 64}, 422, "name"),
            ({"name": "9lives", "engine": "redis", "memory_mb": 64}, 422, "name"),
            ({"engine": "redis", "memory_mb": 64}, 422, "name"),
            ({"name": "x1", "engine": "oracle", "memory_mb": 64}, 422, "engine"),
            ({"name": "x1", "engine": "redis", "memory_mb": 16}, 422, "memory_mb"),
            ({"name": "x1", "engine": "redis", "memory_mb": "lots"}, 422, "memory_mb"),
            ({"name": "x1", "engine": "redis", "memory_mb": 64, "password": "short"}, 422,
             "password"),
            ({"name": "x1", "engine": "redis", "memory_mb": 10**9}, 409, "memory_mb"),
            ({"name": "taken", "engine": "redis", "memory_mb": 64}, 409, "name"),
        ]
        for body, status, field in cases:
            with self.subTest(body=body):
                raw = body if isinstance(body, bytes) else None
                got, reply = self.berth.request("POST", "/v1/databases",
                                                None if raw else body, raw=raw)
                self.assertEqual(got, status, reply)
                self.assertIn(field, reply["error"])
        got, reply = self.berth.request("DELETE", "/v1/databases/nosuch")
        self.assertEqual(got, 404)
        self.assertIn("error", reply)
        self.assertEqual(self.state_keys(), before)
        self.delete("taken")

    def test_engine_settings_can_name_an_image(self):
        self.create("builder")  # makes sure the locally built image exists
        local = self.berth.api("GET", "/v1/engines")[0]
        self.assertEqual(local["name"], "redis")
        built = local["image"].split()[0]
        # Stand in for a registry image: the same files under another name.
        repo, tag = "registry.example/redis", "7"
        status, _ = self.dockerd.call("POST", f"/images/{built}/tag?repo={repo}&tag={tag}")
        self.assertEqual(status, 201)
        self.assertEqual(self.berth.request("PUT", "/v1/engines/nosuch", {"image": "x"})[0], 404)
        self.assertEqual(self.berth.request("PUT", "/v1/engines/redis", {"image": 5})[0], 422)
        self.berth.api("PUT", "/v1/engines/redis", {"image": f"{repo}:{tag}"})
        try:
            db = self.create("from-registry")
            cid = self.dockerd.containers(f"berth.database={db['id']}")[0]["Id"]
            self.assertEqual(self.dockerd.inspect(cid)["Config"]["Image"], f"{repo}:{tag}")
            self.assertEqual(redis_cli(db["address"], db["password"], "ping"), "PONG")
        finally:
            self.berth.api("PUT", "/v1/engines/redis", {"image": ""})
        self.delete("from-registry")
        self.delete("builder")

    def test_resize_in_place(self):
        db = self.create("elastic", memory_mb=64)
        redis_cli(db["address"], db["password"], "set", "kept", "1")
        cid = self.dockerd.containers(f"berth.database={db['id']}")[0]["Id"]
        started = self.dockerd.inspect(cid)["State"]["StartedAt"]
        status, body = self.berth.request("PATCH", "/v1/databases/elastic", {"memory_mb": 128})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["memory_mb"], 128)
        info = self.dockerd.inspect(cid)
        self.assertEqual(info["HostConfig"]["Memory"], 128 * MiB)
        self.assertEqual(info["State"]["StartedAt"], started)  # no restart
        maxmemory = int(redis_cli(db["address"], db["password"], "config", "get",
                                  "maxmemory").split()[1])
        self.assertTrue(50 * MiB < maxmemory < 64 * MiB, maxmemory)
        self.assertEqual(redis_cli(db["address"], db["password"], "get", "kept"), "1")
        # Bad input changes nothing.
        before = self.state_keys()
        for patch, code, field in (({"memory_mb": 16}, 422, "memory_mb"),
                                   ({"memory_mb": 10**9}, 409, "memory_mb"),
                                   ({"memory_mb": 64, "replicas": 3}, 409, "replicas"),
                                   ({"replicas": -1}, 422, "replicas")):
            got, reply = self.berth.request("PATCH", "/v1/databases/elastic", patch)
            self.assertEqual(got, code, reply)
            self.assertIn(field, reply["error"])
        self.assertEqual(self.berth.request("PATCH", "/v1/databases/nosuch",
                                            {"memory_mb": 64})[0], 404)
        self.assertEqual(self.state_keys(), before)
        # Shrinking works the same way, through the CLI.
        r = self.berth.cli("update", "elastic", "--memory", "96M")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.dockerd.inspect(cid)["HostConfig"]["Memory"], 96 * MiB)
        self.delete("elastic")

    def test_aof_survives_a_container_crash(self):
        db = self.create("durable")
        self.assertEqual(redis_cli(db["address"], db["password"], "set", "kept", "yes"), "OK")
        # appendfsync everysec: make sure it is on disk before pulling the plug.
        redis_cli(db["address"], db["password"], "bgrewriteaof")
        wait_until(lambda: redis_cli(db["address"], db["password"], "info", "persistence")
                   .find("aof_rewrite_in_progress:0") >= 0, 10, "AOF rewrite")
        cid = self.dockerd.containers(f"berth.database={db['id']}")[0]["Id"]
        self.dockerd.call("POST", f"/containers/{cid}/kill")
        wait_until(lambda: redis_cli(db["address"], db["password"], "get", "kept") == "yes", 30,
                   "the restarted container to serve the key")
        self.assertEqual(len(self.dockerd.containers(f"berth.database={db['id']}")), 1)
        self.delete("durable")

    def test_agent_and_server_restarts_lose_nothing(self):
        db = self.create("survivor")
        redis_cli(db["address"], db["password"], "set", "a", "1")
        # Kill the agent hard, then the server; restart both.
        self.berth.agent.kill()
        self.berth.server.kill()
        self.berth.start_server()
        self.berth.start_agent()
        wait_until(lambda: self.berth.api("GET", "/v1/databases/survivor")["state"] == "running",
                   20, "database running after restarts")
        self.assertEqual(len(self.dockerd.containers(f"berth.database={db['id']}")), 1)
        self.assertEqual(redis_cli(db["address"], db["password"], "get", "a"), "1")
        self.delete("survivor")

    def test_a_database_without_replicas_takes_writes_while_etcd_is_down(self):
        """Nothing could replace it, so an etcd out of reach pauses none of its writes (the
        agent fences only primaries another instance could take over from, and none at all
        while etcd itself is down)."""
        db = self.create("failsafe")
        log = os.path.join(self.berth.workdir, "agent.log")

        def fences():  # the agent's word that the fence's time came, and what it did
            with open(log) as f:
                text = f.read()
            return text.count("no word from etcd") + text.count("etcd has lost its quorum")

        fenced_before, written = fences(), 0
        self.etcd.stop()
        try:
            def fenced_and_still_writable():
                nonlocal written
                self.assertEqual(redis_cli(db["address"], db["password"], "set",
                                           f"k{written}", "v"), "OK")
                written += 1
                return fences() > fenced_before

            wait_until(fenced_and_still_writable, 30, "the agent to fence, or see etcd down",
                       interval=0.2)
            for _ in range(10):  # well after the fence
                fenced_and_still_writable()
        finally:
            self.etcd.start()
        self.assertEqual(redis_cli(db["address"], db["password"], "dbsize"), str(written))
        wait_until(lambda: self.berth.api("GET", "/v1/databases/failsafe")["state"] == "running",
                   30, "the database reported running again")
        self.delete("failsafe")

    def test_agent_lives_through_etcd_and_dockerd_restarts(self):
        db = self.create("weathered")
        redis_cli(db["address"], db["password"], "set", "b", "2")
        redis_cli(db["address"], db["password"], "bgrewriteaof")
        self.etcd.stop()
        self.etcd.start()
        # dockerd restart: its containers stop with it and the agent brings them back.
        self.dockerd.proc.stop()
        self.dockerd.start()
        wait_until(lambda: redis_cli(db["address"], db["password"], "get", "b") == "2", 40,
                   "database back after dockerd restart")
        self.assertEqual(len(self.dockerd.containers(f"berth.database={db['id']}")), 1)
        self.assertTrue(self.berth.agent.alive())
        # The control plane works again end to end.
        db2 = self.create("after-restarts")
        self.assertEqual(redis_cli(db2["address"], db2["password"], "ping"), "PONG")
        self.delete("after-restarts")
        self.delete("weathered")

    def test_a_full_database_overwritten_while_it_saves_is_not_killed(self):
        """Filled to its usable memory, then overwritten as hard as a client can during an AOF
        rewrite and during a backup: the fork's copy-on-write pages fit in the limit, so no OOM
        kill, no restart, nothing lost."""
        db = self.create("full", memory_mb=128)
        address, pw = db["address"], db["password"]
        self.assertEqual(db["memory_mb"], 128)
        self.assertLess(db["usable_memory_mb"], 128)
        maxmemory = int(redis_cli(address, pw, "config", "get", "maxmemory").split()[-1])
        self.assertEqual(maxmemory // MiB, db["usable_memory_mb"])
        keys = maxmemory // 1200  # 1 KiB values and Redis' own overhead per key

        def overwrite(requests):
            r = subprocess.run(["redis-benchmark", "-h", address, "-a", pw, "-t", "set", "-d",
                                "1024", "-r", str(keys), "-n", str(requests), "-P", "16", "-q"],
                               capture_output=True, text=True, timeout=120)
            return f"exit {r.returncode}: {r.stdout[-300:]} {r.stderr[-300:]}"

        def used():
            info = redis_cli(address, pw, "info", "memory")
            return int(next((line.split(":")[1] for line in info.splitlines()
                             if line.startswith("used_memory:")), 0))  # 0: it does not answer

        # Random keys: nearly every one of them set at least once. (Once in a clean-clone run the
        # benchmark wrote nothing at all; what it said is kept, and it is given a second go.)
        said = [overwrite(keys * 4)]
        if used() <= maxmemory * 0.85:
            said.append(overwrite(keys * 4))
        self.assertGreater(used(), maxmemory * 0.85, f"filled to its usable memory: {said}")
        container = self.dockerd.containers()[0]["Id"]

        def background(command, busy_field):
            answer = redis_cli(address, pw, command)
            self.assertTrue(answer.lower().startswith(("background", "ok")) or
                            "already in progress" in answer, answer)
            while True:
                overwrite(20000)
                info = redis_cli(address, pw, "info", "persistence")
                if f"{busy_field}:0" in info:
                    return

        background("bgrewriteaof", "aof_rewrite_in_progress")
        state = self.dockerd.inspect(container)["State"]
        self.assertEqual((state["OOMKilled"], state["Running"]), (False, True), state)
        self.assertEqual(self.dockerd.inspect(container)["RestartCount"], 0)
        self.assertIn("aof_last_bgrewrite_status:ok", redis_cli(address, pw, "info", "persistence"))
        # A backup of a database without replicas forks its primary: the same room.
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            backup = pool.submit(self.berth.cli, "backup", "full", "--json")
            while not backup.done():
                overwrite(20000)
            r = backup.result()
        self.assertEqual(r.returncode, 0, r.stderr)
        state = self.dockerd.inspect(container)["State"]
        self.assertEqual((state["OOMKilled"], state["Running"]), (False, True), state)
        self.assertEqual(self.dockerd.inspect(container)["RestartCount"], 0)
        self.assertEqual(self.berth.api("GET", "/v1/databases/full")["state"], "running")
        self.assertEqual(redis_cli(address, pw, "set", "still", "here"), "OK")
        self.delete("full")

    def test_concurrent_creates_get_distinct_addresses(self):
        names = [f"c{i:03d}" for i in range(100)]

        def create(name):
            return self.berth.request("POST", "/v1/databases?wait=false",
                                      {"name": name, "engine": "redis", "memory_mb": 32})

        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(create, names))
        self.assertTrue(all(status in (201, 202) for status, _ in results), results[:3])
        addresses = [db["address"] for _, db in results]
        self.assertEqual(len(set(addresses)), 100)
        ips = self.etcd.get_prefix("/berth/ips/")
        self.assertEqual(len({v for v in ips.values() if v.split("/")[0] in
                              {db["id"] for _, db in results}}), 100)
        wait_until(lambda: sum(d["state"] == "running"
                               for d in self.berth.api("GET", "/v1/databases")) >= 100,
                   240, "100 databases running", interval=0.5)
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            statuses = list(pool.map(
                lambda n: self.berth.request("DELETE", f"/v1/databases/{n}")[0], names))
        self.assertEqual(statuses, [204] * 100)
        self.assertEqual(self.dockerd.containers("berth.instance"), [])

    def test_a_retried_create_answers_the_first_database(self):
        """A create sent again with its Idempotency-Key (its answer lost) makes nothing new and
        answers the same database and password; the key cannot be reused for another request."""
        before = self.state_keys()
        key = {"Idempotency-Key": str(uuid.uuid4())}
        body = {"name": "once", "engine": "redis", "memory_mb": 32}

        def create(_):
            return self.berth.request("POST", "/v1/databases?wait=false", body, headers=key)

        with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
            answers = list(pool.map(create, range(3)))
        answers.append(create(None))
        self.assertTrue(all(status in (201, 202) for status, _ in answers), answers)
        self.assertEqual({db["id"] for _, db in answers}, {answers[0][1]["id"]})
        self.assertEqual({db["password"] for _, db in answers}, {answers[0][1]["password"]})
        db = answers[0][1]
        wait_until(lambda: self.berth.api("GET", "/v1/databases/once")["state"] == "running",
                   60, "the database to run")
        self.assertEqual(redis_cli(db["address"], db["password"], "ping"), "PONG")
        self.assertEqual([d["name"] for d in self.berth.api("GET", "/v1/databases")
                          if d["name"] == "once"], ["once"])
        owned = [v for v in self.etcd.get_prefix("/berth/ips/").values()
                 if v.startswith(db["id"] + "/")]
        self.assertEqual(len(owned), 1, owned)

        # The same key on a different request: refused, naming the header; nothing changes.
        during = self.state_keys()
        status, answer = self.berth.request("POST", "/v1/databases?wait=false",
                                            {**body, "name": "other"}, headers=key)
        self.assertEqual(status, 422, answer)
        self.assertIn("Idempotency-Key", answer["error"])
        status, answer = self.berth.request("POST", "/v1/databases", body,
                                            headers={"Idempotency-Key": "x" * 256})
        self.assertEqual(status, 422, answer)
        self.assertIn("Idempotency-Key", answer["error"])
        self.assertEqual(self.state_keys()[1], during[1])
        self.assertNotIn("/berth/names/other", self.state_keys()[0])

        self.delete("once")
        status, answer = self.berth.request("POST", "/v1/databases?wait=false", body, headers=key)
        self.assertEqual(status, 409, answer)
        self.assertIn("deleted", answer["error"])
        self.assertEqual(self.state_keys()[1], before[1])


class AnswerDropper:
    """A TCP proxy in front of the server that, once armed, lets one POST reach the server and
    then cuts the connection before the answer reaches the client: the request did its work
    and the client cannot know."""

    def __init__(self, upstream):
        host, port = upstream.split("//")[-1].split(":")
        self.upstream = (host, int(port))
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = "http://127.0.0.1:%d" % self.listener.getsockname()[1]
        self.armed = threading.Event()
        self.dropped = 0
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(client,), daemon=True).start()

    def serve(self, client):
        server = socket.create_connection(self.upstream)
        saw_post = threading.Event()

        def forward_requests():
            try:
                while data := client.recv(65536):
                    if data.startswith(b"POST"):
                        saw_post.set()
                    server.sendall(data)
            except OSError:
                pass

        threading.Thread(target=forward_requests, daemon=True).start()
        try:
            while data := server.recv(65536):
                if saw_post.is_set() and self.armed.is_set():
                    self.armed.clear()
                    self.dropped += 1
                    break
                client.sendall(data)
        except OSError:
            pass
        for s in (client, server):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self):
        self.listener.close()


class CliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lab = Lab("cli", "10.215.0.0/16")
        cls.berth = cls.lab.berth

    @classmethod
    def tearDownClass(cls):
        cls.lab.close()

    def test_run_ps_inspect_rm(self):
        r = self.berth.cli("run", "redis", "--name", "cache", "--memory", "256M", check=True)
        lines = r.stdout.splitlines()
        address = next(line.split()[1] for line in lines if "address:" in line).split(":")[0]
        password = next(line.split()[1] for line in lines if "password:" in line)
        self.assertEqual(redis_cli(address, password, "set", "k", "v"), "OK")
        ps = self.berth.cli("ps", check=True).stdout.splitlines()
        self.assertEqual(ps[0].split(), ["ID", "NAME", "ENGINE", "MEMORY", "USED", "STATE",
                                         "ADDRESS", "HOST", "AGE"])
        row = next(line.split() for line in ps[1:] if " cache " in line)
        self.assertEqual(row[1:4], ["cache", "redis", "256M"])
        self.assertEqual(row[5], "running")
        listed = json.loads(self.berth.cli("ps", "--json", check=True).stdout)
        self.assertIsInstance(listed, list)
        self.assertEqual(listed[0]["name"], "cache")
        inspected = json.loads(self.berth.cli("inspect", "cache", check=True).stdout)
        self.assertEqual(inspected["address"], address)
        hosts = json.loads(self.berth.cli("hosts", "--json", check=True).stdout)
        self.assertEqual(hosts[0]["name"], "h1")
        self.assertGreaterEqual(hosts[0]["allocated_mb"], 256)
        self.berth.cli("rm", "cache", check=True)
        self.assertEqual(json.loads(self.berth.cli("ps", "--json", check=True).stdout), [])

    def test_run_json_prints_the_object(self):
        db = json.loads(self.berth.cli("run", "redis", "--name", "js", "--memory", "64M",
                                       "--json", check=True).stdout)
        self.assertEqual((db["name"], db["state"], db["memory_mb"]), ("js", "running", 64))
        self.assertEqual(redis_cli(db["address"], db["password"], "ping"), "PONG")
        self.berth.cli("rm", "js", check=True)

    def test_bad_input_exits_2_with_one_line(self):
        for args in (["run", "redis", "--name", "Bad"], ["run", "nosuch", "--name", "ok"],
                     ["run", "redis", "--name", "ok", "--memory", "12Q"],
                     ["run", "redis", "--name", "ok", "--memory", "8M"],
                     ["rm", "nosuch"], ["inspect", "nosuch"], ["frobnicate"],
                     ["run", "redis"]):
            with self.subTest(args=args):
                r = self.berth.cli(*args)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertEqual(self.berth.api("GET", "/v1/databases"), [])

    def test_run_whose_answer_is_lost_gets_the_same_database(self):
        """berth run sends its create again when the answer is lost on the way: one database,
        and the password printed is the one it has."""
        dropper = AnswerDropper(self.berth.url)
        self.addCleanup(dropper.close)
        dropper.armed.set()
        r = self.berth.cli("run", "redis", "--name", "lost", "--memory", "32M", "--json",
                           env_extra={"BERTH_SERVER": dropper.url})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(dropper.dropped, 1)
        db = json.loads(r.stdout)
        self.assertEqual(redis_cli(db["address"], db["password"], "ping"), "PONG")
        self.assertEqual([d["id"] for d in self.berth.api("GET", "/v1/databases")], [db["id"]])
        self.berth.cli("rm", "lost", check=True)

    def test_wrong_token_exits_2(self):
        r = self.berth.cli("ps", env_extra={"BERTH_TOKEN": "nope"})
        self.assertEqual(r.returncode, 2)
        self.assertIn("token", r.stderr)


if __name__ == "__main__":
    unittest.main()
