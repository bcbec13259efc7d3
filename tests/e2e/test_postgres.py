"""PostgreSQL through the same API and CLI as the other engines, on the lab's hosts: created
with its SQL user and a database named like it, 10,000 rows written and read back with psql,
kept across a kill of its container and a resize (a new container, settings made for the new
limit), its password rotated, refused where the input is wrong, and gone on delete."""
import json
import subprocess

from harness import wait_until
from lab import LabTestCase


def psql(url, sql):
    """(exit code, output) of psql running sql against url, stopping at the first error."""
    r = subprocess.run(["psql", url, "-X", "-v", "ON_ERROR_STOP=1", "-At", "-c", sql],
                       capture_output=True, text=True, timeout=60)
    return r.returncode, (r.stdout + r.stderr).strip()


class PostgresTest(LabTestCase):
    """On a lab of three hosts, all alive at the start of every test."""

    def containers(self, db_id):
        return [(h, c) for h in self.lab.hosts for c in h.dockerd.containers()
                if c["Labels"].get("berth.database") == db_id]

    def rows(self, url):
        code, out = psql(url, "SELECT count(*), sum(id), max(v) FROM t")
        return out if code == 0 else None

    def test_postgres_holds_10000_rows_across_a_kill_and_a_resize_and_goes(self):
        r = self.berth.cli("run", "postgres", "--name", "app", "--memory", "256M", "--json")
        self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
        db = json.loads(r.stdout)
        self.assertEqual((db["engine"], db["user"], db["dbname"], db["port"], db["durable"]),
                         ("postgres", "berth", "app", 5432, True))
        url = f"postgresql://berth:{db['password']}@{db['address']}:5432/app"
        self.assertEqual(db["connect"], "psql " + url)
        self.assertEqual(self.berth.api("GET", "/v1/databases/app")["dbname"], "app")
        # The database clients name is the one berth made; they write and read with psql.
        self.assertEqual(psql(url, "SELECT current_database(), current_user"), (0, "app|berth"))
        self.assertEqual(psql(url, "CREATE TABLE t (id int PRIMARY KEY, v text)")[0], 0)
        code, out = psql(url, "INSERT INTO t SELECT g, 'value ' || lpad(g::text, 5, '0') "
                              "FROM generate_series(1, 10000) g")
        self.assertEqual(code, 0, out)
        self.assertEqual(self.rows(url), "10000|50005000|value 10000")
        # Memory settings come from the limit: a quarter for shared buffers.
        self.assertEqual(psql(url, "SHOW shared_buffers"), (0, "64MB"))
        self.assertEqual(psql(url, "SHOW effective_cache_size"), (0, "192MB"))
        # The password is checked, over TCP only.
        self.assertNotEqual(psql(url.replace(db["password"], "wrong" + db["password"]),
                                 "SELECT 1")[0], 0)
        # Killed, its container comes back with every committed row.
        host, container = self.containers(db["id"])[0]
        subprocess.run(["docker", "-H", "unix://" + host.dockerd.socket, "kill",
                        container["Id"]], check=True, capture_output=True)
        wait_until(lambda: self.rows(url) == "10000|50005000|value 10000", 60,
                   "every row back after the kill")
        # A new limit is a new container with settings made for it; the rows stay.
        r = self.berth.cli("update", "app", "--memory", "512M")
        self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
        wait_until(lambda: psql(url, "SHOW shared_buffers") == (0, "128MB"), 60,
                   "shared buffers sized for the new limit")
        self.assertEqual(self.rows(url), "10000|50005000|value 10000")
        # A rotated password: the new one works, the old one no longer does.
        r = self.berth.cli("password", "rotate", "app", "--json")
        self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
        rotated = json.loads(r.stdout)["password"]
        new_url = url.replace(db["password"], rotated)
        wait_until(lambda: psql(new_url, "SELECT 1") == (0, "1"), 30, "the new password works")
        self.assertNotEqual(psql(url, "SELECT 1")[0], 0)
        self.assertEqual(self.rows(new_url), "10000|50005000|value 10000")
        # Backups are not there yet for postgres: said plainly, and nothing starts.
        status, answer = self.berth.request("POST", "/v1/databases/app/backups", {})
        self.assertEqual(status, 422, answer)
        self.assertIn("postgres", answer["error"])
        self.assertEqual([t for t in self.berth.api("GET", "/v1/tasks")
                          if t.get("database_name") == "app" and t.get("kind") == "backup"], [])
        self.assertEqual(self.berth.request("DELETE", "/v1/databases/app")[0], 204)
        wait_until(lambda: self.containers(db["id"]) == [], 20, "every container removed")

    def test_bad_input_is_refused_and_changes_nothing(self):
        engines = {e["name"]: e for e in self.berth.api("GET", "/v1/engines")}
        self.assertTrue(engines["postgres"]["version"].startswith("15."))
        self.assertEqual(engines["postgres"]["min_memory_mb"], 128)
        self.assertTrue(engines["postgres"]["supports"]["users"])
        for body, field in (({"memory_mb": 64}, "memory_mb"), ({"replicas": 1}, "replicas")):
            status, answer = self.berth.request(
                "POST", "/v1/databases", {"name": "bad", "engine": "postgres", "memory_mb": 256,
                                          **body})
            self.assertEqual(status, 422, answer)
            self.assertIn(field, answer["error"])
        r = self.berth.cli("run", "postgres", "--name", "bad", "--memory", "64M")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        status, answer = self.berth.request("GET", "/v1/databases/bad")
        self.assertEqual(status, 404, answer)
