#!/bin/sh
# `make up`: starts `berth up` (local etcd + server + agent on this machine's dockerd) in the
# background, puts `berth` on the PATH and prints how to use it. `make down` stops it.
set -eu
cd "$(dirname "$0")/.."
STATE=${BERTH_STATE_DIR:-/var/lib/berth}
LISTEN=${BERTH_LISTEN:-127.0.0.1:7070}
mkdir -p "$STATE"
ln -sf "$(pwd)/build/berth" /usr/local/bin/berth

if [ -f "$STATE/berth.pid" ] && kill -0 "$(cat "$STATE/berth.pid")" 2>/dev/null; then
  echo "berth is already running (pid $(cat "$STATE/berth.pid")); log: $STATE/berth.log"
  sed -n '/^berth is up/,$p' "$STATE/berth.log" | tail -n 12
  exit 0
fi

: > "$STATE/berth.log"
setsid ./build/berth up --state-dir "$STATE" --listen "$LISTEN" >>"$STATE/berth.log" 2>&1 </dev/null &
echo $! > "$STATE/berth.pid"
i=0
until grep -q '^berth is up' "$STATE/berth.log"; do
  if ! kill -0 "$(cat "$STATE/berth.pid")" 2>/dev/null || [ $i -ge 600 ]; then
    echo "berth did not start; its log ($STATE/berth.log) ends with:" >&2
    tail -n 20 "$STATE/berth.log" >&2
    exit 1
  fi
  i=$((i + 1)); sleep 0.1
done
sed -n '/^berth is up/,/^  berth rm/p' "$STATE/berth.log"
echo "Log: $STATE/berth.log   Stop: make down"
