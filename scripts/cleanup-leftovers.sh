#!/bin/sh
# Removes what an earlier, interrupted test run left behind (by our own names): test
# daemons, their mounts and temporary folders.
# A private dockerd: its containers first (they outlive the daemon), then the daemon.
for sock in /tmp/berth-test-*/docker.sock /tmp/berth-test-*/docker/docker.sock; do
  [ -S "$sock" ] || continue
  ids=$(docker -H "unix://$sock" ps -aq 2>/dev/null)
  [ -n "$ids" ] && docker -H "unix://$sock" rm -f -v $ids >/dev/null 2>&1
done
for pidfile in /tmp/berth-test-*/docker.pid /tmp/berth-test-*/docker/docker.pid; do
  [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null
done
# Their bridges: "bt" + test tag + pid (tests/e2e/harness.py).
for link in $(ip -br link show type bridge 2>/dev/null | awk '$1 ~ /^bt/ {print $1}'); do
  ip link del "$link" 2>/dev/null
done
pkill -f 'etcd --name test --data-dir /tmp/berth-test-' 2>/dev/null
pkill -f 'berth-test-.*/berth ' 2>/dev/null
# The berth package tests/e2e/test_package.py installed (it marks that it did).
for marker in /tmp/berth-test-package-*/installed; do
  [ -f "$marker" ] && dpkg --purge berth >/dev/null 2>&1
done
for d in /tmp/berth-test-*; do
  [ -d "$d" ] || continue
  grep -o " $d[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
  rm -rf "$d"
done
# The multi-host lab: namespaces berth-h*, links bveth*/berth-lan, folders /tmp/berth-lab-*.
python3 -c "import sys; sys.path.insert(0, '$(dirname "$0")/../tests/e2e'); import lab; lab.remove_leftovers()" 2>/dev/null
exit 0
