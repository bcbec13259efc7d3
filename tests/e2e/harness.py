"""Test harness: real etcd, a private dockerd, and the berth binary as server and agent.

Everything a test starts is tracked here and torn down by PID and by name, so a test can run
twice in a row and an interrupted run is cleaned by scripts/cleanup-leftovers.sh.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BERTH = os.path.join(ROOT, os.environ.get("BUILD", "build"), "berth")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, timeout, what="condition", interval=0.02):
    """Polls condition() until it is truthy or the deadline passes; returns its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            what = what() if callable(what) else what
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class Process:
    """A child process in its own session, logged to a file, killed by PID."""

    def __init__(self, argv, log_path, env=None):
        self.argv = argv
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True, env=env)

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, sig)
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            except ProcessLookupError:
                pass
        self.log.close()

    def kill(self):
        self.stop(signal.SIGKILL)


class EtcdTls:
    """The certificates of every etcd the tests start, made once per test process with openssl:
    a CA, etcd's own certificate (client and peer, for 127.0.0.1 and the lab's gateway) and the
    client certificate berth and etcdctl present (no common name: etcd's JSON gateway refuses
    one that has). Every child finds them in the environment (BERTH_ETCD_*, ETCDCTL_*)."""

    _made = None

    @classmethod
    def files(cls):
        if cls._made is None:
            cls._made = cls._make()
        return cls._made

    @staticmethod
    def _make():
        import atexit
        d = tempfile.mkdtemp(prefix="berth-test-etcd-tls-")
        atexit.register(shutil.rmtree, d, True)
        f = {name: os.path.join(d, name) for name in
             ("ca.pem", "ca-key.pem", "etcd.pem", "etcd-key.pem", "client.pem", "client-key.pem")}
        key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        subprocess.run(["openssl", "req", "-x509", *key, "-keyout", f["ca-key.pem"], "-out",
                        f["ca.pem"], "-subj", "/O=berth tests/CN=berth test CA", "-days", "7"],
                       check=True, capture_output=True)
        for name, subject, extensions in (
                ("etcd", "/O=berth tests",
                 "subjectAltName=IP:127.0.0.1,IP:10.77.0.1,DNS:localhost\n"),
                ("client", "/O=berth tests", "")):
            ext = os.path.join(d, name + ".ext")
            with open(ext, "w") as out:
                out.write(extensions + "extendedKeyUsage=serverAuth,clientAuth\n"
                          "keyUsage=critical,digitalSignature,keyEncipherment\n")
            subprocess.run(["openssl", "req", *key, "-keyout", f[f"{name}-key.pem"], "-out",
                            f"{d}/{name}.csr", "-subj", subject], check=True, capture_output=True)
            subprocess.run(["openssl", "x509", "-req", "-in", f"{d}/{name}.csr", "-CA", f["ca.pem"],
                            "-CAkey", f["ca-key.pem"], "-CAcreateserial", "-days", "7",
                            "-extfile", ext, "-out", f[f"{name}.pem"]],
                           check=True, capture_output=True)
        f["dir"] = d
        with open(EtcdTls._password(d, "root")) as password:
            root_password = password.read().strip()
        os.environ.update({"BERTH_ETCD_CA": f["ca.pem"], "BERTH_ETCD_CERT": f["client.pem"],
                           "BERTH_ETCD_KEY": f["client-key.pem"], "ETCDCTL_API": "3",
                           "ETCDCTL_CACERT": f["ca.pem"], "ETCDCTL_CERT": f["client.pem"],
                           "ETCDCTL_KEY": f["client-key.pem"],
                           "ETCDCTL_USER": "root:" + root_password})
        return f

    @staticmethod
    def _password(d, user):
        path = os.path.join(d, user + ".password")
        if not os.path.exists(path):
            with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as out:
                out.write(os.urandom(12).hex() + "\n")
        return path

    @classmethod
    def password_file(cls, user):
        """The file of an etcd user's password (the same in every etcd of this test process)."""
        return cls._password(cls.files()["dir"], user)

    @classmethod
    def server_args(cls, peer=False):
        """etcd's flags: TLS with client certificates on its client port (and its peer port)."""
        f = cls.files()
        args = ["--cert-file", f["etcd.pem"], "--key-file", f["etcd-key.pem"],
                "--client-cert-auth", "--trusted-ca-file", f["ca.pem"]]
        if peer:
            args += ["--peer-cert-file", f["etcd.pem"], "--peer-key-file", f["etcd-key.pem"],
                     "--peer-client-cert-auth", "--peer-trusted-ca-file", f["ca.pem"]]
        return args

    @classmethod
    def client_context(cls):
        import ssl
        f = cls.files()
        context = ssl.create_default_context(cafile=f["ca.pem"])
        context.load_cert_chain(f["client.pem"], f["client-key.pem"])
        return context


