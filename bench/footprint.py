#!/usr/bin/env python3
"""bench/footprint: resident memory (RSS) of the berth agent and server with 50 databases
running. Floor for comparison: the RSS of one redis-server container process of the lab.

Prints agent_rss_mb=, server_rss_mb=, their private (anonymous) parts, redis_rss_mb=."""
import concurrent.futures
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
from harness import Lab, wait_until  # noqa: E402

COUNT = int(os.environ.get("COUNT", "50"))


def rss_mb(pid, field="VmRSS"):
    """Resident memory in MB; RssAnon is the part that is the process' own (not shared
    library and binary pages, which every berth process on the host shares)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def main():
    lab = Lab("foot", "10.217.0.0/16")
    berth = lab.berth
    try:
        def create(i):
            return berth.request("POST", "/v1/databases?wait=false",
                                 {"name": f"f{i}", "engine": "redis", "memory_mb": 32})
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            list(pool.map(create, range(COUNT)))
        wait_until(lambda: sum(d["state"] == "running"
                               for d in berth.api("GET", "/v1/databases")) >= COUNT,
                   300, f"{COUNT} databases running", interval=0.5)
        # Let a few probe rounds and status publications pass at steady state.
        for _ in range(3):
            berth.api("GET", "/v1/databases")
        redis_pid = int(lab.dockerd.inspect(lab.dockerd.containers()[0]["Id"])["State"]["Pid"])
        print(f"agent_rss_mb={rss_mb(berth.agent.pid):.1f} MB")
        print(f"server_rss_mb={rss_mb(berth.server.pid):.1f} MB")
        print(f"agent_anon_mb={rss_mb(berth.agent.pid, 'RssAnon'):.1f} MB")
        print(f"server_anon_mb={rss_mb(berth.server.pid, 'RssAnon'):.1f} MB")
        print(f"redis_rss_mb={rss_mb(redis_pid):.1f} MB")
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda i: berth.request("DELETE", f"/v1/databases/f{i}"), range(COUNT)))
    finally:
        lab.close()


if __name__ == "__main__":
    main()
