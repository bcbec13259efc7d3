#!/usr/bin/env python3
"""bench/etcd: what berth writes to etcd when nothing happens. With COUNT idle Redis databases
(default 20) running, the etcd revisions taken in a minute (every write is a revision), against
the floor of the same server and agent with no database; and the write rate extrapolated to
a day of that.

Then a day of use, simulated: the records berth keeps for a day of these databases, written
as the leader writes them (the usage points of the last 6 h at the 15 s step and the day's at
5 min, a backup and its task for each database, ten events each), copied from real ones the
run made, and a day's idle writes replayed over them (overwrites: history). The leader's own
upkeep then compacts and defragments, at a 20 s interval here (5 min shipped: the replayed day
passes 1,440 times faster). etcd's file size and what it holds are read after that, against
the quota `berth up` gives etcd.

Prints idle_revisions_per_min=, empty_revisions_per_min=, the day's revisions, and
etcd_day_keys=, etcd_db_size_after_day_bytes=, etcd_db_in_use_after_day_bytes=,
etcd_quota_use_after_day_pct=."""
import base64
import concurrent.futures
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
from harness import Lab, wait_until  # noqa: E402

COUNT = int(os.environ.get("COUNT", "20"))
WINDOW = int(os.environ.get("WINDOW", "60"))  # seconds measured
SETTLE = int(os.environ.get("SETTLE", "30"))  # seconds let pass before measuring
QUOTA = 2 << 30  # the --quota-backend-bytes berth up gives etcd
FINE_POINTS = 1440  # usage points kept at the fine step (6 h at 15 s)
COARSE_PER_DAY = 288  # one every 5 min
EVENTS_PER_DATABASE = 10


def revision(endpoint):
    out = subprocess.run(["etcdctl", "--endpoints", endpoint, "endpoint", "status", "-w", "json"],
                         env={**os.environ, "ETCDCTL_API": "3"}, capture_output=True, text=True,
                         check=True).stdout
    return int(json.loads(out)[0]["Status"]["header"]["revision"])


def per_minute(endpoint):
    start = revision(endpoint)
    time.sleep(WINDOW)  # a measurement window, not a synchronisation
    return (revision(endpoint) - start) * 60 / WINDOW


