#!/usr/bin/env python3
"""bench/provision: for each engine, the time from POST /v1/databases to the engine answering
at the returned address, against plain `docker run` of the same image until it answers, in the
same run on the same daemon.

Prints provision_ms=, docker_run_ms=, provision_ratio= for Redis, and the same three with
_tarantool, _memcached and _postgres suffixes (medians of RUNS runs each). PostgreSQL answers
once psql signs in and runs a query; its plain run does what berth's container does on a first
start (initdb with a password, CREATE DATABASE in single-user mode, then the server)."""
import os
import socket
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
from harness import Lab, redis_cli  # noqa: E402

RUNS = int(os.environ.get("RUNS", "11"))
DOCKER = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else "docker"


def answers(address, port, request, expect):
    """Whether a TCP server at address:port says expect (after request, if any)."""
    try:
        with socket.create_connection((address, port), timeout=0.2) as s:
            if request:
                s.sendall(request)
            return s.recv(256).startswith(expect)
    except OSError:
        return False


def redis_ready(address, password):
    return redis_cli(address, password, "ping") == "PONG"


def postgres_ready(address, password):
    return subprocess.run(["psql", f"postgresql://berth:{password}@{address}:5432/postgres",
                           "-X", "-At", "-c", "SELECT 1"], capture_output=True,
                          env={**os.environ, "PGCONNECT_TIMEOUT": "1"}).returncode == 0


PG = "/usr/lib/postgresql/15/bin"
PLAIN_POSTGRES = (
    f"echo benchpass > /data/pw && {PG}/initdb -D /data/pg -U berth --pwfile=/data/pw "
    f"--auth=scram-sha-256 --encoding=UTF8 --locale=C >/dev/null && "
    f"echo 'CREATE DATABASE \"p\"' | {PG}/postgres --single -D /data/pg postgres >/dev/null && "
    f"exec {PG}/postgres -D /data/pg -c listen_addresses='*' -c unix_socket_directories='' "
    f"-c hba_file=/etc/berth-postgres/pg_hba.conf")


ENGINES = {
    # engine: (readiness check, plain command for `docker run` of the same image)
    "redis": (redis_ready,
              ["/usr/bin/redis-server", "--protected-mode", "no", "--requirepass", "benchpass"]),
    "tarantool": (lambda a, _: answers(a, 3301, b"", b"Tarantool"),
                  ["/usr/bin/tarantool", "-e",
                   "box.cfg{listen = 3301, memtx_dir = '/tmp', wal_dir = '/tmp',"
                   " memtx_memory = 64 * 1024 * 1024}"]),
    "memcached": (lambda a, _: answers(a, 11211, b"version\r\n", b"VERSION"),
                  ["/usr/bin/memcached", "--port=11211", "--memory-limit=100"]),
    "postgres": (postgres_ready, ["/bin/sh", "-c", PLAIN_POSTGRES]),
}


def wait_ready(check, address, password, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check(address, password):
            return
    raise RuntimeError(f"{address} never answered")


def measure(lab, engine, first_ip):
    berth, dockerd = lab.berth, lab.dockerd
    docker = [DOCKER, "-H", "unix://" + dockerd.socket]
    check, plain_cmd = ENGINES[engine]
    # Warm up: the first create builds the image.
    warm = berth.api("POST", "/v1/databases", {"name": "warm", "engine": engine,
                                                "memory_mb": 128})
    inspect = dockerd.inspect(dockerd.containers(f"berth.database={warm['id']}")[0]["Id"])
    image, user = inspect["Config"]["Image"], inspect["Config"]["User"]
    berth.api("DELETE", "/v1/databases/warm")
    provision, plain = [], []
    for i in range(RUNS):
        started = time.monotonic()
        db = berth.api("POST", "/v1/databases", {"name": f"p{i}", "engine": engine,
                                                  "memory_mb": 128})
        wait_ready(check, db["address"], db.get("password", ""))
        provision.append((time.monotonic() - started) * 1000)

        ip = f"10.216.200.{first_ip + i}"
        started = time.monotonic()
        subprocess.run(docker + ["run", "-d", "--name", f"plain{i}", "--network", lab.bridge,
                                 "--ip", ip, "--memory", "128m"] +
                       (["--user", user] if user else []) + [image] + plain_cmd,
                       check=True, capture_output=True)
        wait_ready(check, ip, "benchpass")
        plain.append((time.monotonic() - started) * 1000)
    for i in range(RUNS):
        berth.api("DELETE", f"/v1/databases/p{i}")
        subprocess.run(docker + ["rm", "-f", f"plain{i}"], capture_output=True)
    return statistics.median(provision), statistics.median(plain)


def main():
    lab = Lab("bench", "10.216.0.0/16")
    try:
        only = os.environ.get("ENGINES", "").split(",")  # e.g. ENGINES=postgres; all by default
        for k, engine in enumerate(ENGINES):
            if only != [""] and engine not in only:
                continue
            p, d = measure(lab, engine, 1 + k * RUNS)
            suffix = "" if engine == "redis" else "_" + engine
            print(f"provision_ms{suffix}={p:.0f} ms")
            print(f"docker_run_ms{suffix}={d:.0f} ms")
            print(f"provision_ratio{suffix}={p / d:.2f} ratio", flush=True)
    finally:
        lab.close()


if __name__ == "__main__":
    main()
