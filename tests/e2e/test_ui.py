"""The web UI at /ui/, used as an administrator would: Debian's Chromium, driven by
playwright-core (tests/web/ui_driver.mjs), against a real berth with etcd, dockerd and Redis.
The UI does the work; the API and Docker say whether it was done. Screenshots of every step
go to $BERTH_ARTIFACTS (default: test-artifacts/ui/ in the worktree)."""
import glob
import json
import os
import queue
import subprocess
import threading
import unittest
import urllib.error
import urllib.request

from harness import ROOT, Lab

MiB = 1024 * 1024
WEB = os.path.join(ROOT, "tests", "web")
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = os.environ.get("BERTH_ARTIFACTS", os.path.join(ROOT, "test-artifacts", "ui"))


class Browser:
    """The driver process: one JSON step out, one JSON answer back, each with a deadline."""

    def __init__(self, url, artifacts):
        self.log = open(os.path.join(artifacts, "driver.log"), "w")
        self.proc = subprocess.Popen(["node", os.path.join(WEB, "ui_driver.mjs")],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log, text=True, cwd=WEB,
                                     env={**os.environ, "BERTH_URL": url,
                                          "BERTH_ARTIFACTS": artifacts})
        self.answers = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.version = self._answer("start the browser", 60)["browser"]

    def _read(self):
        for line in self.proc.stdout:
            self.answers.put(line)
        self.answers.put(None)

    def _answer(self, what, timeout):
        try:
            line = self.answers.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"the UI driver did not {what} within {timeout}s")
        if line is None:
            raise AssertionError(f"the UI driver exited during: {what} (see {self.log.name})")
        answer = json.loads(line)
        if not answer["ok"]:
            raise AssertionError(f"UI step {what} failed: {answer['error']} "
                                 f"(screenshot: {answer.get('screenshot')})")
        return answer

    def do(self, step, timeout=150, **args):
        self.proc.stdin.write(json.dumps({"step": step, **args}) + "\n")
        self.proc.stdin.flush()
        return self._answer(step, timeout)

    def close(self):
        if self.proc.poll() is None:
            try:
                self.do("quit", timeout=20)
                self.proc.wait(timeout=20)
            except (AssertionError, OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.reader.join(timeout=10)  # it ends at the driver's end of output
        for pipe in (self.proc.stdin, self.proc.stdout):
            try:
                pipe.close()
            except OSError:
                pass
        self.log.close()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class UiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        missing = [p for p in (CHROMIUM, os.path.join(WEB, "node_modules", "playwright-core"))
                   if not os.path.exists(p)]
        if missing:
            raise AssertionError(f"missing {', '.join(missing)}: run scripts/install-deps.sh")
        os.makedirs(ARTIFACTS, exist_ok=True)
        for old in glob.glob(os.path.join(ARTIFACTS, "*.png")):
            os.remove(old)
        print(f"\nUI screenshots: {ARTIFACTS}", flush=True)
        cls.lab = Lab("ui", "10.216.0.0/16")
        cls.berth, cls.dockerd = cls.lab.berth, cls.lab.dockerd

    @classmethod
    def tearDownClass(cls):
        cls.lab.close()

    def get(self, path):
        """(status, headers, body) of a GET with no token, following no redirect."""
        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(self.berth.url + path, timeout=10) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def test_files_are_public_and_typed(self):
        status, headers, body = self.get("/ui?token=abc")
        self.assertEqual(status, 301)
        self.assertEqual(headers["Location"], "/ui/?token=abc")
        status, headers, body = self.get("/ui/")
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], "text/html; charset=utf-8")
        self.assertIn(b'<script type="module" src="app.js">', body)
        for name, kind in (("app.js", "text/javascript"), ("app.css", "text/css")):
            status, headers, body = self.get("/ui/" + name)
            self.assertEqual((status, headers["Content-Type"]), (200, kind + "; charset=utf-8"))
            self.assertGreater(len(body), 1000)
        status, headers, body = self.get("/ui/nope.js")
        self.assertEqual(status, 404)
        self.assertEqual(json.loads(body), {"error": "no such file: /ui/nope.js"})
        # The data stays behind the token.
        self.assertEqual(self.get("/v1/databases")[0], 401)

    def api_error(self, method, path, body=None, token=None):
        status, answer = self.berth.request(method, path, body, token=token)
        self.assertGreaterEqual(status, 400, answer)
        return answer["error"]

    def test_a_project_admin_sees_its_project_and_makes_a_token(self):
        status, _ = self.berth.request("POST", "/v1/projects", {"name": "uiteam"})
        self.assertEqual(status, 201)
        status, theirs = self.berth.request("POST", "/v1/databases?wait=false",
                                            {"name": "operators-own", "engine": "redis",
                                             "memory_mb": 64})
        self.assertIn(status, (201, 202))
        status, admin = self.berth.request("POST", "/v1/tokens",
                                           {"project": "uiteam", "role": "admin", "name": "ui"})
        self.assertEqual(status, 201)
        browser = Browser(self.berth.url, ARTIFACTS)
        self.addCleanup(browser.close)
        browser.do("open", path=f"/ui/?token={admin['secret']}", expect="signed-in",
                   shot="project-admin")
        nav = browser.do("nav")
        # Its project's pages and the tokens page; no cluster pages, no project selector.
        self.assertEqual(nav["links"], ["Databases", "Tasks", "Events", "Tokens"])
        self.assertIn("uiteam", nav["who"])
        self.assertFalse(nav["selector"])
        listed = browser.do("visit", page="Databases")
        self.assertNotIn("operators-own", listed["text"])
        made = browser.do("create_token", role="viewer", name="from-the-ui")
        status, me = self.berth.request("GET", "/v1/whoami", token=made["secret"])
        self.assertEqual((status, me["project"], me["role"]), (200, "uiteam", "viewer"))
        self.assertEqual(browser.do("quit")["page_errors"], [])
        self.assertEqual(self.berth.request("DELETE", "/v1/databases/operators-own")[0], 204)

    def test_an_administrator_session(self):
        browser = Browser(self.berth.url, ARTIFACTS)
        self.addCleanup(browser.close)

        # A wrong token in the address: the sign-in form, with the API's words.
        wrong = browser.do("open", path="/ui/?token=wrong", expect="sign-in", shot="wrong-token")
        self.assertEqual(wrong["error"],
                         self.api_error("GET", "/v1/databases", token="wrong-token"))
        self.assertNotIn("token=", wrong["url"])

        # The right one signs in at once and leaves the address bar.
        opened = browser.do("open", path=f"/ui/?token={self.berth.token}", expect="signed-in")
        self.assertNotIn("token", opened["url"])
        self.assertNotIn(self.berth.token, opened["url"])
        self.assertTrue(opened["url"].endswith("/ui/#/databases"), opened["url"])

        # Bad input: the API's error, word for word, and nothing is created.
        bad_name = {"name": "Bad_Name", "engine": "redis", "memory_mb": 64}
        shown = browser.do("create", name="Bad_Name", memory="64M", expect="error")
        self.assertEqual(shown["error"], self.api_error("POST", "/v1/databases", bad_name))
        too_small = {"name": "uitest", "engine": "redis", "memory_mb": 16}
        shown = browser.do("create", name="uitest", memory="16M", expect="error", submit="enter")
        self.assertEqual(shown["error"], self.api_error("POST", "/v1/databases", too_small))
        self.assertEqual(shown["error"], "memory_mb: at least 32 MiB, got 16")
        self.assertEqual(self.berth.api("GET", "/v1/databases"), [])

        # Create through the form; the list turns it running; its page shows it healthy.
        created = browser.do("create", name="uitest", memory="64M", engine="redis",
                             expect="created")
        self.assertIn("Created uitest", created["result"])
        db = self.berth.api("GET", "/v1/databases/uitest")
        self.assertEqual((db["engine"], db["memory_mb"]), ("redis", 64))
        self.assertIn("Password (shown only now)", created["result"])
        browser.do("wait_state", name="uitest", state="running")
        self.assertEqual(self.berth.api("GET", "/v1/databases/uitest")["state"], "running")
        page = browser.do("open_database", name="uitest")
        self.assertIn("64 MiB", page["facts"])
        self.assertIn("Ready to accept connections", page["log"])  # the engine's own log

        # Resize through the UI: the API and the container have the new limit.
        resized = browser.do("resize", memory="128M")
        self.assertNotIn("error", resized)
        self.assertEqual(resized["result"], "Memory is now 128 MiB.")
        db = self.berth.api("GET", "/v1/databases/uitest")
        self.assertEqual(db["memory_mb"], 128)
        self.assertEqual([i["memory_limit_bytes"] for i in db["instances"]], [128 * MiB])
        container = self.dockerd.containers(f"berth.database={db['id']}")[0]
        self.assertEqual(self.dockerd.inspect(container["Id"])["HostConfig"]["Memory"], 128 * MiB)

        # The other pages show what the API has.
        hosts = browser.do("visit", page="Hosts")
        self.assertEqual(hosts["current"], "Hosts")
        self.assertIn("h1", hosts["text"])
        self.assertIn("alive", hosts["text"])
        browser.do("visit", page="Tasks")
        network = browser.do("visit", page="Network")
        self.assertEqual(network["subnet"], "10.216.0.0/16")
        browser.do("visit", page="Events")

        # Delete behind the confirmation that wants the name typed.
        browser.do("visit", page="Databases")
        browser.do("open_database", name="uitest")
        deleted = browser.do("delete", name="uitest")
        self.assertTrue(deleted["disabled_before_typing"])
        self.assertEqual(deleted["notice"], "Deleted uitest.")
        self.assertEqual(self.berth.request("GET", "/v1/databases/uitest")[0], 404)
        self.assertEqual(self.berth.api("GET", "/v1/databases"), [])
        self.assertEqual(self.dockerd.containers(f"berth.database={db['id']}"), [])

        # Sign out forgets the token; the form signs in again.
        self.assertEqual(browser.do("sign_out")["stored"], 0)
        browser.do("sign_in", token=self.berth.token)

        self.assertEqual(browser.do("quit")["page_errors"], [])


if __name__ == "__main__":
    unittest.main()
