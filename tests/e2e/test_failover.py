"""Many hosts: replicas on distinct hosts, automatic failover with fencing, on the lab."""
import json
import os
import subprocess
import time
import unittest

from harness import Berth, redis_cli, wait_until
from lab import LabTestCase, MultiHostLab
from writer import Checker, Writer


class FailoverTest(LabTestCase):
    """On a lab of three hosts, all alive at the start of every test."""

    def primary(self, name, server=None):
        db = (server or self.berth).api("GET", f"/v1/databases/{name}")
        return next(i for i in db["instances"] if i["role"] == "primary"), db

    def test_replicas_land_on_distinct_hosts_and_replicate(self):
        db = self.berth.api("POST", "/v1/databases", {"name": "spread", "engine": "redis",
                                                       "memory_mb": 64, "replicas": 2})
        hosts = [i["host"] for i in db["instances"]]
        self.assertEqual(len(set(hosts)), 3, hosts)
        self.assertNotIn(db["address"], [i["address"] for i in db["instances"]])
        self.assertEqual(redis_cli(db["address"], db["password"], "set", "x", "1"), "OK")
        self.assertEqual(redis_cli(db["address"], db["password"], "wait", "2", "1000"), "2")
        for inst in db["instances"]:
            if inst["role"] == "replica":
                self.assertEqual(redis_cli(inst["address"], db["password"], "get", "x"), "1")
        # Three hosts cannot hold four instances of one database.
        status, body = self.berth.request("POST", "/v1/databases", {
            "name": "toomany", "engine": "redis", "memory_mb": 64, "replicas": 3})
        self.assertEqual(status, 409)
        self.assertIn("replicas", body["error"])
        self.assertEqual(self.berth.request("GET", "/v1/databases/toomany")[0], 404)
        self.assertEqual(self.berth.request("DELETE", "/v1/databases/spread")[0], 204)

    def instances_of(self, db_id):
        """Containers of the database on every host, as (host, container)."""
        return [(h.name, c) for h in self.lab.hosts for c in h.dockerd.containers()
                if c["Labels"].get("berth.database") == db_id]

    def test_scale_replicas_and_resize_on_many_hosts(self):
        db = self.berth.api("POST", "/v1/databases", {"name": "grow", "engine": "redis",
                                                       "memory_mb": 64})
        pw = db["password"]
        self.assertEqual(redis_cli(db["address"], pw, "set", "before", "1"), "OK")
        # Two replicas more: on the two other hosts, in sync, behind an address of their own.
        r = self.berth.cli("update", "grow", "--replicas", "2", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        view = json.loads(r.stdout)
        self.assertEqual(view["replicas"], 2)
        self.assertEqual(len({i["host"] for i in view["instances"]}), 3, view["instances"])
        self.assertTrue(all(i["state"] == "healthy" for i in view["instances"]), view)
        self.assertNotIn(view["address"], [i["address"] for i in view["instances"]])
        self.assertEqual(redis_cli(view["address"], pw, "set", "after", "2"), "OK")
        self.assertEqual(redis_cli(view["address"], pw, "wait", "2", "2000"), "2")
        for inst in view["instances"]:
            self.assertEqual(redis_cli(inst["address"], pw, "get", "before"), "1")
        self.assertEqual(len(self.instances_of(db["id"])), 3)

        # Resize every instance in place: the container limit and maxmemory, no restart.
        started = {c["Id"]: c for _, c in self.instances_of(db["id"])}
        r = self.berth.cli("update", "grow", "--memory", "96M", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        for host, c in self.instances_of(db["id"]):
            self.assertIn(c["Id"], started)
            inspect = self.lab.host(host).dockerd.inspect(c["Id"])
            self.assertEqual(inspect["HostConfig"]["Memory"], 96 * 1024 * 1024)
        resized = json.loads(r.stdout)
        self.assertEqual(resized["usable_memory_mb"], (96 - 8) * 45 // 100)
        for inst in resized["instances"]:
            self.assertEqual(redis_cli(inst["address"], pw, "config", "get", "maxmemory")
                             .split()[-1], str((96 - 8) * 1024 * 1024 * 45 // 100))

        # Bad input changes nothing: beyond capacity, beyond the host count, out of range.
        status, body = self.berth.request("PATCH", "/v1/databases/grow",
                                          {"memory_mb": 10 ** 7})
        self.assertEqual(status, 409, body)
        self.assertIn("memory_mb", body["error"])
        status, body = self.berth.request("PATCH", "/v1/databases/grow", {"replicas": 3})
        self.assertEqual(status, 409, body)
        self.assertIn("replicas", body["error"])
        status, body = self.berth.request("PATCH", "/v1/databases/grow", {"replicas": 9})
        self.assertEqual(status, 422, body)
        r = self.berth.cli("update", "grow", "--replicas", "many")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        view = self.berth.api("GET", "/v1/databases/grow")
        self.assertEqual((view["replicas"], view["memory_mb"]), (2, 96))
        self.assertEqual(len(self.instances_of(db["id"])), 3)

        # Back to one replica: a container goes; its data stays on its host as an orphan.
        r = self.berth.cli("update", "grow", "--replicas", "1", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        view = json.loads(r.stdout)
        self.assertEqual(len(view["instances"]), 2)
        wait_until(lambda: len(self.instances_of(db["id"])) == 2, 20, "a replica removed")
        self.assertEqual(redis_cli(view["address"], pw, "set", "last", "3"), "OK")
        self.assertEqual(redis_cli(view["address"], pw, "wait", "1", "2000"), "1")
        def orphans_of_grow():
            return [o for o in json.loads(self.berth.cli("orphans", "--json", check=True).stdout)
                    if o["database_id"] == db["id"]]

        wait_until(orphans_of_grow, 20, "the replica's volume listed as an orphan")
        [orphan] = orphans_of_grow()
        self.assertEqual((orphan["database_name"], orphan["instance"]), ("grow", 2), orphan)
        self.assertGreater(orphan["bytes"], 0)
        left = self.lab.host(orphan["host"]).dockerd
        self.assertIn(orphan["volume"], left.volumes())
        table = self.berth.cli("orphans", check=True).stdout
        self.assertIn(orphan["id"], table)
        self.assertIn("grow", table)
        # The operator removes it: gone from its host, and from the list.
        r = self.berth.cli("orphans", "rm", orphan["id"])
        self.assertEqual((r.returncode, r.stdout.strip()), (0, orphan["id"] + ": removed"), r.stderr)
        self.assertNotIn(orphan["volume"], left.volumes())
        self.assertEqual(orphans_of_grow(), [])
        r = self.berth.cli("orphans", "rm", "o-nosuch")
        self.assertEqual(r.returncode, 2)
        # Deleted: its tombstone lets every host remove its data.
        self.assertEqual(self.berth.request("DELETE", "/v1/databases/grow")[0], 204)
        self.assertEqual(self.instances_of(db["id"]), [])
        for h in self.lab.hosts:
            wait_until(lambda: not [v for v in h.dockerd.volumes() if db["id"] in v], 20,
                       f"the data of grow gone from {h.name}")
        self.assertEqual(orphans_of_grow(), [])

    def test_constraints_choose_the_hosts(self):
        # The lab labels h1 zone=a and the other two zone=b.
        r = self.berth.cli("run", "redis", "--name", "zoned", "--memory", "64M", "--replicas", "1",
                           "--constraint", "zone=b", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        view = json.loads(r.stdout)
        self.assertEqual(sorted(i["host"] for i in view["instances"]), ["h2", "h3"])
        self.assertEqual(view["constraints"], {"zone": "b"})
        # Only two hosts are in zone b: a third instance has nowhere to go.
        status, body = self.berth.request("PATCH", "/v1/databases/zoned", {"replicas": 2})
        self.assertEqual(status, 409, body)
        self.assertIn("replicas", body["error"])
        status, body = self.berth.request("POST", "/v1/databases", {
            "name": "nowhere", "engine": "redis", "memory_mb": 64,
            "constraints": {"zone": "c"}})
        self.assertEqual(status, 409, body)
        self.assertIn("zone", body["error"])
        self.assertEqual(self.berth.request("GET", "/v1/databases/nowhere")[0], 404)
        self.assertEqual(self.berth.request("DELETE", "/v1/databases/zoned")[0], 204)

    def writes_survive(self, db, action):
        """Runs action under a continuous writer; every durable write must survive it."""
        writer = Writer(db["address"], db["password"], prefix=db["name"])
        writer.start()
        try:
            wait_until(lambda: len(writer.durable) > 50, 10, "durable writes first")
            action()
            count = len(writer.durable)
            wait_until(lambda: len(writer.durable) > count + 100, 10, "durable writes after")
        finally:
            writer.stop()
        self.assertEqual(writer.missing(db["address"], db["password"]), [])

    def test_switchover_under_writes_loses_nothing(self):
        db = self.berth.api("POST", "/v1/databases", {"name": "planned", "engine": "redis",
                                                       "memory_mb": 64, "replicas": 1})
        before, _ = self.primary("planned")

        def switch():
            status, after = self.berth.request("POST", "/v1/databases/planned/switchover", {})
            self.assertEqual(status, 200, after)

        self.writes_survive(db, switch)
        now, view = self.primary("planned")
        self.assertNotEqual(now["n"], before["n"])
        self.assertGreater(view["epoch"], db["epoch"])
        status, body = self.berth.request("POST", "/v1/databases/planned/switchover", {"to": 7})
        self.assertEqual(status, 409)
        self.assertIn("to", body["error"])
        self.assertEqual(self.berth.request("POST", "/v1/databases/nosuch/switchover", {})[0],
                         404)
        self.assertEqual(self.berth.request("DELETE", "/v1/databases/planned")[0], 204)

    def test_drain_moves_everything_off_under_writes(self):
        db = self.berth.api("POST", "/v1/databases", {"name": "mover", "engine": "redis",
                                                       "memory_mb": 64, "replicas": 1})
        primary, _ = self.primary("mover")

        def drain():
            r = self.berth.cli("drain", primary["host"])
            self.assertEqual(r.returncode, 0, r.stderr)

        try:
            self.writes_survive(db, drain)
        except AssertionError:
            # Every test starts with all three hosts taking instances: leave none draining.
            self.berth.cli("undrain", primary["host"])
            raise
        hosts = {h["name"]: h for h in self.berth.api("GET", "/v1/hosts")}
        self.assertEqual(hosts[primary["host"]]["state"], "draining")
        self.assertEqual(hosts[primary["host"]]["instances"], 0)
        wait_until(lambda: self.berth.api("GET", "/v1/databases/mover")["state"] == "running",
                   30, "the database running on the other hosts")
        view = self.berth.api("GET", "/v1/databases/mover")
        self.assertNotIn(primary["host"], [i["host"] for i in view["instances"]])
        self.assertEqual(self.berth.cli("drain", "nosuch").returncode, 2)
        self.assertEqual(self.berth.cli("undrain", primary["host"]).returncode, 0)
        self.assertEqual(self.berth.request("DELETE", "/v1/databases/mover")[0], 204)

    def cut_and_expect_failover(self, name, break_host, server=None):
        """Writes continuously, breaks the primary's host with break_host(host), and checks
        that another instance takes over with every durable write kept. server: the API to
        ask (the first one may be what break_host kills)."""
        db = self.berth.api("GET", f"/v1/databases/{name}")
        old_primary, _ = self.primary(name)
        host = self.lab.host(old_primary["host"])
        writer = Writer(db["address"], self.passwords[name], prefix=name)
        writer.start()
        try:
            wait_until(lambda: len(writer.durable) > 50, 10, "durable writes before")
            break_host(host)
            wait_until(lambda: self.primary(name, server)[0]["host"] != host.name, 20,
                       "another host's instance promoted")
            moment = time.monotonic()
            wait_until(lambda: len([k for k in writer.durable[-60:]]) and
                       len([t for t, _ in writer.accepted if t > moment]) > 50,
                       30, "writes accepted after the failover")
        finally:
            writer.stop()
        new_primary, after = self.primary(name, server)
        self.assertNotEqual(new_primary["host"], old_primary["host"])
        # Read on the promoted instance itself too, not only through the address that follows it.
        self.assertEqual(writer.missing(db["address"], self.passwords[name],
                                        [new_primary["address"]]), [])
        return host

    def create(self, name):
        db = self.berth.api("POST", "/v1/databases", {"name": name, "engine": "redis",
                                                       "memory_mb": 64, "replicas": 1})
        self.passwords = getattr(self, "passwords", {})
        self.passwords[name] = db["password"]
        return db

    def test_an_agent_restart_changes_nothing(self):
        """SIGTERM to the agent of the primary's host, and the same command again within the
        lease's TTL: no failover, no container restarted, no event but the agent's restart,
        and the writer on the database address sees no gap over 1 s."""
        db = self.create("calm")
        old_primary, db = self.primary("calm")
        host = self.lab.host(old_primary["host"])

        def started():  # container id -> when its process started
            return {c["Id"]: h.dockerd.inspect(c["Id"])["State"]["StartedAt"]
                    for h in self.lab.hosts for c in h.dockerd.containers()
                    if c["Labels"].get("berth.database") == db["id"]}

        before = started()
        self.assertEqual(len(before), 2)
        seen = {e["id"] for e in self.berth.api("GET", "/v1/events?limit=1000")["events"]}
        writer = Writer(db["address"], self.passwords["calm"])
        writer.start()
        try:
            wait_until(lambda: len(writer.durable) > 50, 10, "durable writes before the restart")
            restarted_at = time.monotonic()
            host.agent.stop()  # SIGTERM, and waits for it to exit
            host.start_agent()

            def registered_again():
                with open(os.path.join(host.dir, "agent.log")) as f:
                    return f.read().count(": registered (") >= 2

            wait_until(registered_again, 10, "the agent to register again")
            # Watch for longer than the lease's TTL: a failover would have happened by then.
            time.sleep(self.lab.lease_ttl * 2 + 1)
            wait_until(lambda: len(writer.durable) > 100, 10, "durable writes after the restart")
        finally:
            writer.stop()
        now_primary, view = self.primary("calm")
        self.assertEqual((now_primary["n"], now_primary["host"]),
                         (old_primary["n"], old_primary["host"]))
        self.assertEqual(view["epoch"], db["epoch"])
        self.assertEqual(started(), before)  # the same containers, never restarted
        gap = writer.gap_around(restarted_at)
        self.assertIsNotNone(gap)
        self.assertLess(gap, 1000, f"the writer waited {gap:.0f} ms")
        self.assertEqual(writer.missing(view["address"], self.passwords["calm"]), [])
        new = [e for e in self.berth.api("GET", "/v1/events?limit=1000")["events"]
               if e["id"] not in seen]
        self.assertEqual([(e["kind"], e.get("host")) for e in new],
                         [("host.agent_restarted", host.name)], new)
        self.assertEqual(self.berth.request("DELETE", "/v1/databases/calm")[0], 204)

    def test_a_killed_agent_leaves_one_writable_primary(self):
        """SIGKILL to the agent of the primary's host while the host, dockerd and the containers
        live on: its lease runs out, but the primary still answers the leader, so it is kept;
        nothing is promoted beside it, the replica never takes a write, and no durable write
        is lost. The agent comes back and takes over."""
        db = self.create("agentless")
        old_primary, db = self.primary("agentless")
        replica = next(i for i in db["instances"] if i["role"] == "replica")
        host = self.lab.host(old_primary["host"])
        pw = self.passwords["agentless"]
        writer = Writer(db["address"], pw)
        writer.start()
        try:
            wait_until(lambda: len(writer.durable) > 50, 10, "durable writes before the kill")
            host.kill_agent()
            wait_until(lambda: next(h["state"] for h in self.berth.api("GET", "/v1/hosts")
                                    if h["name"] == host.name) == "down", 20,
                       "the host's lease to run out")
            durable_at_down = len(writer.durable)
            # Long past the lease: a promotion would have happened by now.
            deadline = time.monotonic() + self.lab.lease_ttl * 2 + 2
            while time.monotonic() < deadline:
                self.assertIn("READONLY", redis_cli(replica["address"], pw, "set", "split", "1"))
                time.sleep(0.2)  # a look every 200 ms over the window
            wait_until(lambda: len(writer.durable) > durable_at_down + 50, 10,
                       "durable writes go on while the agent is dead")
            view = self.berth.api("GET", "/v1/databases/agentless")
            self.assertEqual(view["epoch"], db["epoch"], "nothing was promoted")
            host.start_agent()
            wait_until(lambda: self.berth.api("GET", "/v1/databases/agentless")["state"] ==
                       "running" and next(h["state"] for h in self.berth.api("GET", "/v1/hosts")
                                          if h["name"] == host.name) == "alive", 30,
                       "the agent back and the database running")
        finally:
            writer.stop()
        now_primary, view = self.primary("agentless")
        self.assertEqual((now_primary["n"], now_primary["host"]),
                         (old_primary["n"], old_primary["host"]))
        self.assertEqual(writer.missing(view["address"], pw,
                                        [i["address"] for i in view["instances"]]), [])
        self.assertEqual(self.berth.request("DELETE", "/v1/databases/agentless")[0], 204)

    def test_an_agent_cut_off_from_etcd_alone_hands_its_primary_over(self):
        """The primary's agent loses etcd while its host and containers stay on the LAN: the
        agent fences its primary (writes refused), its lease runs out, and the leader, which
        still reaches the primary, sees it fenced and promotes the replica rather than wait for
        an agent that may not be back for hours. At no moment two writable; nothing durable
        lost; once etcd is back, the old host removes its stale instance."""
        db = self.create("islanded")
        old_primary, db = self.primary("islanded")
        pw = self.passwords["islanded"]
        host = self.lab.host(old_primary["host"])
        writer = Writer(db["address"], pw)
        writer.start()
        checker = Checker([i["address"] for i in db["instances"]], pw)
        checker.start()
        try:
            wait_until(lambda: len(writer.durable) > 50, 10, "durable writes before the cut")
            cut_at = time.monotonic()
            host.cut_from_etcd()
            try:
                wait_until(lambda: self.primary("islanded")[0]["host"] != host.name, 20,
                           "the replica promoted")
                wait_until(lambda: len([k for t, k in writer.accepted if t > cut_at + 2]) > 50,
                           20, "writes accepted again at the database address")
            finally:
                host.cut_from_etcd(False)
            writer.stop()
            print(f"\nisland handover gap: {writer.gap_around(cut_at):.0f} ms")
            now_primary, view = self.primary("islanded")
            self.assertGreater(view["epoch"], db["epoch"])
            self.assertEqual(writer.missing(view["address"], pw, [now_primary["address"]]), [])
            wait_until(lambda: not [c for c in host.dockerd.containers()
                                    if c["Labels"].get("berth.database") == db["id"]], 30,
                       "the old host to remove its stale instance")
            wait_until(lambda: self.berth.api("GET", "/v1/databases/islanded")["state"] ==
                       "running", 30, "the database running with its replica again")
        finally:
            writer.running = False
            checker.stop()
        self.assertEqual(checker.overlaps(), [], checker.spans())
        self.assertEqual(self.berth.request("DELETE", "/v1/databases/islanded")[0], 204)

    def test_etcd_without_its_quorum_pauses_no_writes(self):
        """Two of etcd's three members die for three lease TTLs: nothing can commit, so no
        replica could be promoted anywhere. The replicated primary keeps taking durable writes
        (no gap over 1 s while the members are down), as does a primary without replicas
        (none at all); nothing fails over, nothing is lost; etcd back, the cluster carries on
        as it was. (While the members restart and elect a leader, a promotion may be possible
        again: an agent not yet heard fences, as it must, until its keep-alive gets through.)"""
        db = self.create("quorumless")
        lone = self.berth.api("POST", "/v1/databases", {"name": "quorumlone", "engine": "redis",
                                                         "memory_mb": 64})
        wait_until(lambda: self.berth.api("GET", "/v1/databases/quorumlone")["state"] ==
                   "running", 30, "the lone database running")
        old_primary, db = self.primary("quorumless")
        pw = self.passwords["quorumless"]
        writer = Writer(db["address"], pw)
        lone_address = self.berth.api("GET", "/v1/databases/quorumlone")["instances"][0]["address"]
        lone_writer = Writer(lone_address, lone["password"], prefix="lone")
        checker = Checker([i["address"] for i in db["instances"]], pw)
        for t in (writer, lone_writer, checker):
            t.start()
        try:
            wait_until(lambda: len(writer.durable) > 50, 10, "durable writes before the outage")
            outage_at = time.monotonic()
            self.lab.etcd.kill(1)
            self.lab.etcd.kill(2)
            try:
                time.sleep(self.lab.lease_ttl * 3)  # the fence would come at 60% of one TTL
                during = len(writer.durable)
                restart_at = time.monotonic()
            finally:
                self.lab.etcd.start(1)
                self.lab.etcd.start(2)
            wait_until(self.lab.etcd.healthy, 30, "etcd whole again")
            wait_until(lambda: len(writer.durable) > during + 50, 10, "durable writes after")
        finally:
            for t in (writer, lone_writer, checker):
                t.stop()
        def gap_while_down(w):  # the longest pause in writes while the members were down
            times = [t for t, _ in w.accepted if outage_at - 1 <= t <= restart_at]
            return max([b - a for a, b in zip(times, times[1:])] + [restart_at - times[-1]]) \
                * 1000 if times else None

        for w, name, gap in ((writer, "replicated", gap_while_down(writer)),
                             (lone_writer, "lone", lone_writer.gap_around(outage_at))):
            self.assertIsNotNone(gap, name)
            self.assertLess(gap, 1000, f"the {name} primary paused writes for {gap:.0f} ms")
        now_primary, view = self.primary("quorumless")
        self.assertEqual((now_primary["n"], now_primary["host"]),
                         (old_primary["n"], old_primary["host"]))
        self.assertEqual(view["epoch"], db["epoch"])
        self.assertEqual(writer.missing(view["address"], pw, [now_primary["address"]]), [])
        self.assertEqual(checker.overlaps(), [], checker.spans())
        for name in ("quorumless", "quorumlone"):
            self.assertEqual(self.berth.request("DELETE", f"/v1/databases/{name}")[0], 204)

    def test_failover_when_agent_and_dockerd_are_killed(self):
        self.create("killed")

        def kill(host):
            # The processes inside its containers die with the host too (they outlive a
            # killed containerd otherwise, and keep their addresses on the LAN).
            pids = [host.dockerd.inspect(c["Id"])["State"]["Pid"]
                    for c in host.dockerd.containers()]
            host.kill_agent()
            host.dockerd.kill()
            for pid in pids:
                if pid:
                    subprocess.run(["kill", "-9", str(pid)], capture_output=True)
            # The whole host dies: its containerd, its containers and their network
            # namespaces (held open by dockerd's bind mounts) with it, as in a power cut.
            subprocess.run(["pkill", "-9", "-f", host.dir + "/docker/exec"], capture_output=True)
            subprocess.run(f"for n in {host.dir}/docker/exec/netns/*; do umount -l $n; rm -f $n;"
                           " done", shell=True, capture_output=True)

        host = self.cut_and_expect_failover("killed", kill)
        host.dockerd.start()
        host.start_agent()
        db_id = self.berth.api("GET", "/v1/databases/killed")["id"]

        def containers():
            return [c for h in self.lab.hosts for c in h.dockerd.containers()
                    if c["Labels"].get("berth.database") == db_id]

        # The returned host removes its stale container: two instances in all, one primary.
        wait_until(lambda: len(containers()) == 2 and
                   self.berth.api("GET", "/v1/databases/killed")["state"] == "running",
                   40, "exactly two containers of the database, all healthy")
        self.assertEqual(self.berth.request("DELETE", "/v1/databases/killed")[0], 204)

    def test_failover_when_dockerd_dies_and_the_agent_lives(self):
        self.create("nodocker")
        old_primary, db = self.primary("nodocker")
        host = self.lab.host(old_primary["host"])
        pid = next(host.dockerd.inspect(c["Id"])["State"]["Pid"]
                   for c in host.dockerd.containers()
                   if c["Labels"].get("berth.database") == db["id"])
        # dockerd dies; the agent, its containers and the host's network live on.
        self.cut_and_expect_failover("nodocker", lambda h: h.dockerd.kill())
        with open(os.path.join(host.dir, "agent.log")) as f:
            self.assertIn("dockerd has not answered", f.read())
        # The stale primary could not be removed through dockerd: its agent stopped it.
        wait_until(lambda: not os.path.exists(f"/proc/{pid}"), 10,
                   "the stale primary's process to be stopped")
        host.dockerd.start()
        wait_until(lambda: len(self.instances_of(db["id"])) == 2 and
                   self.berth.api("GET", "/v1/databases/nodocker")["state"] == "running" and
                   [h["state"] for h in self.berth.api("GET", "/v1/hosts")] == ["alive"] * 3,
                   60, "two instances again, all healthy, the host back")
        self.assertEqual(self.berth.request("DELETE", "/v1/databases/nodocker")[0], 204)

    def test_a_replica_that_keeps_crashing_moves(self):
        self.create("crashy")
        db = self.berth.api("GET", "/v1/databases/crashy")
        pw = self.passwords["crashy"]
        # Writes wait for the replica (min-replicas-to-write 1): once in a clean-clone run the
        # replica's acknowledgement lagged past min-replicas-max-lag (2 s) and the first write
        # was refused with NOREPLICAS. Refused, never lost: a client writes again.
        wait_until(lambda: redis_cli(db["address"], pw, "set", "kept", "1") == "OK", 10,
                   "a write to the new database")
        replica = next(i for i in db["instances"] if i["role"] == "replica")
        host = self.lab.host(replica["host"])
        container = next(c for c in host.dockerd.containers()
                         if c["Labels"].get("berth.instance") == f"{db['id']}/{replica['n']}")
        # A corrupt AOF manifest: Redis refuses to start, Docker restarts it, again and again.
        data = os.path.join(host.dir, "docker", "data", "volumes",
                            f"berth-{db['id']}-{replica['n']}", "_data", "appendonlydir")
        manifest = next(os.path.join(data, f) for f in os.listdir(data)
                        if f.endswith(".manifest"))
        with open(manifest, "w") as f:
            f.write("this is not a manifest\n")
        os.kill(host.dockerd.inspect(container["Id"])["State"]["Pid"], 9)

        def moved():
            view = self.berth.api("GET", "/v1/databases/crashy")
            inst = next(i for i in view["instances"] if i["n"] == replica["n"])
            return inst["host"] != host.name and inst["state"] == "healthy" and \
                inst.get("link_up") and view["state"] == "running"

        wait_until(moved, 60, "the crashing replica moved to another host and in sync")
        with open(os.path.join(host.dir, "agent.log")) as f:
            self.assertIn("keeps crashing", f.read())
        view = self.berth.api("GET", "/v1/databases/crashy")
        inst = next(i for i in view["instances"] if i["n"] == replica["n"])
        self.assertEqual(inst["address"], replica["address"])
        self.assertEqual(redis_cli(inst["address"], pw, "get", "kept"), "1")
        wait_until(lambda: not [c for c in host.dockerd.containers()
                                if c["Labels"].get("berth.database") == db["id"]], 20,
                   "the old host to remove the crashing container")
        self.assertEqual(self.berth.request("DELETE", "/v1/databases/crashy")[0], 204)

    def test_failover_when_the_primary_container_is_killed(self):
        self.create("crashed")

        def kill_primary_process(host):
            db = self.berth.api("GET", "/v1/databases/crashed")
            container = next(c for c in host.dockerd.containers()
                             if c["Labels"].get("berth.database") == db["id"])
            # Docker restarts it at once, from an AOF up to a second behind what its replica
            # acknowledged: it must not take the primary role back and lose those writes.
            os.kill(host.dockerd.inspect(container["Id"])["State"]["Pid"], 9)

        host = self.cut_and_expect_failover("crashed", kill_primary_process)
        with open(os.path.join(host.dir, "agent.log")) as f:
            self.assertIn("holding it read-only", f.read())
        wait_until(lambda: self.berth.api("GET", "/v1/databases/crashed")["state"] == "running",
                   40, "the old primary back as a replica")
        self.assertEqual(self.berth.request("DELETE", "/v1/databases/crashed")[0], 204)

    def test_leader_killed_mid_failover_and_an_etcd_member_down(self):
        self.create("ha")
        # A second server: when the leader dies, it takes over the controllers.
        standby = Berth(self.lab.workdir, self.lab.etcd, None, None, None)
        standby.start_server(log="server2.log")
        try:
            self.lab.etcd.kill(2)  # one etcd member of three down: everything still works

            def cut_and_kill_leader(host):
                host.cut()
                self.berth.server.kill()

            try:
                self.cut_and_expect_failover("ha", cut_and_kill_leader, server=standby)
            finally:
                for h in self.lab.hosts:
                    h.restore()
            with open(os.path.join(self.lab.workdir, "server2.log")) as f:
                self.assertIn("elected leader", f.read())
        finally:
            self.lab.etcd.start(2)
            standby.server.stop()
            if not self.berth.server.alive():
                self.berth.start_server()
        wait_until(lambda: self.berth.api("GET", "/v1/databases/ha")["state"] == "running", 30,
                   "the database whole again")
        self.assertEqual(self.berth.request("DELETE", "/v1/databases/ha")[0], 204)

    def test_failover_when_the_primary_host_is_cut_off(self):
        db = self.berth.api("POST", "/v1/databases", {"name": "orders", "engine": "redis",
                                                       "memory_mb": 64, "replicas": 1})
        old_primary, _ = self.primary("orders")
        writer = Writer(db["address"], db["password"])
        writer.start()
        # Writes to every instance's own address all along: at no moment may two accept.
        checker = Checker([i["address"] for i in db["instances"]], db["password"])
        checker.start()
        wait_until(lambda: len(writer.durable) > 50, 30,
                   lambda: f"durable writes before the cut ({len(writer.accepted)} accepted, "
                   f"{len(writer.durable)} durable, {writer.errors} errors)")
        wait_until(lambda: checker.accepted, 10, "the checker's first write, to the primary")
        host = self.lab.host(old_primary["host"])
        old_container = next(c["Id"] for c in host.dockerd.containers()
                             if c["Labels"].get("berth.database") == db["id"])
        cut_at = time.monotonic()
        host.cut()
        try:
            wait_until(lambda: writer.accepted and writer.accepted[-1][0] > cut_at + 0.05, 20,
                       "writes accepted again after the cut")
            wait_until(lambda: len([k for t, k in writer.accepted if t > cut_at]) > 50, 10,
                       "more writes after the failover")
            writer.stop()
            gap = writer.gap_around(cut_at)
            print(f"\nfailover gap: {gap:.0f} ms, durable writes: {len(writer.durable)}")
            self.assertLess(gap, 5000)
            new_primary, after = self.primary("orders")
            self.assertNotEqual(new_primary["host"], old_primary["host"])
            self.assertGreater(after["epoch"], db["epoch"])
            self.assertEqual(after["address"], db["address"])  # the address followed
            self.assertEqual(writer.missing(db["address"], db["password"],
                                            [new_primary["address"]]), [])
            # The lost instance is re-created elsewhere with its number and a new address: its
            # old container still holds the old one on the cut-off host, which stays taken.
            wait_until(lambda: all(i["state"] == "healthy" and i["host"] != host.name
                                   for i in self.berth.api("GET", "/v1/databases/orders")
                                   ["instances"]), 30, "the lost instance re-created")
            moved = next(i for i in self.berth.api("GET", "/v1/databases/orders")["instances"]
                         if i["n"] == old_primary["n"])
            self.assertNotEqual(moved["address"], old_primary["address"])
            self.assertEqual(moved["role"], "replica")
            old_key = "/berth/ips/" + old_primary["address"]
            self.assertEqual(self.lab.etcd.get_prefix(old_key),
                             {old_key: f"retired/{host.name}/{db['id']}/{old_primary['n']}"})
            # And the database address is no longer on the stale primary when the cable goes
            # back in (its agent cannot reach it, but lets go of the address all the same).
            wait_until(lambda: db["address"] not in host.addresses_inside(old_container), 10,
                       "the cut-off primary lets go of the database address")
        except BaseException:
            checker.running = False
            raise
        finally:
            writer.running = False
            host.restore()
        # The old host returns: its stale container is removed, never a second primary.
        wait_until(lambda: not [c for c in host.dockerd.containers() if
                                c["Labels"].get("berth.database") == db["id"]], 30,
                   "the returning host to remove its stale container")
        wait_until(lambda: not self.lab.etcd.get_prefix("/berth/ips/" + old_primary["address"]),
                   20, "the returning host to give the old address back to the pool")
        # Back from a lost lease, the old host must not write its stale word over the statuses
        # of the instances that moved away (nor withdraw them as it lets go): the database
        # reads running at once, not after the new host's 30 s check of its statuses.
        wait_until(lambda: self.berth.api("GET", "/v1/databases/orders")["state"] == "running",
                   10, "the database running with both instances reported")
        self.assertEqual(redis_cli(db["address"], db["password"], "set", "after", "1"), "OK")
        settled = time.monotonic()
        wait_until(lambda: [t for t, _, _ in checker.accepted if t > settled + 1], 10,
                   "the checker to write after the return")
        checker.stop()
        self.assertEqual(checker.overlaps(), [], checker.spans())
        self.assertGreaterEqual(len(checker.spans()), 2, "old and new primary both seen")
        self.assertEqual(self.berth.request("DELETE", "/v1/databases/orders")[0], 204)


class ShippedDefaultsTest(LabTestCase):
    """On a lab of three hosts whose agents run at the shipped defaults (a 5 s lease, probes
    every second), where a failover comes well before the lease runs out."""

    @classmethod
    def setUpClass(cls):
        cls.lab = MultiHostLab(hosts=3, lease_ttl=5, probe_interval_ms=1000)
        cls.berth = cls.lab.berth

    primary = FailoverTest.primary

    def test_a_primary_partitioned_from_the_lan_refuses_writes_before_the_promotion(self):
        """The primary's host loses the LAN but keeps its link, as when a switch drops its
        port: a client on that host still reaches the primary. Neither the leader nor the
        replica does, and the replica is promoted in about a second, before the host's lease
        runs out: by then the agent, hearing neither etcd nor the replica, must have fenced the
        primary. A writer in the host's own network namespace records every write the old
        primary takes; the last comes before the first the promoted replica takes, within a
        second of the cut. (At the shipped defaults the lease alone fences only after 3 s.)"""
        db = self.berth.api("POST", "/v1/databases", {"name": "apart", "engine": "redis",
                                                       "memory_mb": 64, "replicas": 1})
        pw = db["password"]
        old_primary, _ = self.primary("apart")
        host = self.lab.host(old_primary["host"])
        # The leader asks for the replica's acknowledgement once the replica is in sync.
        wait_until(lambda: redis_cli(old_primary["address"], pw, "config", "get",
                                     "min-replicas-to-write").split()[-1:] == ["1"], 30,
                   "the primary told to wait for its replica")
        writer = Writer(db["address"], pw)
        writer.start()
        inside = host.writer_inside("redis", pw, address=old_primary["address"])
        try:
            wait_until(lambda: len(writer.durable) > 50, 30, "durable writes before the cut")
            wait_until(lambda: inside.stdout.readline().startswith("W "), 10,
                       "writes from the primary's own host")
            apart_at = time.monotonic()
            host.partition()
            wait_until(lambda: writer.accepted and writer.accepted[-1][0] > apart_at + 0.05, 30,
                       "writes accepted again at the database address")
            promoted_at = next(t for t, _ in writer.accepted if t > apart_at + 0.05)
            wait_until(lambda: len([k for t, k in writer.accepted if t > promoted_at]) > 50, 10,
                       "more writes after the failover")
        finally:
            inside.kill()
            out = inside.communicate()[0]
            writer.stop()
            host.partition(False)
        inside_last = max([apart_at] + [float(line.split()[1]) for line in out.splitlines()
                                        if line.startswith("W ")])
        print(f"\npartitioned primary: its last write {inside_last - apart_at:.2f} s after the "
              f"cut, the promoted replica's first {promoted_at - apart_at:.2f} s")
        self.assertLess(inside_last, promoted_at, "two writable primaries")
        self.assertLess(inside_last - apart_at, 1.0, "the cut-off primary went on taking writes")
        new_primary, _ = self.primary("apart")
        self.assertNotEqual(new_primary["host"], host.name)
        self.assertEqual(writer.missing(db["address"], pw, [new_primary["address"]]), [])
        wait_until(lambda: self.berth.api("GET", "/v1/databases/apart")["state"] == "running",
                   60, "the database running again with the host back")
        self.assertEqual(self.berth.request("DELETE", "/v1/databases/apart")[0], 204)


if __name__ == "__main__":
    unittest.main()
