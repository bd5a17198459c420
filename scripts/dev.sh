#!/usr/bin/env bash
# The two commands of README.md, runnable on a fresh Debian machine, and the image build:
#   bash scripts/dev.sh run    install Outrider and run it on the embedded default config (config/outrider.yaml)
#   bash scripts/dev.sh test   install Outrider and what its tests need (dockerd, auditd, sshd, rsyslog), run the tests
#   bash scripts/dev.sh image [TAG]
#                              build the container image (default outrider:dev), with no image registry if need be
#                              (scripts/image.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[dev.sh] %s\n' "$*" >&2; }

node_ok() {
  command -v node >/dev/null 2>&1 &&
    node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=15)?0:1)'
}

ensure_node() {
  if [ -x "$HOME/.cache/node24/bin/node" ]; then export PATH="$HOME/.cache/node24/bin:$PATH"; fi
  if ! node_ok; then
    log "node $(node --version 2>/dev/null || echo none) is older than 22.15: installing Node 24 under ~/.cache/node24"
    npm install -g --prefix "$HOME/.cache/node24" node@24 >&2
    export PATH="$HOME/.cache/node24/bin:$PATH"
  fi
  node_ok || { log "could not get Node >= 22.15"; exit 1; }
  log "node $(node --version)"
}

ensure_deps() {
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund >&2
  fi
  npm run build >&2
}

# System components the integration tests use for real. Only as root (CI, or a developer's VM).
ensure_system() {
  if [ "$(id -u)" != 0 ]; then log "not root: tests needing dockerd/auditd/sshd/rsyslog will skip loudly"; return; fi
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  # The CRI tests start a containerd of their own (Debian's, with its CRI plugin): containerd, ctr, the runc shim.
  [ -x /usr/bin/containerd ] && [ -x /usr/bin/ctr ] || missing+=(containerd)
  dpkg -s busybox-static >/dev/null 2>&1 || missing+=(busybox-static)
  command -v auditd >/dev/null || command -v /sbin/auditd >/dev/null || missing+=(auditd)
  [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
  [ -x /usr/sbin/rsyslogd ] || missing+=(rsyslog)
  dpkg -s rsyslog-gnutls >/dev/null 2>&1 || missing+=(rsyslog-gnutls)
  command -v certtool >/dev/null || missing+=(gnutls-bin)
  # The recorded real sessions (test/support/real-sessions.sh): a journald of their own, sudo.
  [ -x /lib/systemd/systemd-journald ] || missing+=(systemd)
  [ -x /usr/bin/sudo ] || missing+=(sudo)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
  fi
  if [ ! -S /var/run/docker.sock ] || ! docker version >/dev/null 2>&1; then
    log "starting dockerd"
    (nohup dockerd >/tmp/outrider-dockerd.log 2>&1 &)
    for _ in $(seq 1 60); do docker version >/dev/null 2>&1 && break; sleep 1; done
    docker version >/dev/null 2>&1 || { log "dockerd did not start:"; tail -20 /tmp/outrider-dockerd.log >&2; exit 1; }
  fi
  if ! auditctl -s 2>/dev/null | grep -q 'pid [1-9]'; then
    log "starting auditd"
    auditd >&2 || /sbin/auditd >&2 || true
    for _ in $(seq 1 20); do auditctl -s 2>/dev/null | grep -q 'pid [1-9]' && break; sleep 0.5; done
  fi
  auditctl -e 1 >/dev/null 2>&1 || log "cannot enable kernel audit (auditctl -e 1 failed)"
}

case "${1:-}" in
  run)
    ensure_node
    ensure_deps
    MALLOC_ARENA_MAX=1 MALLOC_MMAP_THRESHOLD_=131072 exec node --max-semi-space-size=4 --optimize-for-size dist/src/cli/entry.js run "${@:2}"
    ;;
  image)
    ensure_node
    ensure_system
    exec bash scripts/image.sh "${@:2}"
    ;;
  test)
    ensure_node
    ensure_system
    ensure_deps
    npm test
    ;;
  *)
    echo "usage: bash scripts/dev.sh run|test|image [TAG]" >&2
    exit 2
    ;;
esac
