"""Sealed secrets: a database's password is nowhere an operator's tools show it by accident —
not in etcd's data files, `docker inspect`, `ps` or any log — and still opens the database.
Real etcd, dockerd, server, agent and engines."""
import glob
import json
import os
import subprocess
import unittest

from harness import BERTH, SQL_TWO, Lab, Process, redis_cli, tarantool, wait_until
from test_engines import MemcachedBinary


def files_holding(paths, needle):
    """The files among paths whose bytes contain needle."""
    found = []
    for path in paths:
        try:
            with open(path, "rb") as f:
                if needle in f.read():
                    found.append(path)
        except OSError:
            pass
    return found


class SecretsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lab = Lab("secrets", "10.231.0.0/16")
        cls.berth, cls.dockerd = cls.lab.berth, cls.lab.dockerd

    @classmethod
    def tearDownClass(cls):
        cls.lab.close()

    def test_three_engines_hide_their_passwords_and_run_hardened(self):
        """No password in docker inspect, ps, a log or etcd's files; every container without
        capabilities, privilege gain or unbounded processes; and each engine works so."""
        made = {}
        secret_file = os.path.join(self.lab.workdir, "password.txt")
        for engine, name, password in (("redis", "sealed-redis", "Red1s-Pa55-sealed-x"),
                                       ("tarantool", "sealed-tnt", "Tnt-Pa55-sealed-yy"),
                                       ("memcached", "sealed-mc", "Mc-Pa55-sealed-zzz")):
            # The CLI takes it from a file or stdin, never its own command line.
            with open(secret_file, "w") as f:
                f.write(password + "\n")
            r = self.berth.cli("run", engine, "--name", name, "--memory", "128M",
                               "--password-file", secret_file, "--json")
            os.unlink(secret_file)
            self.assertEqual(r.returncode, 0, r.stderr)
            made[engine] = json.loads(r.stdout)
            self.assertEqual(made[engine]["password"], password)  # shown once, at creation
        redis, tnt, mc = made["redis"], made["tarantool"], made["memcached"]
        wait_until(lambda: redis_cli(redis["address"], redis["password"], "set", "k", "v") == "OK",
                   30, "redis to take a write with its password")
        uri = f"berth:{tnt['password']}@{tnt['address']}:3301"
        wait_until(lambda: tarantool("tarantool_do.lua", uri, SQL_TWO) == "2", 60,
                   "tarantool to answer with its password")
        wrong = f"berth:not-the-password@{tnt['address']}:3301"
        with self.assertRaises(AssertionError):  # refused at the connection's authentication
            tarantool("tarantool_do.lua", wrong, SQL_TWO)

        def memcached_auth(password):
            return MemcachedBinary.auth_once(mc["address"], "berth", password)
        wait_until(lambda: memcached_auth(mc["password"]) == 0, 30, "memcached SASL with it")
        self.assertNotEqual(memcached_auth("not-the-password"), 0)

        passwords = [d["password"].encode() for d in made.values()]
        # The same containers run with every capability dropped, no setuid gain, bounded pids.
        for c in self.dockerd.containers():
            host = self.dockerd.inspect(c["Id"])["HostConfig"]
            self.assertEqual(host["CapDrop"], ["ALL"], c["Names"])
            self.assertIn("no-new-privileges:true", host["SecurityOpt"], c["Names"])
            self.assertGreater(host["PidsLimit"] or 0, 0, c["Names"])
            # Not root, and nothing writable but its volumes (its data, its secrets).
            seen = self.dockerd.inspect(c["Id"])
            self.assertTrue(host["ReadonlyRootfs"], c["Names"])
            self.assertEqual(seen["Config"]["User"], "10001:10001", c["Names"])
            with open(f"/proc/{seen['State']['Pid']}/status") as f:
                uids = next(line for line in f if line.startswith("Uid:")).split()[1:]
            self.assertEqual(set(uids), {"10001"}, c["Names"])
        # The Tarantool user is a database user, not super: SQL and data, no Lua, no grants.
        self.assertEqual(tarantool(
            "tarantool_do.lua", uri,
            "conn:execute('CREATE TABLE \"t\" (\"id\" UNSIGNED PRIMARY KEY, \"v\" SCALAR)') "
            "conn:ping() conn.space.t:insert{1, 'one'} "
            "return conn:execute('SELECT \"v\" FROM \"t\"').rows[1][1]"), "one")
        for lua in ("return require('socket').tcp_connect('10.0.0.1', 2379, 0.5)",
                    "return io.open('/run/berth/password'):read('*a')"):
            self.assertIn("Execute access to universe", tarantool("tarantool_eval.lua", uri, lua))
        for call in ("'box.schema.user.grant', {'berth', 'super'}",
                     "'box.schema.user.passwd', {'admin', 'x'}", "'box.snapshot'"):
            self.assertIn("denied", tarantool("tarantool_do.lua", uri, f"return conn:call({call})"))
        self.assertIn("Grant access to universe", tarantool(
            "tarantool_do.lua", uri, "local id = conn.space._user.index.name:get{'berth'}[1] "
            "return conn.space._priv:update({id, 'universe', 0}, {{'=', 5, 4294967295}})"))
        # docker inspect: command, arguments, environment, labels, everything it shows.
        for c in self.dockerd.containers():
            shown = json.dumps(self.dockerd.inspect(c["Id"])).encode()
            for p in passwords:
                self.assertNotIn(p, shown, c["Names"])
        # Every process's command line on this machine (the engines' included).
        ps = subprocess.run(["ps", "-eo", "args"], capture_output=True).stdout
        for p in passwords:
            self.assertNotIn(p, ps)
        # etcd's data files (its database and write-ahead log), after a snapshot-worthy moment.
        etcd_files = glob.glob(os.path.join(self.lab.etcd.dir, "**", "*"), recursive=True)
        self.assertTrue(any(f.endswith(".wal") for f in etcd_files), etcd_files)
        stored = self.lab.etcd.get_prefix("/berth/databases/")
        self.assertTrue(all("sealed:v1:" in v for v in stored.values() if '"password":""' not in v))
        for p in passwords:
            self.assertEqual(files_holding(etcd_files, p), [])
        # The logs: server, agent, etcd, dockerd, and each container's own.
        logs = glob.glob(os.path.join(self.lab.workdir, "*.log"))
        self.assertGreaterEqual(len(logs), 3, logs)
        for p in passwords:
            self.assertEqual(files_holding(logs, p), [])
        for c in self.dockerd.containers():
            answer = self.dockerd.call("GET", f"/containers/{c['Id']}/logs?stdout=1&stderr=1")
            self.assertIsNotNone(answer)
            out = answer[1]
            for p in passwords:
                self.assertNotIn(p, out if isinstance(out, bytes) else json.dumps(out).encode())

    def test_a_password_from_stdin_and_bad_password_input(self):
        env = {**os.environ, "BERTH_SERVER": self.berth.url, "BERTH_TOKEN": self.berth.token,
               "HOME": self.lab.workdir}
        r = subprocess.run([BERTH, "run", "redis", "--name", "from-stdin", "--memory", "64M",
                            "--password-file", "-", "--json"], input="Std1n-Pa55word\n",
                           capture_output=True, text=True, env=env, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        db = json.loads(r.stdout)
        self.assertEqual(db["password"], "Std1n-Pa55word")
        self.assertEqual(redis_cli(db["address"], "Std1n-Pa55word", "ping"), "PONG")
        for argv, words in ((["--password-file", "/nonexistent"], "cannot read"),
                            (["--password-file", "-", "--password", "Other-Pa55word"],
                             "not with --password")):
            r = subprocess.run([BERTH, "run", "redis", "--name", "refused", *argv],
                               input="", capture_output=True, text=True, env=env, timeout=60)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn(words, r.stderr)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertEqual(self.berth.request("GET", "/v1/databases/refused")[0], 404)
        self.assertEqual(self.berth.request("DELETE", "/v1/databases/from-stdin")[0], 204)

    def test_an_agent_without_the_key_file_refuses_to_start(self):
        # A database makes sure etcd names its sealing key (the server names it at start).
        log = os.path.join(self.lab.workdir, "keyless-agent.log")
        keyless = Process([BERTH, "agent", "--etcd", self.lab.etcd.endpoint,
                           *self.lab.etcd.login_args("keyless"), "--docker-socket",
                           self.dockerd.socket, "--name", "keyless", "--advertise", "127.0.0.1",
                           "--backup-dir", self.berth.backup_dir,
                           "--secret-key-file", os.path.join(self.lab.workdir, "none.key"),
                           "--metrics-listen", "127.0.0.1:0"], log)
        try:
            wait_until(lambda: not keyless.alive(), 30, "the keyless agent to give up")
            self.assertNotEqual(keyless.proc.returncode, 0)
            with open(log) as f:
                text = f.read()
            self.assertIn("--secret-key-file", text)
            hosts = [h["name"] for h in self.berth.api("GET", "/v1/hosts")]
            self.assertNotIn("keyless", hosts)
        finally:
            keyless.stop()


if __name__ == "__main__":
    unittest.main()
