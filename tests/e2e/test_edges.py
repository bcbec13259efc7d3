"""The server's edges as an unfriendly client meets them: large unauthenticated bodies, crowds of
idle connections, random bytes to the write endpoints, made-up methods, and plain HTTP where
other machines can listen. A real etcd and a real `berth server`; no Docker needed."""
import os
import random
import re
import shutil
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.request

from harness import BERTH, Berth, Etcd, Process, free_port, wait_until


def rss_peak_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1))


def raw_exchange(port, head, body=b"", patience=5):
    """Sends head on a fresh connection and reads until the server closes it (or patience runs
    out); then tries to send body, as a client that does not wait would. Returns the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=patience) as s:
        s.sendall(head)
        out = b""
        try:
            while True:
                piece = s.recv(65536)
                if not piece:
                    break
                out += piece
        except OSError:
            pass
        try:
            s.sendall(body)
        except OSError:
            pass  # refused and closed: the rest of the body has nowhere to go
        return out


class EdgesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="berth-test-edges-")
        cls.etcd = Etcd(cls.workdir)
        cls.berth = Berth(cls.workdir, cls.etcd, None, "10.230.0.0/16", "btedge")
        cls.berth.start_server()

    @classmethod
    def tearDownClass(cls):
        cls.berth.stop()
        cls.etcd.stop()
        shutil.rmtree(cls.workdir, ignore_errors=True)

    def test_a_large_unauthenticated_body_is_refused_at_once_and_costs_no_memory(self):
        pid = self.berth.server.pid
        before = rss_peak_kb(pid)
        body = b"x" * (64 << 20)
        for token in (None, self.berth.token):
            for _ in range(4):
                head = (f"POST /v1/databases HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                        f"\r\nContent-Length: {len(body)}\r\n").encode()
                if token:
                    head += f"Authorization: Bearer {token}\r\n".encode()
                started = time.monotonic()
                # The answer comes before a byte of the body is sent.
                answer = raw_exchange(self.berth.port, head + b"\r\n", body)
                took = time.monotonic() - started
                status = answer.split(b" ", 2)[1] if answer else b""
                # Without a token: 401 on the headers; with one: 413 on the length. Unread.
                self.assertEqual(status, b"413" if token else b"401", answer[:200])
                self.assertLess(took, 1.0)
        after = rss_peak_kb(pid)
        self.assertLess(after - before, 20 * 1024, f"peak RSS grew from {before} to {after} kB")
        # Refused on their headers for want of a token, they still count in the API's metrics.
        with urllib.request.urlopen(self.berth.url + "/metrics", timeout=5) as r:
            counts = [line for line in r.read().decode().splitlines()
                      if line.startswith("berth_api_request_duration_seconds_count")
                      and 'route="/v1/databases"' in line and 'method="POST"' in line]
        self.assertTrue(any('code="401"' in line for line in counts), counts)
        # And so do those refused for their length, unread, by the listener itself.
        self.assertTrue(any('code="413"' in line for line in counts), counts)

    def test_two_thousand_idle_connections_do_not_stop_the_api(self):
        idle = []
        try:
            for _ in range(2000):
                idle.append(socket.create_connection(("127.0.0.1", self.berth.port), timeout=5))
            started = time.monotonic()
            status, hosts = self.berth.request("GET", "/v1/hosts")
            self.assertEqual(status, 200)
            self.assertLess(time.monotonic() - started, 2.0)
            # And again, on new connections, while the crowd is still there.
            for _ in range(20):
                self.assertEqual(self.berth.request("GET", "/v1/health")[0], 200)
        finally:
            for s in idle:
                s.close()

    def test_random_bytes_to_the_write_endpoints_never_get_a_500(self):
        rng = random.Random(1234)
        paths = [("POST", "/v1/databases"), ("PATCH", "/v1/databases/nope"),
                 ("POST", "/v1/databases/nope/backups"), ("POST", "/v1/databases/nope/restore"),
                 ("POST", "/v1/backups/nope/restore"), ("PUT", "/v1/network"),
                 ("PUT", "/v1/engines/redis"), ("POST", "/v1/projects"),
                 ("PATCH", "/v1/projects/default"), ("POST", "/v1/tokens"),
                 ("POST", "/v1/hosts/nope/drain")]
        samples = [b"", b"{", b"\xff\xfe\xfd", b'{"name":"\xff\xfe"}', b'{"name":"a\xc3"}',
                   b"[]", b"null", b'{"engine":"redis","name":"\xed\xa0\x80"}', b"\x00" * 10]
        statuses = {}
        for i in range(1500):
            method, path = paths[i % len(paths)]
            if i < len(samples) * len(paths):
                data = samples[i // len(paths)]
            else:
                data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
            status, payload = self.berth.request(method, path, raw=data)
            statuses[status] = statuses.get(status, 0) + 1
            self.assertLess(status, 500, f"{method} {path} {data!r}: {status} {payload!r}")
            self.assertIsInstance(payload, dict, f"{method} {path} {data!r}: {payload!r}")
            self.assertIn("error", payload)
        # Random paths and query strings with bytes that are not UTF-8 as well.
        for _ in range(200):
            junk = "".join(rng.choice("%ff%c3abc/?=&") for _ in range(rng.randrange(1, 30)))
            status, payload = self.berth.request("GET", "/v1/" + junk)
            self.assertLess(status, 500, f"GET /v1/{junk}: {status} {payload!r}")
        self.assertGreater(len(statuses), 1)  # some 400, some 404/422: not one blanket answer

    def test_a_made_up_method_does_not_become_a_metric_label(self):
        for method in ("BREW", "PROPFIND", "X" * 40):
            answer = raw_exchange(self.berth.port,
                                  f"{method} /v1/hosts HTTP/1.1\r\nHost: x\r\n"
                                  f"Authorization: Bearer {self.berth.token}\r\n"
                                  f"Connection: close\r\n\r\n".encode())
            self.assertIn(answer.split(b" ", 2)[1], (b"400", b"405"), answer[:200])
        with urllib.request.urlopen(self.berth.url + "/metrics", timeout=5) as r:
            metrics = r.read().decode()
        self.assertNotIn("BREW", metrics)
        self.assertNotIn("XXXXXXXX", metrics)
        self.assertIn('method="other"', metrics)

    def test_plain_http_off_loopback_is_refused_unless_forced(self):
        port = free_port()
        argv = [BERTH, "server", "--etcd", self.etcd.endpoint, *self.etcd.login_args(),
                "--listen", f"0.0.0.0:{port}",
                "--token-file", os.path.join(self.workdir, "other.token"),
                "--secret-key-file", self.berth.key_file,
                "--backup-dir", os.path.join(self.workdir, "backups")]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--insecure-http", r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        forced = Process(argv + ["--insecure-http"], os.path.join(self.workdir, "forced.log"))
        try:
            def answers():
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/health",
                                                timeout=2) as h:
                        return h.status == 200
                except OSError:
                    return False
            wait_until(answers, 20, "the forced plain-HTTP server to answer")
        finally:
            forced.stop()


if __name__ == "__main__":
    unittest.main()
