#!/bin/sh
# Runs every benchmark; each prints `name=value unit` lines.
set -eu
cd "$(dirname "$0")/.."
./scripts/cleanup-leftovers.sh
python3 bench/provision.py
python3 bench/dataplane.py --engine postgres
python3 bench/footprint.py
python3 bench/api.py
python3 bench/failover.py
python3 bench/backup.py
python3 bench/etcd.py
FAULTS=${FAULTS:-200} python3 bench/chaos.py
