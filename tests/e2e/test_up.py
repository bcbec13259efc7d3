"""`berth up`: the single-machine quickstart (its own etcd, server and agent in one process)."""
import json
import os
import signal
import subprocess
import tempfile
import unittest


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

    def start_up(self):
        self.starts = getattr(self, "starts", 0) + 1
        log = os.path.join(self.workdir, f"up{self.starts}.log")
        self.up = Process([BERTH, "up", "--state-dir", self.state,
                           "--listen", f"127.0.0.1:{self.port}",
                           "--etcd-port", str(self.etcd_port),
                           "--docker-socket", self.dockerd.socket,
                           "--subnet", "10.219.0.0/16", "--gateway", "10.219.0.1",
                           "--docker-network", self.bridge], log, env=self.env)
        wait_until(lambda: "berth is up." in read(log) or not self.up.alive(), 60,
                   "berth up to print its banner")
        self.assertTrue(self.up.alive(), read(log))
        return read(log)

    def cli(self, *args):
        r = subprocess.run([BERTH, *args], capture_output=True, text=True, env=self.env,
                           timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

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
