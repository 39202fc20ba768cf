#!/usr/bin/env bash
# Run .ci/run on a clean Debian 12 root, as a new user's machine would be:
# debootstrap --variant=minbase bookworm plus only build-essential, cmake,
# git, python3, ca-certificates and openssl. Everything else must come from
# scripts/deps.sh, so this proves that deps.sh names every package a stage
# needs (run it after changing deps.sh or adding a tool to a test).
#
#   scripts/ci-fresh.sh            run .ci/run in a fresh copy of the base root
#   scripts/ci-fresh.sh --clean    drop the cached base root first (rebuilt)
#   scripts/ci-fresh.sh --shell    a shell in the fresh root instead of .ci/run
#   scripts/ci-fresh.sh --keep     keep the root afterwards (for a look inside)
#
# The project copied in is a fresh `git clone` of HEAD: committed work only,
# no build directories. The base root (debootstrap + the six packages) is
# cached as a tarball in $MEMTLS_FRESH_DIR (default /var/tmp/memtls-ci-fresh)
# and unpacked into a new directory for every run. The Debian mirror is taken
# from /etc/apt (override with MEMTLS_FRESH_MIRROR). Runs as root; exits with
# .ci/run's status and prints the elapsed time.
set -euo pipefail

base_packages=(build-essential cmake git python3 ca-certificates openssl)
cache="${MEMTLS_FRESH_DIR:-/var/tmp/memtls-ci-fresh}"
clean=0
shell=0
keep=0
for a in "$@"; do
  case "$a" in
  --clean) clean=1 ;;
  --shell) shell=1 ;;
  --keep) keep=1 ;;
  -h | --help)
    sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "ci-fresh.sh: unknown option '$a' (see --help)" >&2
    exit 2
    ;;
  esac
done
[ "$(id -u)" -eq 0 ] || {
  echo "ci-fresh.sh: must run as root (debootstrap, mount, chroot)" >&2
  exit 1
}
command -v debootstrap >/dev/null || {
  echo "ci-fresh.sh: installing debootstrap" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
}

repo="$(cd "$(dirname "$0")/.." && git rev-parse --show-toplevel)"
head="$(git -C "$repo" rev-parse HEAD)"
start=$(date +%s)

# The first Debian mirror (and security mirror) the host's apt uses.
apt_uris() {
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    sed -n 's/^deb \(\[[^]]*\] \)\{0,1\}\([a-z]*:\/\/[^ ]*\).*/\2/p'
  cat /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 's/^URIs: *//p' | tr ' ' '\n'
}
mirror="${MEMTLS_FRESH_MIRROR:-$(apt_uris | grep -v security | grep -m1 . || true)}"
mirror="${mirror:-http://deb.debian.org/debian}"
security="$(apt_uris | grep -m1 security || true)"
security="${security:-http://deb.debian.org/debian-security}"

mounted=()
root=""
mnt() { # mnt TARGET ARGS...: mount and remember it for the cleanup
  local target="$1"
  shift
  mkdir -p "$target"
  mount "$@" "$target"
  mounted+=("$target")
}
umount_all() { # reverse order; lazily if a process still holds a mount
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount "${mounted[$i]}" 2>/dev/null || umount -l "${mounted[$i]}" 2>/dev/null || true
  done
  mounted=()
}
cleanup() {
  umount_all
  [ -n "$root" ] || return 0
  if [ "$keep" = 1 ]; then
    echo "kept the root in $root"
  elif ! grep -q " $root/" /proc/mounts; then
    rm -rf "$root"
  else
    echo "ci-fresh.sh: $root still has mounts, not removed" >&2
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$cache"
tarball="$cache/base-bookworm.tar"
if [ "$clean" = 1 ]; then
  rm -f "$tarball"
fi
if [ ! -s "$tarball" ]; then
  echo "== building the base root (debootstrap minbase bookworm from $mirror)"
  build="$cache/base.build"
  rm -rf "$build"
  debootstrap --variant=minbase bookworm "$build" "$mirror" >"$cache/debootstrap.log" 2>&1 || {
    echo "ci-fresh.sh: debootstrap failed:"
    tail -30 "$cache/debootstrap.log"
    exit 1
  }
  cat >"$build/etc/apt/sources.list" <<EOS
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
EOS
  cp /etc/resolv.conf "$build/etc/resolv.conf"
  mnt "$build/proc" -t proc proc
  mnt "$build/dev/pts" --bind /dev/pts
  # Only the base packages, as a user would install them by hand.
  chroot "$build" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    sh -c "apt-get update -qq && apt-get install -y -qq ${base_packages[*]} >/dev/null && apt-get clean" ||
    {
      echo "ci-fresh.sh: installing ${base_packages[*]} in the base root failed"
      exit 1
    }
  umount_all
  tar -C "$build" -cf "$tarball.part" .
  mv "$tarball.part" "$tarball"
  rm -rf "$build"
  echo "== base root cached in $tarball"
fi

root="$(mktemp -d "$cache/root.XXXXXX")"
tar -C "$root" -xf "$tarball"
cp /etc/resolv.conf "$root/etc/resolv.conf"
git clone -q "$repo" "$root/root/memtls"
git -C "$root/root/memtls" checkout -q "$head"
echo "== fresh root $root, memtls at $(git -C "$repo" log -1 --format='%h %s' "$head")"

mnt "$root/proc" -t proc proc
mnt "$root/sys" -t sysfs sysfs
mnt "$root/dev" --bind /dev
mnt "$root/dev/pts" --bind /dev/pts
mnt "$root/dev/shm" -t tmpfs -o mode=1777 shm
mnt "$root/tmp" -t tmpfs -o mode=1777 tmp

env=(/usr/bin/env -i HOME=/root TERM="${TERM:-dumb}" LANG=C.UTF-8
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)
status=0
if [ "$shell" = 1 ]; then
  chroot "$root" "${env[@]}" bash -c 'cd /root/memtls && exec bash -i' || status=$?
else
  chroot "$root" "${env[@]}" bash -c 'cd /root/memtls && bash .ci/run' || status=$?
fi
elapsed=$(($(date +%s) - start))
if [ "$status" = 0 ]; then
  echo "ci-fresh.sh: .ci/run passed on a clean Debian 12 root in ${elapsed} s ($((elapsed / 60)) min)"
else
  echo "ci-fresh.sh: .ci/run FAILED (exit $status) on a clean Debian 12 root after ${elapsed} s"
fi
exit "$status"