def etcd_call(endpoint, path, body):
    req = urllib.request.Request(endpoint + path, data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def b64(text):
    return base64.b64encode(text.encode()).decode()


def get_prefix(endpoint, prefix):
    """{key: value} under prefix."""
    end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    out = etcd_call(endpoint, "/v3/kv/range", {"key": b64(prefix), "range_end": b64(end)})
    return {base64.b64decode(kv["key"]).decode(): base64.b64decode(kv["value"]).decode()
            for kv in out.get("kvs", [])}


def put_all(endpoint, items):
    """Writes (key, value) pairs, 100 to a transaction (etcd takes at most 128)."""
    for i in range(0, len(items), 100):
        etcd_call(endpoint, "/v3/kv/txn", {"success": [
            {"request_put": {"key": b64(k), "value": b64(v)}} for k, v in items[i:i + 100]]})


def status(endpoint):
    out = subprocess.run(["etcdctl", "--endpoints", endpoint, "endpoint", "status", "-w", "json"],
                         env={**os.environ, "ETCDCTL_API": "3"}, capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out)[0]["Status"]


def compacted_past(endpoint, revision):
    """Whether etcd has compacted its history past revision."""
    try:
        etcd_call(endpoint, "/v3/kv/range", {"key": b64("/"), "revision": revision})
        return False
    except urllib.error.HTTPError as e:
        return "compacted" in e.read().decode()


def simulate_day(berth, endpoint, ids, idle_per_min):
    """Writes a day's records for the databases ids, copied from real ones; returns the
    number of keys written."""
    backup = berth.api("POST", f"/v1/databases/idle0/backups")
    wait_until(lambda: berth.api("GET", f"/v1/tasks/{backup['id']}?wait=5")["state"]
               in ("done", "failed"), 120, "a backup to copy")
    task = get_prefix(endpoint, f"/berth/tasks/{backup['id']}")
    record = next(iter(get_prefix(endpoint, "/berth/backups/").values()))
    point = next(iter(get_prefix(endpoint, "/berth-usage/").values()))
    event = next(iter(get_prefix(endpoint, "/berth/events/").values()))
    now = int(time.time())
    items = []
    for n, db in enumerate(ids):
        step = 15
        for i in range(FINE_POINTS):
            t = now - (now % step) - i * step
            items.append((f"/berth-usage/{db}/fine/{t:012d}", point))
        for i in range(COARSE_PER_DAY):
            t = now - (now % 300) - i * 300
            items.append((f"/berth-usage/{db}/coarse/{t:012d}", point))
        for k, v in task.items():
            items.append((k.replace(backup["id"], f"day{n:04d}"), v))
        items.append((f"/berth/backups/day{n:04d}", record))
        for i in range(EVENTS_PER_DATABASE):
            micros = (now - 86400 + n * 3600 + i) * 1_000_000
            items.append((f"/berth/events/{micros:016d}-{i:03d}", event))
    put_all(endpoint, items)
    # The day's idle writes: overwrites of what is there (statuses on change, usage at each
    # step), history until compacted.
    replay = [items[i % len(items)] for i in range(int(idle_per_min * 60 * 24))]
    put_all(endpoint, replay)
    return len(items)


def main():
    lab = Lab("etcdb", "10.218.0.0/16", server_args=["--etcd-compact-interval", "20s"])
    berth = lab.berth
    try:
        time.sleep(SETTLE)
        empty = per_minute(lab.etcd.endpoint)

        def create(i):
            return berth.request("POST", "/v1/databases?wait=false",
                                 {"name": f"idle{i}", "engine": "redis", "memory_mb": 32})
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            list(pool.map(create, range(COUNT)))
        wait_until(lambda: sum(d["state"] == "running"
                               for d in berth.api("GET", "/v1/databases")) >= COUNT,
                   300, f"{COUNT} databases running", interval=0.5)
        time.sleep(SETTLE)
        idle = per_minute(lab.etcd.endpoint)
        print(f"idle_revisions_per_min={idle:.1f} rev/min databases={COUNT}")
        print(f"empty_revisions_per_min={empty:.1f} rev/min")
        print(f"idle_revisions_per_day={idle * 60 * 24:.0f} rev")
        before = status(lab.etcd.endpoint)
        keys = simulate_day(berth, lab.etcd.endpoint, [d["id"] for d in
                            berth.api("GET", "/v1/databases")], idle)
        written = status(lab.etcd.endpoint)
        # The leader compacts to the revision it saw one interval (20 s here) earlier, then
        # defragments once over half the file, and at least 8 MiB, is free: wait for both.
        wait_until(lambda: compacted_past(lab.etcd.endpoint, written["header"]["revision"] - 1),
                   120, "the leader to compact the day's history", interval=2)

        def upkept():
            s = status(lab.etcd.endpoint)
            free = s["dbSize"] - s["dbSizeInUse"]
            return s if free * 2 <= s["dbSize"] or free < 8 << 20 else None
        after = wait_until(upkept, 120, "the leader to defragment", interval=2)
        print(f"etcd_day_keys={keys} keys")
        print(f"etcd_db_size_before_day_bytes={before['dbSize']} B")
        print(f"etcd_db_size_written_day_bytes={written['dbSize']} B")
        print(f"etcd_db_size_after_day_bytes={after['dbSize']} B")
        print(f"etcd_db_in_use_after_day_bytes={after['dbSizeInUse']} B")
        print(f"etcd_quota_use_after_day_pct={100 * after['dbSize'] / QUOTA:.2f} %")
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda i: berth.request("DELETE", f"/v1/databases/idle{i}"), range(COUNT)))
    finally:
        lab.close()


if __name__ == "__main__":
    main()
