#!/bin/sh
# `make down`: stops the berth started by `make up` (databases keep running in Docker and
# are found again by the next `make up`).
set -eu
STATE=${BERTH_STATE_DIR:-/var/lib/berth}
if [ -f "$STATE/berth.pid" ] && kill -0 "$(cat "$STATE/berth.pid")" 2>/dev/null; then
  pid=$(cat "$STATE/berth.pid")
  kill -INT "$pid"
  i=0
  while kill -0 "$pid" 2>/dev/null && [ $i -lt 200 ]; do i=$((i + 1)); sleep 0.1; done
  echo "berth stopped"
else
  echo "berth is not running"
fi
rm -f "$STATE/berth.pid"
