#!/usr/bin/env python3
"""bench/api: read throughput and latency of the API with COUNT (1,000) databases in etcd.

The records go straight into etcd in the shape the server and the agents write them
(databases, names, allocations, addresses, lease-bound hosts and instance status); no
container runs, so no docker is needed. The benchmark holds the leader key, so the server it
starts is a follower: its controller stays idle rather than probing hundreds of made-up
primaries that do not exist. What is measured is the API alone.

wrk on the same machine, keep-alive, with the admin token:
- GET /v1/databases/{name} over every name, -t2 -c32: api_get_rps=, api_get_p99_ms=
- GET /v1/databases (the whole list), -t1 -c4: api_list_p99_ms=, api_list_rps=
- the same two with a project token (viewer of the project `default`, where the records are):
  api_get_project_rps=, api_get_project_ratio= (to the admin token's), api_list_project_p99_ms=
- floors in the same run: GET /v1/health (no token, no lookup) and etcd's own /v3/kv/range
  of one key (a plain etcd beside it: wrk has no client certificate): health_rps=,
  etcd_range_rps=, and the ratios of api_get_rps to both.
Each figure is the median of RUNS (3) runs of DURATION (10) seconds, taken in rounds."""
import base64
import http.client
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
from harness import Berth, Etcd, EtcdTls  # noqa: E402

COUNT = int(os.environ.get("COUNT", "1000"))
RUNS = int(os.environ.get("RUNS", "3"))
DURATION = int(os.environ.get("DURATION", "10"))
SUBNET = "10.218.0.0/16"
HOSTS = [f"h{i}" for i in range(1, 9)]
VERSIONS = {"redis": "7.0.15", "tarantool": "2.6.0", "memcached": "1.6.18"}
PORTS = {"redis": 6379, "tarantool": 3301, "memcached": 11211}


def dump(record):
    """JSON as nlohmann::json dumps a record: keys sorted, no spaces."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


def b64(s):
    return base64.b64encode(s.encode()).decode()


class EtcdWriter:
    """Puts keys through etcd's JSON gateway, many to a transaction, over one connection."""

    def __init__(self, endpoint):
        # etcd as the lab starts it: TLS with a client certificate, and signed in as root.
        self.conn = http.client.HTTPSConnection(endpoint.split("//")[1], timeout=30,
                                                context=EtcdTls.client_context())
        self.headers = {"Content-Type": "application/json"}
        self.ops = []
        with open(EtcdTls.password_file("root")) as f:
            password = f.read().strip()
        self.headers["Authorization"] = self.call("/v3/auth/authenticate",
                                                  {"name": "root", "password": password})["token"]

    def call(self, path, body):
        self.conn.request("POST", path, json.dumps(body), self.headers)
        r = self.conn.getresponse()
        payload = r.read()
        if r.status != 200:
            raise RuntimeError(f"etcd {path}: HTTP {r.status}: {payload[:200]!r}")
        return json.loads(payload)

    def lease(self, ttl):
        return self.call("/v3/lease/grant", {"TTL": ttl})["ID"]

    def put(self, key, value, lease=None):
        op = {"key": b64(key), "value": b64(value)}
        if lease:
            op["lease"] = lease
        self.ops.append({"requestPut": op})
        if len(self.ops) >= 100:  # etcd takes up to 128 operations in one transaction
            self.flush()

    def flush(self):
        if self.ops:
            self.call("/v3/kv/txn", {"success": self.ops})
            self.ops = []

    def close(self):
        self.conn.close()


