#!/usr/bin/env bash
# First README command. On a fresh Debian box: Node >= 24, the Debian packages the tests need,
# npm ci, production build. Idempotent: every step checks before it acts and says what it does.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }

APT_UPDATED=0
apt_install() {
  is_root || die "missing Debian packages: $*; run this script as root or: sudo apt-get install -y $*"
  command -v apt-get >/dev/null || die "missing packages $* and no apt-get: install them with your package manager"
  if [ "$APT_UPDATED" = 0 ]; then
    say "apt-get update"
    apt-get update -qq || die "apt-get update failed"
    APT_UPDATED=1
  fi
  say "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null \
    || die "apt-get install $* failed"
}

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
npm_major() { npm --version 2>/dev/null | cut -d. -f1 || echo 0; }

# 1. Node.js 24 (and an npm that goes with it). The npm registry's `node` package ships the
#    official binary; installed under /usr/local it comes ahead of Debian's older /usr/bin/node.
if [ "$(node_major)" -ge 24 ]; then
  say "node $(node --version) is recent enough"
else
  is_root || die "Node >= 24 is required (found $(node --version 2>/dev/null || echo none)); install Node 24 LTS, e.g. with nvm (.nvmrc says 24)"
  command -v npm >/dev/null || apt_install nodejs npm
  say "installing node@24 from the npm registry into /usr/local"
  npm install -g --prefix /usr/local node@24 >/dev/null 2>&1 || die "npm install -g node@24 failed"
  hash -r
  [ "$(node_major)" -ge 24 ] || die "node@24 was installed but $(command -v node) is still $(node --version); put /usr/local/bin first on PATH"
  say "node $(node --version) installed at $(command -v node)"
fi
if [ "$(npm_major)" -lt 10 ]; then
  is_root || die "npm >= 10 is required (found $(npm --version 2>/dev/null || echo none))"
  say "installing npm@11 into /usr/local"
  npm install -g --prefix /usr/local npm@11 >/dev/null 2>&1 || die "npm install -g npm@11 failed"
  hash -r
fi

# 2. Debian packages the tests run for real (each test starts its own instance on a free port).
#    docker.io + debootstrap: `npm run test:docker` builds the production image on a real engine
#    (its own dockerd when none is reachable) and, where Docker Hub cannot be reached, makes the
#    Debian bookworm base images locally with debootstrap. Installing docker.io starts no daemon
#    here (the harness starts and stops its own); on a host that has Docker already, nothing changes.
missing=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
PACKAGES=(nginx redis-server postgresql chromium docker-compose shellcheck openssl docker.io debootstrap)
for pkg in "${PACKAGES[@]}"; do
  have_pkg "$pkg" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  apt_install "${missing[@]}"
else
  say "Debian packages present: ${PACKAGES[*]}"
fi

# 3. Dependencies exactly as locked.
say "npm ci"
npm ci --no-audit --no-fund >/dev/null || die "npm ci failed (run it by hand to see why)"

# 4. Production build (.next/standalone, as the Dockerfile and the deploy CLI run it).
say "npm run build"
npm run build >/tmp/unite-hub-build.log 2>&1 || { tail -40 /tmp/unite-hub-build.log >&2; die "npm run build failed (log: /tmp/unite-hub-build.log)"; }
say "done: run 'npm test'"
