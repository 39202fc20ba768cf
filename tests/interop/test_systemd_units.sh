#!/usr/bin/env bash
# contrib/memtls.service and memtls.socket pass `systemd-analyze verify`
# (with ExecStart pointing at the memtls under test and the man page of
# Documentation= found in docs/), and the hardening leaves an exposure
# rated OK by `systemd-analyze security`. Skipped where systemd-analyze is
# not installed. A unit whose program is missing fails the same check, so
# the check can fail.
source "$(dirname "$0")/lib.sh" "$@"
ROOT="$(cd "$HERE/../.." && pwd)"

if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "skip: systemd-analyze not installed"
  pass "skipped"
fi
mkdir -p "$WORK/units" "$WORK/man/man1"
cp "$ROOT/docs/memtls.1" "$WORK/man/man1/"
sed "s|/usr/local/bin/memtls|$(cd "$(dirname "$MEMTLS")" && pwd)/$(basename "$MEMTLS")|" \
  "$ROOT/contrib/memtls.service" >"$WORK/units/memtls.service"
cp "$ROOT/contrib/memtls.socket" "$WORK/units/"
grep -q "^ExecStart=$(cd "$(dirname "$MEMTLS")" && pwd)" "$WORK/units/memtls.service" ||
  fail "ExecStart not rewritten: $(grep ExecStart "$WORK/units/memtls.service")"

cd "$WORK/units" || fail "cd"
MANPATH="$WORK/man" systemd-analyze verify ./memtls.socket ./memtls.service >"$WORK/verify.log" 2>&1 ||
  fail "systemd-analyze verify: $(cat "$WORK/verify.log")"
[ ! -s "$WORK/verify.log" ] || fail "systemd-analyze verify complained: $(cat "$WORK/verify.log")"
ok "systemd-analyze verify memtls.socket memtls.service: clean"

systemd-analyze security --offline=yes ./memtls.service >"$WORK/security.log" 2>&1 ||
  fail "systemd-analyze security: $(tail -5 "$WORK/security.log")"
exposure="$(sed -n 's/.*Overall exposure level for memtls.service: \([0-9.]*\) \([A-Z]*\).*/\1 \2/p' "$WORK/security.log")"
case "$exposure" in
*" OK") ok "systemd-analyze security: exposure $exposure" ;;
*) fail "exposure '$exposure' is not OK: $(grep -E '^✗' "$WORK/security.log" | head -20)" ;;
esac

# The check can fail: the same unit with a program that does not exist.
sed "s|^ExecStart=[^ ]*|ExecStart=$WORK/no-such-memtls|" memtls.service >broken.service
if MANPATH="$WORK/man" systemd-analyze verify ./broken.service >"$WORK/broken.log" 2>&1; then
  fail "verify accepted a unit whose program is missing"
fi
ok "a unit whose program is missing fails: $(head -1 "$WORK/broken.log")"
pass
