"""Monitoring end to end: Debian's real Prometheus finds berth's server and agent through
/v1/sd/prometheus (with the admin token), scrapes their /metrics and answers queries about a
real Redis database."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import unittest
import urllib.error
import urllib.parse
import urllib.request

from harness import (BERTH, ROOT, Dockerd, Lab, Process, free_port, redis_cli,
                     remove_docker_lab, wait_until)

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


def read(path):
    with open(path) as f:
        return f.read()


def http_get(url, token=None, timeout=5):
    """(status, content type, body text) of one GET."""
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode()
    except OSError:
        return None, "", ""  # not listening (yet)


def parse_exposition(text):
    """{(name, frozenset(labels)): value} of a text-format body; fails on a malformed line."""
    samples, typed = {}, set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            typed.add(line.split()[2])
            continue
        if line.startswith("#") or not line:
            continue
        head, _, value = line.rpartition(" ")
        name, labels = head, {}
        if "{" in head:
            name, rest = head.split("{", 1)
            assert rest.endswith("}"), line
            for pair in filter(None, _split_labels(rest[:-1])):
                key, _, quoted = pair.partition("=")
                assert quoted.startswith('"') and quoted.endswith('"'), line
                labels[key] = quoted[1:-1]
        family = name
        for suffix in ("_bucket", "_sum", "_count"):
            if family not in typed and family.endswith(suffix):
                family = family[:-len(suffix)]
        assert family in typed, f"no TYPE line before {line!r}"
        float(value.replace("Inf", "inf"))
        key = (name, frozenset(labels.items()))
        assert key not in samples, f"series twice: {line!r}"
        samples[key] = float(value.replace("Inf", "inf"))
    return samples


def _split_labels(s):
    out, cur, quoted, escaped = [], "", False, False
    for ch in s:
        if escaped:
            cur, escaped = cur + ch, False
        elif ch == "\\":
            cur, escaped = cur + ch, True
        elif ch == '"':
            cur, quoted = cur + ch, not quoted
        elif ch == "," and not quoted:
            out, cur = out + [cur], ""
        else:
            cur += ch
    return out + [cur]


class Prometheus:
    """Debian's prometheus as a child process with its own config, storage and port."""

    def __init__(self, workdir, server_url, token_file):
        self.dir = os.path.join(workdir, "prometheus")
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # docs/prometheus.yml as it is, pointed at this lab and made fast.
        with open(os.path.join(ROOT, "docs", "prometheus.yml")) as f:
            text = f.read()
        for old, new in (("http://127.0.0.1:7070", server_url),
                         ("/etc/prometheus/berth.token", token_file),
                         ("scrape_interval: 15s", "scrape_interval: 1s"),
                         ("evaluation_interval: 15s", "evaluation_interval: 1s"),
                         ("refresh_interval: 30s", "refresh_interval: 1s")):
            assert old in text, f"docs/prometheus.yml no longer has {old!r}"
            text = text.replace(old, new)
        config = os.path.join(self.dir, "prometheus.yml")
        with open(config, "w") as f:
            f.write(text)
        self.proc = Process([PROMETHEUS, "--config.file", config,
                             "--storage.tsdb.path", os.path.join(self.dir, "data"),
                             "--web.listen-address", f"127.0.0.1:{self.port}",
                             "--log.level", "warn"],
                            os.path.join(self.dir, "prometheus.log"))
        try:
            wait_until(lambda: not self.proc.alive() or
                       http_get(self.url + "/-/ready")[0] == 200, 60, "prometheus to be ready")
            if not self.proc.alive():
                raise AssertionError("prometheus exited: " + read(self.proc.log_path)[-2000:])
        except BaseException:
            self.close()
            raise

    def query(self, promql):
        """The result vector of an instant query: [(labels, value)]."""
        status, _, body = http_get(self.url + "/api/v1/query?" +
                                   urllib.parse.urlencode({"query": promql}))
        if status != 200:
            return []
        return [(r["metric"], float(r["value"][1])) for r in json.loads(body)["data"]["result"]]

    def targets(self):
        status, _, body = http_get(self.url + "/api/v1/targets")
        return json.loads(body)["data"]["activeTargets"] if status == 200 else []

    def close(self):
        self.proc.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class MonitoringTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Installed by scripts/install-deps.sh: a machine without it fails here, loudly, rather
        # than passing with nothing monitored.
        assert os.path.exists(PROMETHEUS), f"{PROMETHEUS} is missing: run scripts/install-deps.sh"
        cls.lab = Lab("mon", "10.217.0.0/16")
        cls.berth = cls.lab.berth
        try:
            cls.prometheus = Prometheus(cls.lab.workdir, cls.berth.url, cls.berth.token_file)
        except BaseException:
            cls.lab.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.prometheus.close()
        cls.lab.close()

    def sd_groups(self):
        status, payload = self.berth.request("GET", "/v1/sd/prometheus")
        self.assertEqual(status, 200, payload)
        return payload

    def agent_target(self):
        groups = [g for g in self.sd_groups() if g["labels"].get("berth_role") == "agent"]
        self.assertEqual(len(groups), 1, groups)
        return groups[0]["targets"][0]

    def test_service_discovery_lists_the_agent_and_the_server_and_needs_the_token(self):
        groups = self.sd_groups()
        agents = [g for g in groups if g["labels"]["berth_role"] == "agent"]
        servers = [g for g in groups if g["labels"]["berth_role"] == "server"]
        self.assertEqual(len(agents), 1, groups)
        self.assertEqual(agents[0]["labels"]["berth_host"], "h1")
        self.assertRegex(agents[0]["targets"][0], r"^127\.0\.0\.1:\d+$")
        self.assertEqual([s["targets"] for s in servers], [[f"127.0.0.1:{self.berth.port}"]])
        self.assertEqual(self.berth.request("GET", "/v1/sd/prometheus", token="")[0], 401)

    def test_both_metrics_endpoints_answer_in_the_text_format_without_a_token(self):
        for url in (self.berth.url + "/metrics", f"http://{self.agent_target()}/metrics"):
            status, content_type, body = http_get(url)
            self.assertEqual(status, 200, url)
            self.assertTrue(content_type.startswith("text/plain; version=0.0.4"), content_type)
            samples = parse_exposition(body)
            self.assertTrue(samples, url)
            # Prometheus's own checker (parser and naming lint) finds nothing to say.
            check = subprocess.run([PROMTOOL, "check", "metrics"], input=body,
                                   capture_output=True, text=True, timeout=30)
            self.assertEqual((check.returncode, check.stdout + check.stderr), (0, ""), url)
        server = parse_exposition(http_get(self.berth.url + "/metrics")[2])
        names = {name for name, _ in server}
        for name in ("berth_databases", "berth_instances", "berth_host_up", "berth_tasks",
                     "berth_host_memory_capacity_bytes", "berth_etcd_request_duration_seconds_count",
                     "berth_failovers_total", "berth_failover_duration_seconds_count"):
            self.assertIn(name, names)
        self.assertEqual(server[("berth_host_up", frozenset({"host": "h1", "state": "alive"}.items()))],
                         1)
        self.assertEqual(server[("berth_failovers_total", frozenset())], 0)  # one host: none
        agent = parse_exposition(http_get(f"http://{self.agent_target()}/metrics")[2])
        self.assertIn("berth_docker_request_duration_seconds_count", {n for n, _ in agent})
        # The agent listens for /metrics only.
        self.assertEqual(http_get(f"http://{self.agent_target()}/v1/databases")[0], 404)

    def test_prometheus_scrapes_the_agent_and_the_server(self):
        def both_up():
            up = {r[0].get("berth_role"): r[1] for r in self.prometheus.query('up{job="berth"}')}
            return up if up.get("agent") == 1 and up.get("server") == 1 else None
        wait_until(both_up, 60, lambda: f"both targets up: {self.prometheus.targets()}")
        etcd = self.prometheus.query('berth_etcd_request_duration_seconds_count{berth_role="server"}')
        self.assertTrue(any(labels.get("op") == "txn" for labels, _ in etcd), etcd)
        docker = self.prometheus.query('berth_docker_request_duration_seconds_count')
        self.assertTrue(any(labels.get("berth_role") == "agent" for labels, _ in docker), docker)

    def test_memory_of_a_redis_database_reaches_prometheus(self):
        status, db = self.berth.request("POST", "/v1/databases",
                                        {"name": "mon-cache", "engine": "redis", "memory_mb": 64})
        self.assertEqual(status, 201, db)
        try:
            for i in range(50):
                self.assertEqual(redis_cli(db["address"], db["password"], "set", f"key{i}",
                                           "x" * 2000), "OK")
            query = 'berth_instance_memory_used_bytes{database="mon-cache"}'

            def reported():
                found = [r for r in self.prometheus.query(query) if r[1] > 0]
                return found if {r[0]["berth_role"] for r in found} == {"agent", "server"} else None
            found = wait_until(reported, 60, f"{query} > 0 from the agent and the server")
            for labels, value in found:
                self.assertEqual(labels["database_id"], db["id"])
                self.assertEqual(labels["host"], "h1")
                self.assertEqual(labels["engine"], "redis")
                self.assertEqual(labels["role"], "primary")
                # Prometheus keeps `instance` for the scrape target and renames berth's.
                self.assertEqual(labels["exported_instance"], "0")
                self.assertGreater(value, 100_000)
            limit = self.prometheus.query('berth_instance_memory_limit_bytes{database="mon-cache"}')
            self.assertTrue(limit and all(v == 64 * 1024 * 1024 for _, v in limit), limit)
            wait_until(lambda: self.prometheus.query(
                'berth_databases{state="running",berth_role="server"} >= 1'), 30,
                "berth_databases to count the database as running")
        finally:
            self.assertEqual(self.berth.request("DELETE", "/v1/databases/mon-cache")[0], 204)

    def test_api_latency_is_recorded_by_route_pattern(self):
        self.berth.api("GET", "/v1/databases")
        self.berth.request("GET", "/v1/databases/no-such-database")

        def routes():
            found = self.prometheus.query('berth_api_request_duration_seconds_count')
            seen = {(r[0].get("route"), r[0].get("code")) for r in found}
            return seen if ("/v1/databases", "200") in seen and \
                ("/v1/databases/{name}", "404") in seen else None
        seen = wait_until(routes, 60, "API request counts by route in Prometheus")
        # Never a raw path.
        self.assertFalse([r for r, _ in seen if "no-such-database" in (r or "")], seen)


