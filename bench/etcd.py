#!/usr/bin/env python3
"""bench/etcd: what berth writes to etcd when nothing happens. With COUNT idle Redis databases
(default 20) running, the etcd revisions taken in a minute (every write is a revision), against
the floor of the same server and agent with no database; and the write rate extrapolated to
a day of that.

Prints idle_revisions_per_min=, empty_revisions_per_min=, and the day's revisions."""
import concurrent.futures
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
from harness import Lab, wait_until  # noqa: E402

COUNT = int(os.environ.get("COUNT", "20"))
WINDOW = int(os.environ.get("WINDOW", "60"))  # seconds measured
SETTLE = int(os.environ.get("SETTLE", "30"))  # seconds let pass before measuring


def revision(endpoint):
    out = subprocess.run(["etcdctl", "--endpoints", endpoint, "endpoint", "status", "-w", "json"],
                         env={**os.environ, "ETCDCTL_API": "3"}, capture_output=True, text=True,
                         check=True).stdout
    return int(json.loads(out)[0]["Status"]["header"]["revision"])


def per_minute(endpoint):
    start = revision(endpoint)
    time.sleep(WINDOW)  # a measurement window, not a synchronisation
    return (revision(endpoint) - start) * 60 / WINDOW


def main():
    lab = Lab("etcdb", "10.218.0.0/16")
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
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda i: berth.request("DELETE", f"/v1/databases/idle{i}"), range(COUNT)))
    finally:
        lab.close()


if __name__ == "__main__":
    main()
