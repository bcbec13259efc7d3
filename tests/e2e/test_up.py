"""`berth up`: the single-machine quickstart (its own etcd, server and agent in one process)."""
import base64
import http.client
import json
import os
import signal
import ssl
import subprocess
import tempfile
import unittest
import urllib.error
import urllib.request


def read(path):
    with open(path) as f:
        return f.read()

from harness import (BERTH, Dockerd, Process, free_port, redis_cli, remove_docker_lab,
                     wait_until)


class UpTest(unittest.TestCase):
    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="berth-test-up-")
        self.dockerd = Dockerd(self.workdir)
        self.state = os.path.join(self.workdir, "state")
        self.port, self.etcd_port = free_port(), free_port()
        self.bridge = f"btup{os.getpid() % 10000}"
        self.env = {**os.environ, "HOME": self.workdir}
        self.up = None

    def tearDown(self):
        if self.up:
            self.up.stop(signal.SIGINT)
        remove_docker_lab(self.workdir, self.dockerd, self.bridge)

    def start_up(self, *extra):
        self.starts = getattr(self, "starts", 0) + 1
        log = os.path.join(self.workdir, f"up{self.starts}.log")
        self.up = Process([BERTH, "up", "--state-dir", self.state,
                           "--listen", f"127.0.0.1:{self.port}",
                           "--etcd-port", str(self.etcd_port),
                           "--docker-socket", self.dockerd.socket,
                           "--subnet", "10.219.0.0/16", "--gateway", "10.219.0.1",
                           "--docker-network", self.bridge, *extra], log, env=self.env)
        wait_until(lambda: "berth is up." in read(log) or not self.up.alive(), 60,
                   "berth up to print its banner")
        self.assertTrue(self.up.alive(), read(log))
        return read(log)

    def cli(self, *args, env=None, code=0):
        r = subprocess.run([BERTH, *args], capture_output=True, text=True, env=env or self.env,
                           timeout=120)
        self.assertEqual(r.returncode, code, r.stderr)
        return r.stdout if code == 0 else r.stderr

    def test_up_tls_serves_https_with_a_ca_of_its_own(self):
        banner = self.start_up("--tls")
        url = f"https://127.0.0.1:{self.port}"
        self.assertIn(url, banner)
        ca = os.path.join(self.state, "tls", "ca.pem")
        self.assertIn(ca, banner)
        for key in ("ca-key.pem", "server-key.pem"):
            mode = os.stat(os.path.join(self.state, "tls", key)).st_mode & 0o777
            self.assertEqual(mode, 0o600, key)
        config = json.loads(read(os.path.join(self.workdir, ".config/berth/config.json")))
        self.assertEqual((config["server"], config["ca_cert"]), (url, ca))
        # The CLI trusts the server through the CA its config names.
        self.assertEqual(json.loads(self.cli("ps", "--json")), [])
        token = config["token"]
        context = ssl.create_default_context(cafile=ca)
        req = urllib.request.Request(url + "/v1/whoami", headers={"Authorization": "Bearer " + token})
        with urllib.request.urlopen(req, context=context, timeout=10) as r:
            self.assertEqual(json.loads(r.read())["role"], "operator")
        # Plain HTTP on the same port gets nothing useful; without the CA the certificate fails.
        with self.assertRaises((OSError, http.client.HTTPException)):
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/v1/health", timeout=5) as r:
                r.read()
        with self.assertRaises(urllib.error.URLError):
            urllib.request.urlopen(url + "/v1/health", context=ssl.create_default_context(),
                                   timeout=5)
        other = os.path.join(self.workdir, "other-ca.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", other + ".key", "-out",
                        other, "-subj", "/CN=stranger", "-days", "1"], check=True,
                       capture_output=True)
        refused = self.cli("ps", "--ca-cert", other, code=1)
        self.assertIn("cannot reach the berth server", refused)
        refused = self.cli("ps", env={**self.env, "BERTH_CACERT": other}, code=1)
        self.assertIn("cannot reach the berth server", refused)
        self.assertIn("no such file", self.cli("ps", "--ca-cert", "/nonexistent.pem", code=2))
        # The UI over HTTPS: it signs in and lists databases through the API.
        from test_ui import Browser
        artifacts = os.path.join(self.workdir, "ui")
        os.makedirs(artifacts)
        browser = Browser(url, artifacts)
        self.addCleanup(browser.close)
        browser.do("open", path=f"/ui/?token={token}", expect="signed-in", shot="https")
        self.assertEqual(browser.do("quit")["page_errors"], [])
        # A restart keeps the CA (clients keep trusting it) and the certificate.
        before = read(ca), read(os.path.join(self.state, "tls", "server.pem"))
        self.up.stop(signal.SIGINT)
        self.start_up("--tls")
        self.assertEqual((read(ca), read(os.path.join(self.state, "tls", "server.pem"))), before)
        self.cli("ps")

    def test_up_etcd_takes_only_clients_with_a_certificate_of_the_cluster_signed_in(self):
        self.start_up()
        tls = os.path.join(self.state, "tls")
        for key in ("etcd-key.pem", "etcd-client-key.pem"):
            self.assertEqual(os.stat(os.path.join(tls, key)).st_mode & 0o777, 0o600, key)
        body = json.dumps({"key": base64.b64encode(b"/berth/config/network").decode()}).encode()
        url = f"https://127.0.0.1:{self.etcd_port}/v3/kv/range"

        def range_with(context, token=None):
            req = urllib.request.Request(url, data=body, method="POST",
                                         headers={"Authorization": token} if token else {})
            with urllib.request.urlopen(req, context=context, timeout=5) as r:
                return json.loads(r.read())
        # berth's own client certificate, signed in as etcd's root user, reads the state...
        trusted = ssl.create_default_context(cafile=os.path.join(tls, "ca.pem"))
        trusted.load_cert_chain(os.path.join(tls, "etcd-client.pem"),
                                os.path.join(tls, "etcd-client-key.pem"))
        root_file = os.path.join(self.state, "etcd-root.password")
        self.assertEqual(os.stat(root_file).st_mode & 0o777, 0o600)
        sign_in = urllib.request.Request(
            f"https://127.0.0.1:{self.etcd_port}/v3/auth/authenticate", method="POST",
            data=json.dumps({"name": "root", "password": read(root_file).strip()}).encode())
        with urllib.request.urlopen(sign_in, context=trusted, timeout=5) as r:
            token = json.loads(r.read())["token"]
        self.assertEqual(len(range_with(trusted, token)["kvs"]), 1)
        # ...the certificate alone does not: etcd's authentication is on.
        with self.assertRaises(urllib.error.HTTPError) as refused:
            range_with(trusted)
        self.assertIn(refused.exception.code, (400, 401, 403))
        # ...and nothing else does: plain HTTP, TLS without a client certificate, or with one
        # a CA of its own signed.
        with self.assertRaises((OSError, http.client.HTTPException)):
            with urllib.request.urlopen(f"http://127.0.0.1:{self.etcd_port}/v3/kv/range",
                                        data=body, timeout=5) as r:
                r.read()
        anonymous = ssl.create_default_context(cafile=os.path.join(tls, "ca.pem"))
        with self.assertRaises((OSError, http.client.HTTPException)):
            range_with(anonymous)
        stranger = os.path.join(self.workdir, "stranger.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", stranger + ".key", "-out",
                        stranger, "-subj", "/O=stranger", "-days", "1"], check=True,
                       capture_output=True)
        forged = ssl.create_default_context(cafile=os.path.join(tls, "ca.pem"))
        forged.load_cert_chain(stranger, stranger + ".key")
        with self.assertRaises((OSError, http.client.HTTPException)):
            range_with(forged)
        r = subprocess.run(["etcdctl", "--endpoints", f"127.0.0.1:{self.etcd_port}",
                            "--dial-timeout", "2s", "--command-timeout", "3s", "get", "--prefix",
                            "/berth/"], capture_output=True, text=True, timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertNotIn("/berth/", r.stdout)

    def test_up_run_restart_finds_everything(self):
        banner = self.start_up()
        token = read(os.path.join(self.state, "admin.token")).strip()
        self.assertIn(token, banner)
        self.assertIn(f"http://127.0.0.1:{self.port}", banner)
        self.assertEqual(os.stat(os.path.join(self.state, "admin.token")).st_mode & 0o777, 0o600)
        # The CLI finds server and token in the config `up` wrote: no flags, no env.
        config = json.loads(read(os.path.join(self.workdir, ".config/berth/config.json")))
        self.assertEqual(config["token"], token)
        db = json.loads(self.cli("run", "redis", "--name", "cache", "--memory", "256M", "--json"))
        self.assertEqual(redis_cli(db["address"], db["password"], "set", "k", "v"), "OK")
        redis_cli(db["address"], db["password"], "bgrewriteaof")

        # Ctrl-C stops it cleanly: the process and its etcd exit.
        self.up.stop(signal.SIGINT)
        self.assertEqual(self.up.proc.returncode, 0)
        etcd_left = subprocess.run(["pgrep", "-f", f"etcd --name berth --data-dir {self.state}"],
                                   capture_output=True, text=True).stdout
        self.assertEqual(etcd_left.strip(), "")

        # The next `berth up` finds the database as it was, with its data.
        self.start_up()
        listed = json.loads(self.cli("ps", "--json"))
        self.assertEqual([d["name"] for d in listed], ["cache"])
        wait_until(lambda: json.loads(self.cli("inspect", "cache"))["state"] == "running", 20,
                   "cache running after restart")
        self.assertEqual(redis_cli(db["address"], db["password"], "get", "k"), "v")
        self.assertEqual(len(self.dockerd.containers()), 1)
        self.cli("rm", "cache")
        self.assertEqual(self.dockerd.containers(), [])


if __name__ == "__main__":
    unittest.main()
