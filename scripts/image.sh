#!/usr/bin/env bash
# Builds Outrider's container image from the Dockerfile (bash scripts/dev.sh image [TAG], default outrider:dev),
# also on a machine that reaches no image registry:
#   - NODE_IMAGE (and RUNTIME_IMAGE) set: the build uses them.
#   - else node:24-slim, when present or pullable.
#   - else a Node 24 base made here, once, and cached (docker tags outrider-base/*, files under ~/.cache/outrider):
#     a Debian minbase root filesystem made by debootstrap from the mirror this machine's apt uses, upgraded from its
#     security suite, plus the Node 24 binary of the node@24 npm package (the platform package node-linux-<arch>
#     holds the binary; the `node` package only fetches it in a preinstall script) — the runtime base — and npm on
#     top of it for the build stages.
# npm inside the build trusts the CA bundle this machine trusts (NODE_EXTRA_CA_CERTS, else
# /etc/ssl/certs/ca-certificates.crt): outgoing TLS may be re-signed by a proxy. It is used by the build stages only.
# OUTRIDER_BASE_REFRESH=1 remakes the local base (new Debian updates, a newer Node 24).
set -euo pipefail
cd "$(dirname "$0")/.."

TAG="${1:-outrider:dev}"
CACHE="${OUTRIDER_CACHE:-$HOME/.cache/outrider}"
log() { printf '[image.sh +%ss] %s\n' "$SECONDS" "$*" >&2; }
die() {
  log "$*"
  exit 1
}

command -v docker >/dev/null || die "docker is not installed (bash scripts/dev.sh test installs it as root)"
docker version >/dev/null 2>&1 || die "the docker engine does not answer (is dockerd running?)"

case "$(uname -m)" in
  x86_64) NODE_ARCH=x64 DEB_ARCH=amd64 ;;
  aarch64) NODE_ARCH=arm64 DEB_ARCH=arm64 ;;
  *) die "no Node 24 base for $(uname -m): set NODE_IMAGE" ;;
esac

