#!/usr/bin/env python3
"""bench/backup: backup and restore throughput of a Redis dataset (SIZE_MB, 500 by default) in
MB/s, against `docker cp` of the same RDB file out of the same container in the same run.

Prints backup_mbps=, restore_mbps=, copy_mbps=, backup_copy_ratio= and restore_backup_ratio=
(medians of RUNS)."""
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
from harness import Lab, redis_cli  # noqa: E402

SIZE_MB = int(os.environ.get("SIZE_MB", "500"))
RUNS = int(os.environ.get("RUNS", "3"))
DOCKER = "/usr/bin/docker" if os.path.exists("/usr/bin/docker") else "docker"


def fill(address, password, size_mb):
    """size_mb of incompressible values (the RDB is as big as the data) via redis-cli --pipe."""
    value_size, batch = 4096, 1000
    count = size_mb * 1024 * 1024 // value_size
    proc = subprocess.Popen(["redis-cli", "--no-auth-warning", "-h", address, "-a", password,
                             "--pipe"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    for start in range(0, count, batch):
        chunk = []
        for i in range(start, min(start + batch, count)):
            value = os.urandom(value_size // 2).hex()
            key = f"key:{i}"
            chunk.append(f"*3\r\n$3\r\nSET\r\n${len(key)}\r\n{key}\r\n${value_size}\r\n{value}\r\n")
        proc.stdin.write("".join(chunk).encode())
    proc.stdin.close()
    proc.wait()
    return count


def timed(argv, env_cli):
    started = time.monotonic()
    r = env_cli(*argv)
    if r.returncode != 0:
        raise RuntimeError(f"berth {' '.join(argv)}: {r.stderr}")
    return time.monotonic() - started, r


def main():
    lab = Lab("bkbench", "10.211.0.0/16")
    berth, dockerd = lab.berth, lab.dockerd
    docker = [DOCKER, "-H", "unix://" + dockerd.socket]
    try:
        db = berth.api("POST", "/v1/databases", {"name": "big", "engine": "redis",
                                                  "memory_mb": SIZE_MB * 3 + 256})
        keys = fill(db["address"], db["password"], SIZE_MB)
        assert redis_cli(db["address"], db["password"], "dbsize") == str(keys)
        container = dockerd.containers(f"berth.database={db['id']}")[0]["Id"]
        backup_mbps, restore_mbps, copy_mbps = [], [], []
        for run in range(RUNS):
            # Both measured from an idle instance: no AOF rewrite or save running.
            while not all(f in redis_cli(db["address"], db["password"], "info", "persistence")
                          for f in ("rdb_bgsave_in_progress:0", "aof_rewrite_in_progress:0")):
                time.sleep(0.1)
            os.sync()  # both from a quiet disk: what an earlier step wrote is not theirs to flush
            seconds, r = timed(["backup", "big", "--json"], berth.cli)
            backup = json.loads(r.stdout)
            mb = backup["size_bytes"] / 1024 / 1024
            task = berth.api("GET", f"/v1/tasks/{backup['task_id']}")
            for line in task["log"]:
                print(f"#   {line}", flush=True)
            backup_mbps.append(mb / seconds)
            # The floor: Redis's own RDB of the same data, written by BGSAVE, copied out by Docker.
            saves = redis_cli(db["address"], db["password"], "info", "persistence")
            before = next(l for l in saves.splitlines() if l.startswith("rdb_saves:"))
            # Refused while the backup's fork is still exiting: ask again.
            while "started" not in redis_cli(db["address"], db["password"], "bgsave"):
                time.sleep(0.1)
            while True:
                info = redis_cli(db["address"], db["password"], "info", "persistence")
                if before not in info and "rdb_bgsave_in_progress:0" in info:
                    break
                time.sleep(0.1)
            started = time.monotonic()
            subprocess.run(docker + ["cp", f"{container}:/data/dump.rdb", f"/tmp/bkbench-{run}.rdb"],
                           check=True, capture_output=True)
            copy_mbps.append(os.path.getsize(f"/tmp/bkbench-{run}.rdb") / 1024 / 1024 /
                             (time.monotonic() - started))
            os.unlink(f"/tmp/bkbench-{run}.rdb")
            os.sync()
            seconds, out = timed(["restore", "big", backup["id"], "--json"], berth.cli)
            restore_mbps.append(mb / seconds)
            for line in json.loads(out.stdout).get("log", []):
                print(f"#   {line}", flush=True)
            container = dockerd.containers(f"berth.database={db['id']}")[0]["Id"]
            # Where a restore's time goes: Redis's own loading, from its log.
            logs = subprocess.run(docker + ["logs", "-t", container], capture_output=True,
                                  text=True).stdout
            for line in logs.splitlines():
                if "loaded" in line or "Ready to accept" in line or "MASTER MODE" in line:
                    print(f"#   redis: {line}", flush=True)
            assert redis_cli(db["address"], db["password"], "dbsize") == str(keys)
            berth.cli("backup", "rm", backup["id"])
            print(f"# run {run}: {mb:.0f} MB, backup {backup_mbps[-1]:.0f} MB/s, "
                  f"restore {restore_mbps[-1]:.0f} MB/s, docker cp {copy_mbps[-1]:.0f} MB/s",
                  flush=True)
        b, r, c = (statistics.median(x) for x in (backup_mbps, restore_mbps, copy_mbps))
        print(f"backup_mbps={b:.0f} MB/s")
        print(f"restore_mbps={r:.0f} MB/s")
        print(f"copy_mbps={c:.0f} MB/s")
        print(f"backup_copy_ratio={b / c:.2f} ratio")
        print(f"restore_backup_ratio={r / b:.2f} ratio")
    finally:
        if os.environ.get("BENCH_AGENT_LOG"):  # a copy of the agent's log, for a post-mortem
            shutil.copy(os.path.join(lab.workdir, "agent.log"), os.environ["BENCH_AGENT_LOG"])
        lab.close()


if __name__ == "__main__":
    main()
