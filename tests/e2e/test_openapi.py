"""GET /v1/openapi.json from a real `berth server`: valid OpenAPI 3.0 by a real validator
(@apidevtools/swagger-parser, run by tests/web/openapi_lint.mjs), and the same routes as the
server's own table: every operation it lists is served, and every method the server serves on
a path (its 405's Allow header) is listed. Needs etcd only: no dockerd, no agent."""
import copy
import json
import os
import shutil
import subprocess
import tempfile
import unittest
import urllib.error
import urllib.request

from harness import ROOT, Berth, Etcd

LINT = os.path.join(ROOT, "tests", "web", "openapi_lint.mjs")
METHODS = ("get", "put", "post", "delete", "patch")


class OpenApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.workdir = tempfile.mkdtemp(prefix="berth-test-openapi-")
        cls.etcd = Etcd(cls.workdir)
        cls.berth = Berth(cls.workdir, cls.etcd, None, "10.214.0.0/16", "btopenapi")
        cls.berth.start_server()
        # Asked with no token: the document holds no secret.
        status, cls.doc = cls.berth.request("GET", "/v1/openapi.json", token="")
        assert status == 200, (status, cls.doc)

    @classmethod
    def tearDownClass(cls):
        cls.berth.stop()
        cls.etcd.stop()
        shutil.rmtree(cls.workdir, ignore_errors=True)

    def lint(self, doc, name):
        path = os.path.join(self.workdir, name)
        with open(path, "w") as f:
            json.dump(doc, f, indent=1)
        self.assertTrue(os.path.isdir(os.path.join(ROOT, "tests", "web", "node_modules")),
                        "tests/web/node_modules is missing: run scripts/install-deps.sh")
        return subprocess.run(["node", LINT, path], capture_output=True, text=True, timeout=60)

    def call(self, method, path, body=None):
        """(status, headers, parsed body or text) of one call with the token."""
        req = urllib.request.Request(self.berth.url + path, method=method, data=body,
                                     headers={"Authorization": "Bearer " + self.berth.token})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, headers, text = r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            status, headers, text = e.code, e.headers, e.read()
        try:
            return status, headers, json.loads(text)
        except ValueError:
            return status, headers, text

    def operations(self):
        for path, item in self.doc["paths"].items():
            for method, op in item.items():
                if method in METHODS:
                    yield path, method, op

    def test_the_validator_passes_the_served_document(self):
        self.assertTrue(self.doc["openapi"].startswith("3.0."))
        r = self.lint(self.doc, "openapi.json")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("valid: berth", r.stdout)

    def test_the_validator_fails_a_broken_document(self):
        # The lint can fail: a $ref to a schema that is gone, a response with no description.
        broken = copy.deepcopy(self.doc)
        del broken["components"]["schemas"]["Error"]
        r = self.lint(broken, "no-error-schema.json")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("Error", r.stderr)
        broken = copy.deepcopy(self.doc)
        del broken["paths"]["/v1/tasks/{id}"]["get"]["responses"]["200"]["description"]
        r = self.lint(broken, "no-description.json")
        self.assertEqual(r.returncode, 1, r.stdout)

    def test_every_operation_listed_is_served_with_a_status_it_lists(self):
        # Parameters name nothing that exists and bodies are left out: each handler answers
        # (its own 404, 400 or 200), never the router's "no such endpoint" or 405.
        for path, method, op in self.operations():
            url = path.replace("{name}", "nosuch").replace("{id}", "nosuch")
            url = url.replace("{file}", "nosuch.js")
            status, _, body = self.call(method.upper(), url)
            where = f"{method.upper()} {url}: {status} {body}"
            self.assertNotEqual(status, 405, where)
            self.assertFalse(isinstance(body, dict) and
                             str(body.get("error", "")).startswith("no such endpoint"), where)
            self.assertIn(str(status), op["responses"], where)

    def test_every_method_the_server_serves_on_a_path_is_listed(self):
        # On a method it has no route for, the server answers 405 with the methods its route
        # table has for the path: they must be the document's.
        paths = [p for p in self.doc["paths"] if p.startswith("/v1/")]
        self.assertGreater(len(paths), 15)
        for path in paths:
            listed = {m.upper() for m in self.doc["paths"][path] if m in METHODS}
            other = next(m for m in ("PUT", "PATCH", "DELETE", "POST", "GET") if m not in listed)
            url = path.replace("{name}", "x").replace("{id}", "x")
            status, headers, body = self.call(other, url)
            self.assertEqual(status, 405, f"{other} {url}: {status} {body}")
            served = {m.strip() for m in headers["Allow"].split(",")}
            self.assertEqual(served, listed, path)
        # A path no route has is in neither.
        status, _, _ = self.call("GET", "/v1/nosuch")
        self.assertEqual(status, 404)
        self.assertNotIn("/v1/nosuch", self.doc["paths"])

    def check(self, value, schema_name):
        """value's fields are the schema's properties, its required ones there."""
        schema = self.doc["components"]["schemas"][schema_name]
        props = schema["properties"]
        self.assertLessEqual(set(value), set(props), schema_name)
        self.assertLessEqual(set(schema.get("required", [])), set(value), schema_name)
        for field, v in value.items():
            kind = props[field].get("type")
            if kind and v is not None:
                want = {"string": str, "integer": int, "boolean": bool, "number": (int, float),
                        "array": list, "object": dict}[kind]
                self.assertIsInstance(v, want, f"{schema_name}.{field}")
            if "enum" in props[field]:
                self.assertIn(v, props[field]["enum"], f"{schema_name}.{field}")

    def test_answers_match_their_schemas(self):
        self.check(self.berth.api("GET", "/v1/health"), "Health")
        engines = self.berth.api("GET", "/v1/engines")
        self.assertTrue(engines)
        for e in engines:
            self.check(e, "Engine")
        self.berth.configure_network()
        self.check(self.berth.api("GET", "/v1/network"), "NetworkConfig")
        status, body = self.berth.request("POST", "/v1/databases", {"name": "x"})
        self.assertEqual(status, 422)
        self.check(body, "Error")
        page = self.berth.api("GET", "/v1/events?limit=5")
        self.check(page, "EventPage")


if __name__ == "__main__":
    unittest.main()