# The Debian mirror and suite this machine's apt uses: the first non-security, non-updates entry (deb822
# .sources files or one-line sources.list).
apt_source() {
  local files=(/etc/apt/sources.list.d/*.sources) uri suite
  if [ -e "${files[0]}" ]; then
    read -r uri suite < <(awk '
      /^URIs:/ { u = $2 } /^Suites:/ { s = $2 }
      /^$/ { if (u != "" && s !~ /-/) { print u, s; exit } u = ""; s = "" }
      END { if (u != "" && s !~ /-/) print u, s }' "${files[@]}" | head -1) || true
  fi
  if [ -z "${uri:-}" ] && [ -f /etc/apt/sources.list ]; then
    read -r uri suite < <(awk '$1 == "deb" && $3 !~ /-/ { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/) { print $i, $(i+1); exit } }' /etc/apt/sources.list) || true
  fi
  [ -n "${uri:-}" ] && [ -n "${suite:-}" ] || die "cannot find a Debian mirror in /etc/apt/sources.list(.d): set NODE_IMAGE"
  echo "$uri $suite"
}

# The Node 24 binary: the one `npm install -g --prefix ~/.cache/node24 node@24` put here, else the platform package
# fetched with npm pack. Prints its path.
node_binary() {
  local bin="$HOME/.cache/node24/lib/node_modules/node/node_modules/node-linux-$NODE_ARCH/bin/node"
  if [ -x "$bin" ] && [[ "$("$bin" --version)" == v24.* ]]; then
    echo "$bin"
    return
  fi
  mkdir -p "$CACHE/node"
  local tgz
  tgz=$(ls "$CACHE"/node/node-linux-"$NODE_ARCH"-24.*.tgz 2>/dev/null | sort -V | tail -1 || true)
  if [ -z "$tgz" ]; then
    log "fetching the Node 24 binary (npm pack node-linux-$NODE_ARCH@24)"
    (cd "$CACHE/node" && npm pack --silent "node-linux-$NODE_ARCH@24" >/dev/null)
    tgz=$(ls "$CACHE"/node/node-linux-"$NODE_ARCH"-24.*.tgz | sort -V | tail -1)
  fi
  local dir="${tgz%.tgz}"
  [ -x "$dir/package/bin/node" ] || { mkdir -p "$dir" && tar -xzf "$tgz" -C "$dir" package/bin/node; }
  echo "$dir/package/bin/node"
}

# npm for the build stages, as a tarball (npm bundles its dependencies).
npm_tarball() {
  mkdir -p "$CACHE/npm"
  local tgz
  tgz=$(ls "$CACHE"/npm/npm-11.*.tgz 2>/dev/null | sort -V | tail -1 || true)
  if [ -z "$tgz" ]; then
    log "fetching npm (npm pack npm@11)"
    (cd "$CACHE/npm" && npm pack --silent npm@11 >/dev/null)
    tgz=$(ls "$CACHE"/npm/npm-11.*.tgz | sort -V | tail -1)
  fi
  echo "$tgz"
}

# Debian minbase, trimmed like Debian's -slim images (no docs but copyright files, no man pages, locales, apt
# lists or package cache), security updates applied. Cached as a tar file and as a docker tag.
debian_base() {
  local uri suite source
  source=$(apt_source)
  read -r uri suite <<<"$source"
  local tag="outrider-base/debian:$suite-minbase"
  local tar="$CACHE/debian-$suite-minbase-$DEB_ARCH.tar"
  if [ "${OUTRIDER_BASE_REFRESH:-}" != 1 ] && docker image inspect "$tag" >/dev/null 2>&1; then
    echo "$tag"
    return
  fi
  if [ "${OUTRIDER_BASE_REFRESH:-}" = 1 ] || [ ! -f "$tar" ]; then
    [ "$(id -u)" = 0 ] || die "making the Debian base needs root (debootstrap); or set NODE_IMAGE to a Node 24 image"
    if ! command -v debootstrap >/dev/null; then
      log "installing debootstrap"
      apt-get update -qq >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >&2
    fi
    local keyring=/usr/share/keyrings/debian-archive-keyring.gpg root
    [ -f "$keyring" ] || keyring=
    mkdir -p "$CACHE"
    root=$(mktemp -d "$CACHE/rootfs.XXXXXX")
    log "debootstrap --variant=minbase $suite from $uri (a few minutes, once)"
    debootstrap --variant=minbase --arch="$DEB_ARCH" ${keyring:+--keyring="$keyring"} "$suite" "$root" "$uri" >"$CACHE/debootstrap.log" 2>&1 ||
      { tail -20 "$CACHE/debootstrap.log" >&2; rm -rf "$root"; die "debootstrap failed (log: $CACHE/debootstrap.log)"; }
    # apt inside the image uses what this machine's apt uses (the suite's updates and security too).
    rm -f "$root/etc/apt/sources.list"
    cp /etc/apt/sources.list.d/*.sources "$root/etc/apt/sources.list.d/" 2>/dev/null || cp /etc/apt/sources.list "$root/etc/apt/"
    cat >"$root/etc/dpkg/dpkg.cfg.d/outrider-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
EOF
    (
      cd "$root"
      find usr/share/doc -mindepth 1 ! -name copyright ! -type d -delete
      find usr/share/doc -mindepth 1 -type d -empty -delete
      rm -rf usr/share/man/* usr/share/info/* usr/share/locale/* var/cache/apt/* var/lib/apt/lists/* var/log/*.log \
        var/log/apt/* tmp/*
    )
    tar -C "$root" --numeric-owner -cf "$tar.tmp" . && mv "$tar.tmp" "$tar"
    rm -rf "$root"
  fi
  log "importing $tar and applying $suite updates"
  local raw="$tag-raw" c="outrider-base-upgrade-$$"
  docker import "$tar" "$raw" >/dev/null
  docker run --name "$c" "$raw" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get upgrade -y -qq \
    && apt-get clean && rm -rf /var/lib/apt/lists/* /var/log/apt/* /var/log/*.log' >&2 ||
    { docker rm -f "$c" >/dev/null; die "applying Debian updates failed"; }
  # One layer: the upgrade's replaced files are not kept twice.
  docker export "$c" | docker import -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'CMD ["bash"]' - "$tag" >/dev/null
  docker rm "$c" >/dev/null
  docker rmi "$raw" >/dev/null
  echo "$tag"
}

# Sets NODE_IMAGE and RUNTIME_IMAGE.
choose_base() {
  if [ -n "${NODE_IMAGE:-}" ]; then
    RUNTIME_IMAGE="${RUNTIME_IMAGE:-$NODE_IMAGE}"
    return
  fi
  if docker image inspect node:24-slim >/dev/null 2>&1 || docker pull -q node:24-slim >/dev/null 2>&1; then
    NODE_IMAGE=node:24-slim RUNTIME_IMAGE=node:24-slim
    return
  fi
  log "node:24-slim cannot be pulled: using a Node 24 base made here"
  local node version debian suite ctx
  node=$(node_binary)
  version=$("$node" --version)
  debian=$(debian_base)
  suite="${debian#*:}"
  suite="${suite%-minbase}"
  # -rN: how they are made (bump it when this script changes them, so older ones are not reused).
  RUNTIME_IMAGE="outrider-base/node-runtime:${version#v}-$suite-r1"
  NODE_IMAGE="outrider-base/node:${version#v}-$suite-r1"
  if [ "${OUTRIDER_BASE_REFRESH:-}" = 1 ] || ! docker image inspect "$RUNTIME_IMAGE" "$NODE_IMAGE" >/dev/null 2>&1; then
    ctx=$(mktemp -d)
    # The binary without debug information and symbol table (as Alpine's Node): 108 MB instead of 127, same code.
    cp "$node" "$ctx/node"
    strip "$ctx/node" 2>/dev/null || log "strip (binutils) not found: the Node binary keeps its symbols (+18 MB)"
    docker build -q -t "$RUNTIME_IMAGE" -f - "$ctx" >/dev/null <<EOF
FROM $debian
COPY node /usr/local/bin/node
RUN node --version
EOF
    rm -f "$ctx/node"
    cp "$(npm_tarball)" "$ctx/npm.tgz"
    docker build -q -t "$NODE_IMAGE" -f - "$ctx" >/dev/null <<EOF
FROM $RUNTIME_IMAGE
ADD npm.tgz /usr/local/lib/node_modules/
RUN mv /usr/local/lib/node_modules/package /usr/local/lib/node_modules/npm \
 && ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && npm --version
EOF
    rm -rf "$ctx"
  fi
}

choose_base
log "building $TAG from $NODE_IMAGE (runtime: $RUNTIME_IMAGE)"
# The CA bundle npm trusts in the build: a file of the build context, removed afterwards (.dockerignore lets only it
# and the sources in).
ca="${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}"
rm -f extra-ca.pem
trap 'rm -f extra-ca.pem' EXIT
if [ -r "$ca" ]; then cp "$ca" extra-ca.pem; fi
docker build -t "$TAG" --build-arg "NODE_IMAGE=$NODE_IMAGE" --build-arg "RUNTIME_IMAGE=$RUNTIME_IMAGE" . >&2
size=$(docker image inspect -f '{{.Size}}' "$TAG")
log "built $TAG: $((size / 1000000)) MB"
