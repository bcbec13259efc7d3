#!/usr/bin/env python3
"""bench/dataplane --engine postgres: pgbench through berth's database against a plain
`docker run` of the same image on the same daemon, with the same memory limit, in the same run.
berth at its shipped settings (those it derives from the limit); the plain one at PostgreSQL's
own defaults with the same password authentication. Both get the same pgbench database (scale
SCALE) and the same client rules: CLIENTS connections, 2 threads, SECONDS per run, alternating
berth and plain RUNS times.

Prints pg_tps= and docker_run_tps= (TPC-B-like, pgbench's default) and pg_select_tps= and
docker_run_select_tps= (-S, reads only), medians, and the ratios pg_tps_ratio= and
pg_select_tps_ratio=, plus the spread of each as min-max in comments."""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
from harness import Lab  # noqa: E402

RUNS = int(os.environ.get("RUNS", "3"))
SECONDS = int(os.environ.get("SECONDS_PER_RUN", "15"))
SCALE = int(os.environ.get("SCALE", "10"))
CLIENTS = int(os.environ.get("CLIENTS", "8"))
MEMORY_MB = 512
DOCKER = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else "docker"
PG = "/usr/lib/postgresql/15/bin"
PLAIN = (f"echo benchpass > /data/pw && {PG}/initdb -D /data/pg -U berth --pwfile=/data/pw "
         f"--auth=scram-sha-256 --encoding=UTF8 --locale=C >/dev/null && "
         f"echo 'CREATE DATABASE \"bench\"' | {PG}/postgres --single -D /data/pg postgres "
         f">/dev/null && exec {PG}/postgres -D /data/pg -c listen_addresses='*' "
         f"-c unix_socket_directories='' -c hba_file=/etc/berth-postgres/pg_hba.conf")


def ready(url, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if subprocess.run(["psql", url, "-X", "-At", "-c", "SELECT 1"], capture_output=True,
                          env={**os.environ, "PGCONNECT_TIMEOUT": "1"}).returncode == 0:
            return
        time.sleep(0.1)
    raise RuntimeError(f"{url} never answered")


def pgbench(url, *args):
    r = subprocess.run([f"{PG}/pgbench", *args, url], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"pgbench {' '.join(args)}: {r.stderr[-500:]}")
    found = re.search(r"tps = ([0-9.]+)", r.stdout)
    return float(found.group(1)) if found else None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", default="postgres", choices=["postgres"])
    parser.parse_args()
    lab = Lab("dataplane", "10.217.0.0/16")
    docker = [DOCKER, "-H", "unix://" + lab.dockerd.socket]
    try:
        db = lab.berth.api("POST", "/v1/databases", {"name": "bench", "engine": "postgres",
                                                      "memory_mb": MEMORY_MB})
        berth_url = f"postgresql://berth:{db['password']}@{db['address']}:5432/bench"
        container = lab.dockerd.containers(f"berth.database={db['id']}")[0]["Id"]
        image = lab.dockerd.inspect(container)["Config"]["Image"]
        ip = "10.217.200.1"
        subprocess.run(docker + ["run", "-d", "--name", "plain", "--network", lab.bridge, "--ip",
                                 ip, "--memory", f"{MEMORY_MB}m", "--user", "10001:10001",
                                 image, "/bin/sh", "-c", PLAIN], check=True, capture_output=True)
        plain_url = f"postgresql://berth:benchpass@{ip}:5432/bench"
        for url in (berth_url, plain_url):
            ready(url)
            pgbench(url, "-i", "-q", "-s", str(SCALE))
        results = {k: [] for k in ("berth", "plain", "berth_select", "plain_select")}
        for run in range(RUNS):
            for name, url in (("berth", berth_url), ("plain", plain_url)):
                subprocess.run(["psql", url, "-X", "-c", "CHECKPOINT"], capture_output=True)
                common = ["-c", str(CLIENTS), "-j", "2", "-T", str(SECONDS), "-n"]
                results[name].append(pgbench(url, *common))
                results[name + "_select"].append(pgbench(url, *common, "-S"))
            print(f"# run {run}: " + ", ".join(f"{k} {v[-1]:.0f}" for k, v in results.items()),
                  flush=True)
        for k, v in results.items():
            print(f"# {k}: median {statistics.median(v):.0f}, spread {min(v):.0f}-{max(v):.0f}")
        m = {k: statistics.median(v) for k, v in results.items()}
        print(f"pg_tps={m['berth']:.0f} tps")
        print(f"docker_run_tps={m['plain']:.0f} tps")
        print(f"pg_tps_ratio={m['berth'] / m['plain']:.2f} ratio")
        print(f"pg_select_tps={m['berth_select']:.0f} tps")
        print(f"docker_run_select_tps={m['plain_select']:.0f} tps")
        print(f"pg_select_tps_ratio={m['berth_select'] / m['plain_select']:.2f} ratio")
    finally:
        subprocess.run(docker + ["rm", "-f", "plain"], capture_output=True)
        lab.close()


if __name__ == "__main__":
    main()