class UpMonitoringTest(unittest.TestCase):
    """`berth up` (server and agent in one process) serves both /metrics and lists both."""

    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="berth-test-monup-")
        self.dockerd = Dockerd(self.workdir)
        self.bridge = f"btmonup{os.getpid() % 10000}"
        self.up = None

    def tearDown(self):
        if self.up:
            self.up.stop(signal.SIGINT)
        remove_docker_lab(self.workdir, self.dockerd, self.bridge)

    def test_up_exports_metrics_and_lists_its_server_and_agent(self):
        state = os.path.join(self.workdir, "state")
        port, metrics_port = free_port(), free_port()
        log = os.path.join(self.workdir, "up.log")
        self.up = Process([BERTH, "up", "--state-dir", state, "--listen", f"127.0.0.1:{port}",
                           "--etcd-port", str(free_port()), "--docker-socket", self.dockerd.socket,
                           "--subnet", "10.217.0.0/16", "--gateway", "10.217.0.1",
                           "--docker-network", self.bridge,
                           "--metrics-listen", f"127.0.0.1:{metrics_port}"],
                          log, env={**os.environ, "HOME": self.workdir})
        wait_until(lambda: not self.up.alive() or "berth is up." in read(log), 60,
                   "berth up to print its banner")
        self.assertTrue(self.up.alive(), read(log))
        with open(os.path.join(state, "admin.token")) as f:
            token = f.read().strip()

        def listed():
            status, _, body = http_get(f"http://127.0.0.1:{port}/v1/sd/prometheus", token=token)
            groups = json.loads(body) if status == 200 else []
            return sorted((g["labels"]["berth_role"], g["targets"][0]) for g in groups)
        wait_until(lambda: listed() == [("agent", f"127.0.0.1:{metrics_port}"),
                                        ("server", f"127.0.0.1:{port}")], 20,
                   lambda: f"both in service discovery: {listed()}")
        for url in (f"http://127.0.0.1:{port}/metrics", f"http://127.0.0.1:{metrics_port}/metrics"):
            status, _, body = http_get(url)
            self.assertEqual(status, 200, url)
            self.assertIn("berth_etcd_request_duration_seconds_count", body)
        self.up.stop(signal.SIGINT)
        self.assertEqual(self.up.proc.returncode, 0, read(log)[-2000:])


if __name__ == "__main__":
    unittest.main()