def load(endpoint, count):
    """count databases with their instances, as `berth create` and the agents leave them.
    Returns their names."""
    rng = random.Random(6)
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    w = EtcdWriter(endpoint)
    lease = w.lease(3600)  # the agents' lease: hosts and status live under it
    w.put("/berth/leader", "bench:not-this-server", lease)
    w.put("/berth/config/network", dump({"subnet": SUBNET, "gateway": "10.218.0.1",
                                         "exclude": [], "driver": "bridge",
                                         "docker_network": "berth"}))
    for h in HOSTS:
        w.put("/berth/hosts/" + h, dump({"name": h, "address": "127.0.0.1",
                                         "memory_bytes": 256 << 30, "cpus": 32, "labels": {},
                                         "started_at": now, "version": "bench"}), lease)
    next_ip = [2]

    def ip():
        n = next_ip[0]
        next_ip[0] += 1
        return f"10.218.{n // 256}.{n % 256}"

    names = []
    for i in range(count):
        engine = "redis" if i % 10 < 6 else "tarantool" if i % 10 < 8 else "memcached"
        replicas = 1 if engine != "memcached" and i % 3 == 0 else 0
        db_id = "%012x" % rng.getrandbits(48)
        name = f"app-{i:04d}"
        names.append(name)
        password = "" if engine == "memcached" and i % 2 else "".join(
            rng.choice("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
            for _ in range(24))
        memory_mb = rng.choice([64, 128, 256, 512])
        hosts = rng.sample(HOSTS, replicas + 1)
        ips = [ip() for _ in range(replicas + 1)]
        address = ip() if replicas else ""
        scheduled = engine != "memcached" and i % 7 == 0
        db = {"id": db_id, "name": name, "engine": engine, "version": VERSIONS[engine],
              "memory_mb": memory_mb, "replicas": replicas, "password": password,
              "created_at": now, "address": address, "epoch": 1, "constraints": {},
              "durable": engine != "memcached",
              "user": "berth" if engine != "redis" and password else "",
              "maintenance": "", "backup_schedule": "0 3 * * *" if scheduled else "",
              "backup_keep": 7, "backup_next": "2026-01-01T03:00:00.000Z" if scheduled else "",
              "backup_verify": False}
        w.put("/berth/databases/" + db_id, dump(db))
        w.put("/berth/names/" + name, db_id)
        if address:
            w.put("/berth/ips/" + address, db_id + "/db")
        for n in range(replicas + 1):
            role = "primary" if n == 0 else "replica"
            a = {"database_id": db_id, "database_name": name, "n": n, "host": hosts[n],
                 "ip": ips[n], "port": PORTS[engine], "engine": engine, "image": "",
                 "memory_mb": memory_mb, "password": password, "role": role, "epoch": 1,
                 "primary_ip": ips[0] if n else "", "database_address": address if n == 0 else "",
                 "min_replicas_to_write": 0}
            w.put(f"/berth/allocations/{hosts[n]}/{db_id}/{n}", dump(a))
            w.put("/berth/ips/" + ips[n], f"{db_id}/{n}")
            roll = rng.random()
            if roll < 0.01:
                continue  # no status yet: the agent has not reported (pending)
            state = "healthy" if roll < 0.95 else "starting" if roll < 0.98 else "unhealthy"
            s = {"host": hosts[n], "state": state, "role": role,
                 "container_id": "%064x" % rng.getrandbits(256),
                 "memory_used_bytes": rng.randrange(1 << 20, memory_mb << 20),
                 "restarts": 0 if state == "healthy" else rng.randrange(1, 4),
                 "message": "" if state != "unhealthy" else "probe: connection refused",
                 "updated_at": now, "offset": rng.randrange(1 << 30), "link_up": n > 0,
                 "epoch": 1, "primary_down": False, "memory_limit_mb": memory_mb,
                 "holds_address": address if n == 0 else "",
                 "connections": rng.randrange(1, 50), "operations": rng.randrange(1 << 24)}
            w.put(f"/berth/status/{hosts[n]}/{db_id}/{n}", dump(s), lease)
    w.flush()
    w.close()
    return names


def lua_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_scripts(workdir, names, etcd_key):
    """wrk scripts: one GET per request over every name; etcd's range of one key by POST."""
    get = os.path.join(workdir, "get.lua")
    with open(get, "w") as f:
        f.write("local names = {" + ",".join(lua_string(n) for n in names) + "}\n"
                "local i = 0\n"
                "function init(args) i = math.random(#names) end\n"
                "function request()\n"
                "  i = i % #names + 1\n"
                '  return wrk.format("GET", "/v1/databases/" .. names[i])\n'
                "end\n")
    etcd = os.path.join(workdir, "range.lua")
    with open(etcd, "w") as f:
        f.write('wrk.method = "POST"\n'
                'wrk.headers["Content-Type"] = "application/json"\n'
                f"wrk.body = {lua_string(json.dumps({'key': b64(etcd_key)}))}\n")
    return get, etcd


UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def wrk(url, threads, connections, headers=(), script=None):
    """(requests per second, p99 latency in ms) of one wrk run; every answer must be a 2xx."""
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{DURATION}s", "--latency"]
    for h in headers:
        argv += ["-H", h]
    if script:
        argv += ["-s", script]
    out = subprocess.run(argv + [url], capture_output=True, text=True, check=True,
                         timeout=DURATION + 60).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk {url}: errors:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    value, unit = re.search(r"\n\s+99%\s+([\d.]+)(us|ms|s|m)\b", out).groups()
    return rps, float(value) * UNITS_MS[unit]


def put_plain(endpoint, key, value):
    """One key into the floor's etcd (plain: no certificate, no sign-in)."""
    conn = http.client.HTTPConnection(endpoint.split("//")[1], timeout=5)
    conn.request("POST", "/v3/kv/put", json.dumps({"key": b64(key), "value": b64(value)}))
    if conn.getresponse().status != 200:
        raise RuntimeError("the floor's etcd did not take its key")


def main():
    workdir = tempfile.mkdtemp(prefix="berth-test-apibench-")
    etcd = berth = floor = None
    try:
        etcd = Etcd(workdir)
        names = load(etcd.endpoint, COUNT)
        berth = Berth(workdir, etcd, None, SUBNET, None)
        berth.start_server()
        listed = berth.api("GET", "/v1/databases")
        if len(listed) != COUNT:
            raise RuntimeError(f"the server lists {len(listed)} databases, not {COUNT}")
        one = berth.api("GET", "/v1/databases/" + names[0])
        if one["name"] != names[0] or not one["instances"]:
            raise RuntimeError(f"unexpected view of {names[0]}: {one}")
        get_lua, range_lua = write_scripts(workdir, names, "/berth/names/" + names[0])
        # The floor: the same etcd, plain, as wrk has no client certificate. The server's own
        # etcd pays TLS and sign-in besides: a floor on the fast side.
        floor = Etcd(workdir, plain=True, name="etcd-floor")
        floor_url = floor.endpoint
        put_plain(floor_url, "/berth/names/" + names[0], one["id"])
        auth = ["Authorization: Bearer " + berth.token]
        viewer = berth.api("POST", "/v1/tokens", {"project": "default", "role": "viewer",
                                                  "name": "bench"})
        project_auth = ["Authorization: Bearer " + viewer["secret"]]
        runs = {"get": [], "list": [], "get_project": [], "list_project": [], "health": [],
                "etcd": []}
        for _ in range(RUNS):  # in rounds, so that noise on the machine hits every figure
            runs["get"].append(wrk(berth.url + "/", 2, 32, auth, get_lua))
            runs["list"].append(wrk(berth.url + "/v1/databases", 1, 4, auth))
            runs["get_project"].append(wrk(berth.url + "/", 2, 32, project_auth, get_lua))
            runs["list_project"].append(wrk(berth.url + "/v1/databases", 1, 4, project_auth))
            runs["health"].append(wrk(berth.url + "/v1/health", 2, 32))
            runs["etcd"].append(wrk(floor_url + "/v3/kv/range", 2, 32, (), range_lua))

        def median(kind, i):
            return statistics.median(r[i] for r in runs[kind])

        get_rps, health_rps, etcd_rps = median("get", 0), median("health", 0), median("etcd", 0)
        print(f"api_get_rps={get_rps:.0f} req/s")
        print(f"api_get_p99_ms={median('get', 1):.2f} ms")
        print(f"api_list_p99_ms={median('list', 1):.2f} ms")
        print(f"api_list_rps={median('list', 0):.0f} req/s")
        print(f"api_get_project_rps={median('get_project', 0):.0f} req/s")
        print(f"api_get_project_ratio={median('get_project', 0) / get_rps:.2f} ratio")
        print(f"api_list_project_p99_ms={median('list_project', 1):.2f} ms")
        print(f"health_rps={health_rps:.0f} req/s")
        print(f"etcd_range_rps={etcd_rps:.0f} req/s")
        print(f"api_get_health_ratio={get_rps / health_rps:.2f} ratio")
        print(f"api_get_etcd_ratio={get_rps / etcd_rps:.2f} ratio", flush=True)
    finally:
        if floor:
            floor.stop()
        if berth:
            berth.stop()
        if etcd:
            etcd.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
