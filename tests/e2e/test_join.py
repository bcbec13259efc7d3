"""Hosts join with an identity: `berth join-token create` prints a one-time token that pins the
cluster CA; `berth agent --server URL --join-token T --state-dir DIR` joins with it once (a
certificate for its own key, an etcd user of its own, the sealing key, all kept in DIR mode
0600) and starts from DIR afterwards; its /metrics speaks HTTPS. A host without a token, with a
used or expired one, or shown another CA does not get in. `berth hosts rm` removes a host that
is down and revokes its etcd user, so its identity no longer opens etcd.

One lab host (h1) plus h2, which joins; a second API server on the lab's LAN address serves
HTTPS and holds the cluster CA (the lab's etcd CA) and its key.
"""
import hashlib
import json
import os
import ssl
import stat
import subprocess
import time
import urllib.error
import urllib.request

from harness import BERTH, EtcdTls, Process, free_port, wait_until, redis_cli
from lab import GATEWAY, Host, MultiHostLab
import unittest


class JoinTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.lab = MultiHostLab(hosts=1)
        cls.berth = cls.lab.berth
        f = EtcdTls.files()
        cls.ca = f["ca.pem"]
        cls.port = free_port()
        cls.url = f"https://{GATEWAY}:{cls.port}"
        # etcd's certificate names the lab's gateway and is signed by the cluster CA: it serves
        # this server's HTTPS too.
        cls.server = Process([BERTH, "server", "--etcd", cls.lab.etcd.endpoints,
                              *cls.lab.etcd.login_args(), "--listen", f"{GATEWAY}:{cls.port}",
                              "--tls-cert", f["etcd.pem"], "--tls-key", f["etcd-key.pem"],
                              "--cluster-ca", f["ca.pem"], "--cluster-ca-key", f["ca-key.pem"],
                              "--token-file", cls.berth.token_file,
                              "--secret-key-file", cls.berth.key_file,
                              "--backup-dir", cls.berth.backup_dir],
                             os.path.join(cls.lab.workdir, "join-server.log"))
        cls.https = ssl.create_default_context(cafile=cls.ca)
        wait_until(lambda: cls.get("/v1/health")[0] == 200, 20, "the HTTPS server to answer")
        cls.h2 = Host(cls.lab, 2)
        cls.lab.hosts.append(cls.h2)  # torn down with the lab
        cls.agents = []

    @classmethod
    def tearDownClass(cls):
        for a in cls.agents:
            a.stop()
        cls.server.stop()
        cls.lab.close()

    @classmethod
    def get(cls, path):
        try:
            with urllib.request.urlopen(cls.url + path, timeout=5, context=cls.https) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()
        except OSError as e:
            return 0, str(e).encode()

    @classmethod
    def post(cls, path, body):
        request = urllib.request.Request(cls.url + path, data=json.dumps(body).encode(),
                                         method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10, context=cls.https) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def cli(self, *args):
        return self.berth.cli(*args, "--server", self.url, "--ca-cert", self.ca)

    def new_token(self, ttl="1h"):
        r = self.cli("join-token", "create", "--ttl", ttl, "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def agent_argv(self, state_dir, name="h2", token=None):
        argv = [BERTH, "agent", "--server", self.url, "--state-dir", state_dir,
                "--docker-socket", self.h2.dockerd.socket, "--name", name,
                "--advertise", self.h2.address, "--network", "macvlan:eth0",
                "--lease-ttl", "2", "--probe-interval-ms", "200",
                "--backup-dir", self.berth.backup_dir]
        return self.h2.nsenter(argv + (["--join-token", token] if token else []))

    @staticmethod
    def own_env():
        """The environment without the lab's etcd credentials: a joined agent has its own."""
        return {k: v for k, v in os.environ.items() if not k.startswith("BERTH_ETCD_")}

    def refused(self, state_dir, token=None, name="h2"):
        """A start of the agent that must end at once: (exit code, what it said)."""
        r = subprocess.run(self.agent_argv(state_dir, name, token), capture_output=True,
                           text=True, timeout=60, env=self.own_env())
        return r.returncode, r.stdout + r.stderr

    def hosts(self):
        return {h["name"]: h for h in self.berth.api("GET", "/v1/hosts")}

    def etcd_user_exists(self, user):
        return subprocess.run(["etcdctl", "--endpoints", self.lab.etcd.endpoints, "user", "get",
                               user], capture_output=True, timeout=30).returncode == 0

    def test_a_host_joins_once_with_a_token_and_is_removed_with_its_identity(self):
        d = os.path.join(self.h2.dir, "state")

        # Without a token, nothing: no identity in the folder, and the host is not let in.
        code, said = self.refused(d)
        self.assertEqual(code, 2, said)
        self.assertIn("holds no identity", said)

        # A token shown another CA: refused before anything is sent.
        token = self.new_token()
        with open(self.ca) as f:
            self.assertEqual(token["ca_sha256"],
                             hashlib.sha256(ssl.PEM_cert_to_DER_cert(f.read())).hexdigest())
        forged = token["token"][:-64] + hashlib.sha256(b"another CA").hexdigest()
        code, said = self.refused(os.path.join(self.h2.dir, "forged"), forged)
        self.assertNotEqual(code, 0, said)
        self.assertIn("is not the one the join token pins", said)

        # With the token: h2 joins, registers and keeps its identity, readable by root alone.
        agent = Process(self.agent_argv(d, token=token["token"]),
                        os.path.join(self.h2.dir, "agent.log"), env=self.own_env())
        self.agents.append(agent)
        wait_until(lambda: self.hosts().get("h2", {}).get("state") == "alive", 40,
                   lambda: "h2 to join and register; its agent logged:\n" + self.h2.log_tail())
        self.assertEqual(stat.S_IMODE(os.stat(d).st_mode), 0o700)
        kept = sorted(os.listdir(d))
        self.assertEqual(kept, ["ca.pem", "cert.pem", "etcd.password", "identity.json", "key.pem",
                                "secrets.key"])
        for name in kept:
            self.assertEqual(stat.S_IMODE(os.stat(os.path.join(d, name)).st_mode), 0o600, name)
        self.assertTrue(self.etcd_user_exists("agent-h2"))
        self.assertNotIn(token["id"], [t["id"] for t in json.loads(
            self.cli("join-token", "ls", "--json").stdout)])

        # Its /metrics speaks HTTPS with a certificate of the cluster CA, and not plain HTTP.
        groups = self.berth.api("GET", "/v1/sd/prometheus")
        target = next(g for g in groups if g["labels"].get("berth_host") == "h2")
        self.assertEqual(target["labels"].get("__scheme__"), "https")
        address = target["targets"][0]
        with urllib.request.urlopen(f"https://{address}/metrics", timeout=5,
                                    context=self.https) as r:
            self.assertIn(b"berth_", r.read())
        with self.assertRaises(OSError):
            urllib.request.urlopen(f"http://{address}/metrics", timeout=5).read()

        # The used token lets no other host in.
        code, said = self.refused(os.path.join(self.h2.dir, "again"), token["token"], name="h3")
        self.assertNotEqual(code, 0, said)
        self.assertIn("unknown or already used", said)
        self.assertNotIn("h3", self.hosts())

        # A database lands on the joined host and runs: its agent writes what agents write
        # with its own etcd user.
        self.berth.api("POST", "/v1/hosts/h1/drain")
        try:
            db = self.berth.api("POST", "/v1/databases",
                                {"name": "joined", "engine": "redis", "memory_mb": 64})
            self.assertEqual(db["instances"][0]["host"], "h2")
            wait_until(lambda: redis_cli(db["address"], db["password"], "PING") == "PONG", 30,
                       "the database on the joined host to answer")
            # Its log comes through the other server, from the agent's HTTPS listener.
            logs = self.berth.api("GET", "/v1/databases/joined/logs")
            self.assertEqual(logs["host"], "h2")
            self.assertTrue(logs["lines"], logs)
            self.berth.api("DELETE", "/v1/databases/joined")
        finally:
            self.berth.api("POST", "/v1/hosts/h1/undrain")

        # Removing a live host is refused; once it is down, it goes, and its etcd user with it.
        r = self.cli("hosts", "rm", "h2")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("is alive", r.stderr)
        agent.stop()
        wait_until(lambda: self.hosts().get("h2", {}).get("state") != "alive", 20,
                   "h2 to be seen down")
        wait_until(lambda: self.hosts()["h2"].get("instances", 0) == 0, 30, "h2 to run nothing")
        r = self.cli("hosts", "rm", "h2")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("h2: removed; its etcd user is revoked", r.stdout)
        self.assertNotIn("h2", self.hosts())
        self.assertFalse(self.etcd_user_exists("agent-h2"))
        # Its identity opens nothing any more: the agent started from it gives up.
        code, said = self.refused(d)
        self.assertNotEqual(code, 0, said)
        self.assertIn("authentication failed", said)
        self.assertNotIn("h2", self.hosts())

    def test_an_expired_token_is_refused(self):
        token = self.new_token("1s")
        expires = time.mktime(time.strptime(token["expires_at"][:19], "%Y-%m-%dT%H:%M:%S"))
        wait_until(lambda: time.mktime(time.gmtime()) > expires + 1, 10, "the token to expire")
        code, said = self.refused(os.path.join(self.h2.dir, "late"), token["token"], name="h9")
        self.assertNotEqual(code, 0, said)
        self.assertIn("has expired", said)
        self.assertNotIn("h9", self.hosts())
        self.assertFalse(self.etcd_user_exists("agent-h9"))

    def test_bad_requests_are_refused_and_change_nothing(self):
        r = self.cli("join-token", "create", "--ttl", "8d")
        self.assertEqual(r.returncode, 2)
        self.assertIn("ttl:", r.stderr)
        first, second = self.new_token(), self.new_token()
        for body, field in (({"token": "nope", "host": "h5"}, "token:"),
                            ({"token": first["token"], "host": "a/b"}, "host:"),
                            ({"token": second["token"], "host": "h5",
                              "address": "10.77.0.15", "csr": "-----BEGIN CERTIFICATE REQUEST-----"
                              "\nMIIB\n-----END CERTIFICATE REQUEST-----\n"}, "csr:")):
            status, answer = self.post("/v1/join", body)
            self.assertEqual(status, 422, answer)
            self.assertIn(field, json.loads(answer)["error"])
        self.assertNotIn("h5", self.hosts())
        self.assertFalse(self.etcd_user_exists("agent-h5"))
        # A token refused for a bad request is not spent: both are still there.
        live = [t["id"] for t in json.loads(self.cli("join-token", "ls", "--json").stdout)]
        self.assertIn(first["id"], live)
        self.assertIn(second["id"], live)
        r = self.cli("hosts", "rm", "no-such-host")
        self.assertEqual(r.returncode, 2)
        self.assertIn("no host named", r.stderr)
        # Only an operator makes join tokens.
        viewer = self.berth.api("POST", "/v1/tokens", {"role": "viewer", "project": "default"})
        status, _ = self.berth.request("POST", "/v1/join-tokens", {}, token=viewer["secret"])
        self.assertEqual(status, 403)


if __name__ == "__main__":
    unittest.main()
