"""Projects, tokens and roles with `berth up`: two teams on one cluster, each seeing only its
own databases, backups, tasks, events and usage; roles refused what they lack; quotas; tokens
revoked or expired refused at once."""
import json
import os
import signal
import subprocess
import tempfile
import threading
import unittest
import urllib.error
import urllib.request

from harness import BERTH, Dockerd, Process, free_port, redis_cli, remove_docker_lab, wait_until


def read(path):
    with open(path) as f:
        return f.read()


class ProjectsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="berth-test-projects-")
        cls.dockerd = Dockerd(cls.workdir)
        cls.state = os.path.join(cls.workdir, "state")
        cls.port = free_port()
        cls.bridge = f"btpr{os.getpid() % 10000}"
        cls.env = {**os.environ, "HOME": cls.workdir}
        log = os.path.join(cls.workdir, "up.log")
        cls.up = Process([BERTH, "up", "--state-dir", cls.state,
                          "--listen", f"127.0.0.1:{cls.port}", "--etcd-port", str(free_port()),
                          "--docker-socket", cls.dockerd.socket,
                          "--subnet", "10.218.0.0/16", "--gateway", "10.218.0.1",
                          "--docker-network", cls.bridge], log, env=cls.env)
        wait_until(lambda: "berth is up." in read(log) or not cls.up.alive(), 60,
                   "berth up to print its banner")
        cls.operator = read(os.path.join(cls.state, "admin.token")).strip()
        cls.url = f"http://127.0.0.1:{cls.port}"

    @classmethod
    def tearDownClass(cls):
        cls.up.stop(signal.SIGINT)
        remove_docker_lab(cls.workdir, cls.dockerd, cls.bridge)

    def cli(self, token, *args, code=0):
        env = {**self.env, "BERTH_TOKEN": token} if token else self.env
        r = subprocess.run([BERTH, *args], capture_output=True, text=True, env=env, timeout=120)
        self.assertEqual(r.returncode, code, r.stdout + r.stderr)
        return r

    def api(self, token, method, path, body=None, authorization=None):
        """(status, parsed body) of one call."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", authorization or "Bearer " + token)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=90) as resp:
                text = resp.read()
                return resp.status, (json.loads(text) if text else None)
        except urllib.error.HTTPError as e:
            text = e.read()
            return e.code, (json.loads(text) if text else None)

    def token(self, project, role, *extra):
        args = ["token", "create", "--role", role, "--json", "--name", f"{project}-{role}"]
        if project:
            args += ["--project", project]
        t = json.loads(self.cli(self.operator, *args, *extra).stdout)
        self.assertEqual(t["role"], role)
        self.assertTrue(t["secret"].startswith(t["id"] + "."))
        return t

    def test_two_projects_see_only_their_own_and_roles_refuse_what_they_lack(self):
        op = self.operator
        self.cli(op, "project", "create", "team-a", "--database-quota", "2", "--memory-quota",
                 "1G")
        self.cli(op, "project", "create", "team-b")
        r = self.cli(op, "project", "create", "team-b", code=2)
        self.assertIn("exists", r.stderr)
        a, b = self.token("team-a", "member"), self.token("team-b", "member")
        viewer, admin = self.token("team-a", "viewer"), self.token("team-a", "admin")
        metrics = self.token(None, "metrics")
        # Tokens are kept as hashes: no secret in etcd's answers.
        status, listed = self.api(op, "GET", "/v1/tokens")
        self.assertEqual(status, 200)
        self.assertNotIn(a["secret"], json.dumps(listed))
        self.assertEqual({t["id"] for t in listed} >= {a["id"], b["id"]}, True)
        me = json.loads(self.cli(a["secret"], "whoami", "--json").stdout)
        self.assertEqual((me["id"], me["project"], me["role"]), (a["id"], "team-a", "member"))

        # The same name in both projects; each sees only its own.
        da = json.loads(self.cli(a["secret"], "run", "redis", "--name", "cache", "--memory",
                                 "64M", "--json").stdout)
        db_ = json.loads(self.cli(b["secret"], "run", "redis", "--name", "cache", "--memory",
                                  "64M", "--json").stdout)
        self.assertNotEqual(da["id"], db_["id"])
        self.assertNotEqual(da["address"], db_["address"])  # addresses stay cluster-unique
        self.assertEqual(redis_cli(da["address"], da["password"], "set", "k", "a"), "OK")
        for token, mine, other in ((a, da, db_), (b, db_, da)):
            s = token["secret"]
            listed = json.loads(self.cli(s, "ps", "--json").stdout)
            self.assertEqual([d["id"] for d in listed], [mine["id"]])
            status, got = self.api(s, "GET", "/v1/databases/cache")
            self.assertEqual((status, got["id"]), (200, mine["id"]))
            # Another project's database does not exist for it: 404, not 403.
            for path in (f"/v1/databases/{other['id']}", f"/v1/databases/{other['id']}/usage"):
                status, body = self.api(s, "GET", path)
                self.assertEqual(status, 404, path)
            status, _ = self.api(s, "DELETE", f"/v1/databases/{other['id']}")
            self.assertIn(status, (403, 404))
            events = self.api(s, "GET", "/v1/events?limit=1000")[1]["events"]
            self.assertTrue(events)
            self.assertEqual({e.get("database") for e in events}, {mine["id"]})
        # The engine's own log, from the agent through the server: its owners' (a viewer's
        # too), nobody else's.
        logged = self.cli(a["secret"], "logs", "cache", "--tail", "50").stdout
        self.assertIn("Ready to accept connections", logged)
        self.assertIn("Ready to accept connections",
                      self.cli(viewer["secret"], "logs", "cache").stdout)
        self.assertEqual(self.api(b["secret"], "GET", f"/v1/databases/{da['id']}/logs")[0], 404)
        status, page = self.api(a["secret"], "GET", "/v1/databases/cache/logs?tail=1")
        self.assertEqual((status, len(page["lines"])), (200, 1))
        # Following: only what comes after, as it comes.
        redis_cli(da["address"], da["password"], "bgsave")
        status, later = self.api(a["secret"], "GET",
                                 f"/v1/databases/cache/logs?follow=1&after={page['after']}")
        self.assertEqual(status, 200)
        self.assertTrue(any("save" in line["text"].lower() for line in later["lines"]), later)
        # The agent checks the token itself: its port is open to anyone on the LAN.
        groups = self.api(op, "GET", "/v1/sd/prometheus")[1]
        [agent] = [g["targets"][0] for g in groups if g["labels"].get("berth_role") == "agent"]
        req = urllib.request.Request(f"http://{agent}/v1/logs?database={da['id']}&instance=0")
        with self.assertRaises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(req, timeout=10)
        self.assertEqual(refused.exception.code, 401)
        req.add_header("Authorization", "Bearer " + b["secret"])
        with self.assertRaises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(req, timeout=10)
        self.assertEqual(refused.exception.code, 404)

        # The operator sees both, and narrows with --project.
        everything = json.loads(self.cli(op, "ps", "--json").stdout)
        self.assertEqual({d["id"] for d in everything} >= {da["id"], db_["id"]}, True)
        narrowed = json.loads(self.cli(op, "ps", "--json", "--project", "team-b").stdout)
        self.assertEqual([d["id"] for d in narrowed], [db_["id"]])

        # Backups and tasks: a's are not b's.
        backup = json.loads(self.cli(a["secret"], "backup", "cache", "--json").stdout)
        for path in ("/v1/backups", "/v1/tasks"):
            mine = self.api(a["secret"], "GET", path)[1]
            theirs = self.api(b["secret"], "GET", path)[1]
            self.assertTrue(any(x.get("id") in (backup["id"], backup["task_id"]) for x in mine))
            self.assertFalse(any(x.get("id") in (backup["id"], backup["task_id"]) for x in theirs))
        for path in (f"/v1/backups/{backup['id']}", f"/v1/tasks/{backup['task_id']}",
                     f"/v1/backups/{backup['id']}/data"):
            self.assertEqual(self.api(b["secret"], "GET", path)[0], 404, path)
        status, _ = self.api(b["secret"], "POST", "/v1/databases/cache/restore",
                             {"backup": backup["id"]})
        self.assertEqual(status, 404)  # b cannot restore a's data into its own database

        # Roles: a viewer reads but cannot create; a member cannot delete; cluster endpoints
        # are operators'. Each refusal changes nothing.
        self.assertEqual(self.api(viewer["secret"], "GET", "/v1/databases/cache")[0], 200)
        status, body = self.api(viewer["secret"], "POST", "/v1/databases",
                                {"name": "nope", "engine": "redis", "memory_mb": 64})
        self.assertEqual(status, 403)
        self.assertIn("member", body["error"])
        status, body = self.api(a["secret"], "DELETE", "/v1/databases/cache")
        self.assertEqual(status, 403)
        self.assertIn("admin", body["error"])
        for path in ("/v1/hosts", "/v1/network", "/v1/projects", "/v1/orphans"):
            self.assertEqual(self.api(admin["secret"], "GET", path)[0], 403, path)
        # What engines there are is every user's to read (the UI's create form); their
        # settings are the operators'.
        self.assertEqual(self.api(viewer["secret"], "GET", "/v1/engines")[0], 200)
        status, body = self.api(admin["secret"], "PUT", "/v1/engines/redis", {"image": ""})
        self.assertEqual(status, 403)
        self.assertIn("operator", body["error"])
        self.assertEqual(self.api(a["secret"], "GET", "/v1/tokens")[0], 403)
        names = [d["name"] for d in json.loads(self.cli(op, "ps", "--json").stdout)]
        self.assertNotIn("nope", names)
        self.assertEqual(redis_cli(da["address"], da["password"], "get", "k"), "a")

        # Prometheus' credentials file, sent bare as Debian's Prometheus does, and as Bearer.
        for header in (metrics["secret"], "Bearer " + metrics["secret"]):
            status, _ = self.api(None, "GET", "/v1/sd/prometheus", authorization=header)
            self.assertEqual(status, 200)
        self.assertEqual(self.api(metrics["secret"], "GET", "/v1/databases")[0], 403)
        self.assertEqual(self.api(a["secret"], "GET", "/v1/sd/prometheus")[0], 403)

        # Quotas: team-a may have 2 databases and 1 GiB.
        status, body = self.api(a["secret"], "POST", "/v1/databases",
                                {"name": "big", "engine": "redis", "memory_mb": 2048})
        self.assertEqual(status, 409)
        self.assertIn("memory_quota", body["error"])
        self.assertIn("1024", body["error"])
        self.cli(a["secret"], "run", "redis", "--name", "second", "--memory", "64M")
        status, body = self.api(a["secret"], "POST", "/v1/databases",
                                {"name": "third", "engine": "redis", "memory_mb": 64})
        self.assertEqual(status, 409)
        self.assertIn("database_quota", body["error"])
        status, body = self.api(a["secret"], "PATCH", "/v1/databases/second",
                                {"memory_mb": 1024})
        self.assertEqual(status, 409)
        self.assertIn("memory_quota", body["error"])
        projects = {p["name"]: p for p in self.api(op, "GET", "/v1/projects")[1]}
        self.assertEqual((projects["team-a"]["databases"], projects["team-a"]["memory_mb"]),
                         (2, 128))
        # Creates at once against one place left: the quota holds (checked again at commit).
        self.cli(op, "project", "create", "race", "--database-quota", "1")
        answers = []
        threads = [threading.Thread(target=lambda i=i: answers.append(self.api(
            op, "POST", "/v1/databases?wait=false&project=race",
            {"name": f"r{i}", "engine": "redis", "memory_mb": 32})[0])) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(sorted(answers), [202, 409, 409, 409])
        [raced] = self.api(op, "GET", "/v1/databases?project=race")[1]
        self.assertEqual(self.api(op, "DELETE", f"/v1/databases/{raced['id']}")[0], 204)
        r = self.cli(op, "project", "rm", "team-b", code=2)
        self.assertIn("still has", r.stderr)

        # A project admin manages its own project's tokens only.
        status, t = self.api(admin["secret"], "POST", "/v1/tokens",
                             {"project": "team-a", "role": "viewer", "name": "ci"})
        self.assertEqual(status, 201)
        status, _ = self.api(admin["secret"], "POST", "/v1/tokens",
                             {"project": "team-b", "role": "admin"})
        self.assertEqual(status, 403)
        status, _ = self.api(admin["secret"], "POST", "/v1/tokens", {"role": "operator"})
        self.assertIn(status, (403, 422))
        own = {x["id"] for x in self.api(admin["secret"], "GET", "/v1/tokens")[1]}
        self.assertIn(t["id"], own)
        self.assertNotIn(b["id"], own)
        self.assertEqual(self.api(admin["secret"], "DELETE", f"/v1/tokens/{b['id']}")[0], 404)

        # Revoked: refused on the next call. Expired: refused once its time passes.
        self.cli(admin["secret"], "token", "revoke", a["id"])
        self.assertEqual(self.api(a["secret"], "GET", "/v1/databases")[0], 401)
        short = self.token("team-a", "viewer", "--ttl", "2s")
        wait_until(lambda: self.api(short["secret"], "GET", "/v1/databases")[0] == 401, 10,
                   "the 2 s token to expire")
        status, body = self.api(short["secret"], "GET", "/v1/databases")
        self.assertIn("expired", body["error"])
        self.assertEqual(self.api(b["secret"], "GET", "/v1/databases")[0], 200)

        # The audit log: each change and each refusal, with the token that made it.
        entries = self.api(op, "GET", "/v1/audit")[1]["entries"]
        def has(token_id, method, route, status):
            return any(e["token_id"] == token_id and e["method"] == method and
                       e["route"] == route and e["status"] == status for e in entries)
        self.assertTrue(has(a["id"], "POST", "/v1/databases", 201), entries[-5:])
        self.assertTrue(has(viewer["id"], "POST", "/v1/databases", 403))
        self.assertTrue(has(a["id"], "DELETE", "/v1/databases/{name}", 403))
        self.assertTrue(has(admin["id"], "DELETE", "/v1/tokens/{id}", 204))
        self.assertTrue(has("", "GET", "/v1/databases", 401))  # the revoked token's call
        self.assertFalse(any(e["method"] == "GET" and e["status"] == 200 for e in entries))
        # A project admin reads its project's entries only; a member none.
        own = self.api(admin["secret"], "GET", "/v1/audit")[1]["entries"]
        self.assertTrue(own)
        self.assertEqual({e["project"] for e in own}, {"team-a"})
        self.assertEqual(self.api(b["secret"], "GET", "/v1/audit")[0], 403)
        lines = self.cli(op, "audit", "--json").stdout.splitlines()
        self.assertTrue(any(json.loads(line)["token_id"] == b["id"] for line in lines))

        # Bad input: a clear 422 naming the field, nothing made.
        status, body = self.api(op, "POST", "/v1/tokens", {"project": "team-a", "role": "boss"})
        self.assertEqual(status, 422)
        self.assertIn("role", body["error"])
        r = self.cli(op, "token", "create", "--project", "nosuch", "--role", "viewer", code=2)
        self.assertIn("project", r.stderr)


if __name__ == "__main__":
    unittest.main()