class EtcdUsers:
    """etcd's authentication on, as berth's own commands set it up (`berth etcd-auth`): root
    (etcdctl signs in as root through ETCDCTL_USER), a user for the servers and one per agent."""

    def lock(self):
        """Switches authentication on in a new etcd; a restarted one keeps it."""
        if getattr(self, "users", None) is not None:
            return
        subprocess.run([BERTH, "etcd-auth", "enable", "--etcd", self.endpoint,
                        "--root-password-file", EtcdTls.password_file("root")],
                       check=True, capture_output=True, timeout=60)
        self.users = set()

    def login_args(self, agent=None):
        """--etcd-user and --etcd-password-file for a server (agent None) or the agent of host
        `agent`; its etcd user is made, signed in as root, on first use."""
        user = "server" if agent is None else f"agent-{agent}"
        if user not in self.users:
            subprocess.run([BERTH, "etcd-auth", "add-server" if agent is None else "add-agent",
                            "server" if agent is None else agent, "--etcd", self.endpoint,
                            "--password-file", EtcdTls.password_file(user),
                            "--etcd-user", "root",
                            "--etcd-password-file", EtcdTls.password_file("root")],
                           check=True, capture_output=True, timeout=60)
            self.users.add(user)
        return ["--etcd-user", user, "--etcd-password-file", EtcdTls.password_file(user)]


def etcd_healthy(endpoint):
    """Whether the etcd member at endpoint says it is healthy, asked as berth would."""
    try:
        context = EtcdTls.client_context() if endpoint.startswith("https:") else None
        with urllib.request.urlopen(endpoint + "/health", timeout=1, context=context) as r:
            return r.status == 200 and b'"true"' in r.read()
    except OSError:
        return False


