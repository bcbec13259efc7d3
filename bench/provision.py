#!/usr/bin/env python3
"""bench/provision: time from POST /v1/databases to PING answered at the returned address,
against plain `docker run` of the same image to PING, in the same run on the same daemon.

Prints provision_ms=, docker_run_ms=, provision_ratio= (medians of RUNS runs each)."""
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
from harness import Lab, redis_cli  # noqa: E402

RUNS = int(os.environ.get("RUNS", "11"))
DOCKER = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else "docker"


def ping_until_pong(address, password, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if redis_cli(address, password, "ping") == "PONG":
            return
    raise RuntimeError(f"{address} never answered PING")


def main():
    lab = Lab("bench", "10.216.0.0/16")
    berth, dockerd = lab.berth, lab.dockerd
    docker = [DOCKER, "-H", "unix://" + dockerd.socket]
    try:
        # Warm up: the first create builds the image.
        warm = berth.api("POST", "/v1/databases", {"name": "warm", "engine": "redis",
                                                    "memory_mb": 128})
        image = dockerd.inspect(dockerd.containers(f"berth.database={warm['id']}")[0]["Id"])["Config"]["Image"]
        berth.api("DELETE", "/v1/databases/warm")
        provision, plain = [], []
        for i in range(RUNS):
            started = time.monotonic()
            db = berth.api("POST", "/v1/databases", {"name": f"p{i}", "engine": "redis",
                                                      "memory_mb": 128})
            ping_until_pong(db["address"], db["password"])
            provision.append((time.monotonic() - started) * 1000)

            ip = f"10.216.200.{i + 1}"
            started = time.monotonic()
            subprocess.run(docker + ["run", "-d", "--name", f"plain{i}", "--network", lab.bridge,
                                     "--ip", ip, "--memory", "128m", image, "/usr/bin/redis-server",
                                     "--protected-mode", "no", "--requirepass", "benchpass"],
                           check=True, capture_output=True)
            ping_until_pong(ip, "benchpass")
            plain.append((time.monotonic() - started) * 1000)
        for i in range(RUNS):
            berth.api("DELETE", f"/v1/databases/p{i}")
            subprocess.run(docker + ["rm", "-f", f"plain{i}"], capture_output=True)
        p, d = statistics.median(provision), statistics.median(plain)
        print(f"provision_ms={p:.0f} ms")
        print(f"docker_run_ms={d:.0f} ms")
        print(f"provision_ratio={p / d:.2f} ratio")
    finally:
        lab.close()


if __name__ == "__main__":
    main()
