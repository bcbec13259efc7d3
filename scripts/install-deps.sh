#!/bin/sh
# Installs every Debian 12 package berth needs to build, run and test. Idempotent:
# does nothing (and needs no network) when everything is already installed.
set -eu
PKGS="build-essential cmake ninja-build pkg-config clang-format git ca-certificates curl
 libboost1.81-dev libboost-url1.81-dev libboost-json1.81-dev libboost-context1.81-dev
 nlohmann-json3-dev libcli11-dev libfmt-dev libssl-dev libgtest-dev
 docker.io etcd-server etcd-client redis-server redis-tools
 iproute2 iptables procps psmisc util-linux e2fsprogs python3 iputils-arping redis-sentinel
 tarantool memcached libmsgpuck-dev sasl2-bin prometheus chromium wrk python3-redis
 ansible systemd file clang libclang-rt-14-dev
 postgresql-15 postgresql-client-15 libpq-dev"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# Node.js and npm drive Chromium in the browser test. A Node.js that brings its own npm
# conflicts with Debian's npm package, so Debian's pair comes only where npm is missing.
command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"
if [ -n "$missing" ]; then
  echo "install-deps: installing$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d keeps apt from starting daemons (dockerd, etcd, redis) we start ourselves.
  had_policy=0; [ -e /usr/sbin/policy-rc.d ] && had_policy=1
  [ $had_policy = 1 ] || { printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; }
  apt-get install -y -qq --no-install-recommends $missing
  [ $had_policy = 1 ] || rm -f /usr/sbin/policy-rc.d
  # Prometheus runs only as a test's child process: its Debian service stays off at boot too.
  case "$missing " in *" prometheus "*)
    systemctl disable prometheus >/dev/null 2>&1 || true
    update-rc.d prometheus disable >/dev/null 2>&1 || true ;;
  esac
fi

# playwright-core for the browser test (tests/web), from its lockfile; installed again only
# when the lockfile changed since the last install.
web="$(cd "$(dirname "$0")/.." && pwd)/tests/web"
if ! cmp -s "$web/package-lock.json" "$web/node_modules/.installed-lock.json"; then
  echo "install-deps: npm ci in tests/web"
  (cd "$web" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  cp "$web/package-lock.json" "$web/node_modules/.installed-lock.json"
fi