class Etcd(EtcdUsers):
    def __init__(self, workdir, plain=False, name="etcd"):
        """plain: no TLS and no authentication (a benchmark's floor, for clients such as wrk
        that cannot present a certificate); otherwise locked as berth runs it."""
        self.dir = os.path.join(workdir, name)
        self.plain = plain
        self.client_port, self.peer_port = free_port(), free_port()
        self.endpoint = f"{'http' if plain else 'https'}://127.0.0.1:{self.client_port}"
        self.proc = None
        self.start()

    def start(self):
        peer = f"http://127.0.0.1:{self.peer_port}"
        tls = [] if self.plain else EtcdTls.server_args()
        self.proc = Process(["etcd", "--name", "test", "--data-dir", self.dir + "/data",
                             "--listen-client-urls", self.endpoint,
                             "--advertise-client-urls", self.endpoint, *tls,
                             "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                             "--initial-cluster", f"test={peer}", "--log-level", "warn"],
                            self.dir + ".log")
        wait_until(self.healthy, 20, "etcd to start")
        if not self.plain:
            self.lock()

    def healthy(self):
        return etcd_healthy(self.endpoint)

    def get_prefix(self, prefix):
        """{key: value} of every key under prefix, read with etcdctl (etcd's own client)."""
        out = subprocess.run(["etcdctl", "--endpoints", self.endpoint, "get", "--prefix", prefix,
                              "-w", "json"], env={**os.environ, "ETCDCTL_API": "3"},
                             capture_output=True, text=True, check=True).stdout
        import base64
        kvs = json.loads(out).get("kvs", [])
        return {base64.b64decode(kv["key"]).decode(): base64.b64decode(kv.get("value", "")).decode()
                for kv in kvs}

    def stop(self):
        if self.proc:
            self.proc.stop()


class Dockerd:
    """A private dockerd in the root namespace; the host reaches its bridge networks directly."""

    def __init__(self, workdir, wrap=None):
        self.dir = os.path.join(workdir, "docker")
        os.makedirs(self.dir, exist_ok=True)
        self.socket = self.dir + "/docker.sock"
        self.wrap = wrap or (lambda argv: argv)  # e.g. nsenter into a host's namespace
        self.proc = None
        self.start()

    def start(self):
        self.proc = Process(self.wrap(["dockerd", "--data-root", self.dir + "/data",
                                       "--exec-root", self.dir + "/exec", "--pidfile",
                                       self.dir + "/docker.pid", "-H", "unix://" + self.socket,
                                       "--bridge=none", "--iptables=false", "--ip-masq=false"]),
                            self.dir + "/dockerd.log")
        wait_until(lambda: self.call("GET", "/_ping") is not None, 30, "dockerd to start")

    def call(self, method, path):
        """One Engine API call over the unix socket; None when the daemon does not answer."""
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.settimeout(10)
                s.connect(self.socket)
                s.sendall(f"{method} /v1.41{path} HTTP/1.0\r\nHost: d\r\n\r\n".encode())
                data = b""
                while chunk := s.recv(65536):
                    data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            status = int(head.split()[1])
            return status, (json.loads(body) if body.strip().startswith((b"{", b"[")) else body)
        except (OSError, ValueError, IndexError):
            return None

    def containers(self, label="berth.instance"):
        q = urllib.request.quote(json.dumps({"label": [label]}))
        status, body = self.call("GET", f"/containers/json?all=true&filters={q}")
        return body

    def volumes(self):
        """The names of the volumes this dockerd keeps."""
        r = self.call("GET", "/volumes")
        return sorted(v["Name"] for v in (r[1].get("Volumes") or [])) if r and r[0] == 200 else []

    def inspect(self, ident):
        r = self.call("GET", f"/containers/{ident}/json")
        return r[1] if r and r[0] == 200 else None

    def stop(self):
        if self.proc and self.proc.alive():
            for c in self.containers() or []:
                self.call("DELETE", f"/containers/{c['Id']}?force=true&v=true")
            self.proc.stop()

    def kill(self):
        self.proc.kill()


class ApiError(Exception):
    def __init__(self, status, body):
        super().__init__(f"HTTP {status}: {body}")
        self.status, self.body = status, body


class Berth:
    """A berth server and one agent (or `berth up`) against the given etcd and dockerd."""

    def __init__(self, workdir, etcd, dockerd, subnet, bridge, server_args=()):
        self.workdir, self.etcd, self.dockerd = workdir, etcd, dockerd
        self.server_args = list(server_args)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token_file = os.path.join(workdir, "admin.token")
        # The key passwords are sealed with in etcd: the server makes it, the agents read it.
        self.key_file = os.path.join(workdir, "secrets.key")
        self.backup_dir = os.path.join(workdir, "backups")  # the store servers and agents share
        self.subnet, self.bridge = subnet, bridge
        self.server = self.agent = None

    def start_server(self, log="server.log"):
        self.server = Process([BERTH, "server", "--etcd", self.etcd.endpoint,
                               *self.etcd.login_args(),
                               "--listen", f"127.0.0.1:{self.port}",
                               "--token-file", self.token_file,
                               "--secret-key-file", self.key_file,
                               "--backup-dir", self.backup_dir, *self.server_args],
                              os.path.join(self.workdir, log))
        wait_until(lambda: self.health(), 20, "berth server to answer")
        with open(self.token_file) as f:
            self.token = f.read().strip()

    def start_agent(self, name="h1"):
        self.agent = Process([BERTH, "agent", "--etcd", self.etcd.endpoint,
                              *self.etcd.login_args(name), "--docker-socket",
                              self.dockerd.socket, "--name", name, "--advertise", "127.0.0.1",
                              "--lease-ttl", "3", "--backup-dir", self.backup_dir,
                              "--secret-key-file", self.key_file,
                              "--metrics-listen", "127.0.0.1:0"],
                             os.path.join(self.workdir, "agent.log"))
        wait_until(lambda: any(h["name"] == name and h["state"] == "alive"
                               for h in self.api("GET", "/v1/hosts")), 20, "agent to register")

    def configure_network(self):
        net = self.subnet.split("/")[0].rsplit(".", 1)[0]
        self.api("PUT", "/v1/network", {"subnet": self.subnet, "gateway": net + ".1",
                                         "driver": "bridge", "docker_network": self.bridge})

    def health(self):
        try:
            with urllib.request.urlopen(self.url + "/v1/health", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def request(self, method, path, body=None, token=None, raw=None, headers=None):
        """(status, parsed JSON or None) of one API call."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers=headers or {})
        tok = self.token if token is None else token
        if tok:
            req.add_header("Authorization", "Bearer " + tok)
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                text = r.read()
                return r.status, (json.loads(text) if text else None)
        except urllib.error.HTTPError as e:
            text = e.read()
            try:
                return e.code, json.loads(text)
            except ValueError:
                return e.code, text

    def api(self, method, path, body=None):
        status, payload = self.request(method, path, body)
        if status >= 400:
            raise ApiError(status, payload)
        return payload

    def cli(self, *args, check=False, env_extra=None):
        env = {**os.environ, "BERTH_SERVER": self.url, "BERTH_TOKEN": self.token,
               "HOME": self.workdir}
        env.update(env_extra or {})
        r = subprocess.run([BERTH, *args], capture_output=True, text=True, env=env, timeout=180)
        if check and r.returncode != 0:
            raise AssertionError(f"berth {' '.join(args)} exited {r.returncode}: {r.stderr}")
        return r

    def stop(self):
        for p in (self.agent, self.server):
            if p:
                p.stop()


def tarantool(script, *args, timeout=120):
    """Runs one of clients/*.lua with the machine's tarantool; its stdout, stripped."""
    clients = os.path.join(os.path.dirname(os.path.abspath(__file__)), "clients")
    r = subprocess.run(["tarantool", os.path.join(clients, script), *map(str, args)],
                       capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise AssertionError(f"{script} failed: {r.stderr}")
    return r.stdout.strip()


# A request a Tarantool database user may make (no Lua): answers "2" once authenticated.
SQL_TWO = "return conn:execute('SELECT 1 + 1').rows[1][1]"


def redis_cli(address, password, *args, port=6379):
    r = subprocess.run(["redis-cli", "--no-auth-warning", "-h", address, "-p", str(port),
                        "-a", password, *args], capture_output=True, text=True, timeout=30)
    return r.stdout.strip()


class Lab:
    """etcd + dockerd + berth server + agent in one temporary folder."""

    def __init__(self, tag, subnet, server_args=()):
        self.workdir = tempfile.mkdtemp(prefix=f"berth-test-{tag}-")
        self.bridge = "bt" + tag[:6] + str(os.getpid() % 10000)
        self.etcd = Etcd(self.workdir)
        self.dockerd = Dockerd(self.workdir)
        self.berth = Berth(self.workdir, self.etcd, self.dockerd, subnet, self.bridge,
                           server_args)
        self.berth.start_server()
        self.berth.configure_network()
        self.berth.start_agent()

    def close(self):
        self.berth.stop()
        self.etcd.stop()
        remove_docker_lab(self.workdir, self.dockerd, self.bridge)


def remove_docker_lab(workdir, dockerd, bridge):
    """Stops dockerd with its containers, deletes its bridge, mounts and the whole folder."""
    dockerd.stop()
    subprocess.run(["ip", "link", "del", bridge], capture_output=True)
    for sub in ("docker/exec", "docker/data"):
        subprocess.run(["umount", "-R", "-l", os.path.join(workdir, sub)], capture_output=True)
    shutil.rmtree(workdir, ignore_errors=True)
