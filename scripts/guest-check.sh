#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the guest: load mmcid_rs, run the fork pattern, read the
# report, unload, and check what the kernel said.  Prints one verdict line
# starting with "mmcid_rs: ".
set -eu

KO=./mmcid-rs.ko
VARIANT=v7.3
EXPECT=agree
SECONDS_RUN=5
RELOAD=0
STALL_MS=
DRIVER=./selftests/mmcid_rs/fork_pattern
D=/sys/kernel/debug/mmcid_rs

usage() {
	echo "usage: $0 [--variant V] [--expect agree|mismatch] [--seconds S] [--reload N] [--stall-ms MS] [--ko PATH]"
}

while [ $# -gt 0 ]; do
	case "$1" in
	--variant) VARIANT=$2; shift 2 ;;
	--expect) EXPECT=$2; shift 2 ;;
	--seconds) SECONDS_RUN=$2; shift 2 ;;
	--reload) RELOAD=$2; shift 2 ;;
	--stall-ms) STALL_MS=$2; shift 2 ;;
	--ko) KO=$2; shift 2 ;;
	*) usage >&2; exit 2 ;;
	esac
done

fail() {
	echo "mmcid_rs: FAIL: $*"
	exit 1
}

dmesg_clean() {
	if dmesg_splats; then
		fail "kernel warnings in dmesg"
	fi
}

. "$(dirname "$0")/guest-lib.sh"
guest_setup
dmesg -C
[ -x "$DRIVER" ] || fail "$DRIVER missing: build it with make -C selftests/mmcid_rs"

if [ "$RELOAD" -gt 0 ]; then
	"$DRIVER" $((RELOAD + 5)) >/dev/null &
	driver=$!
	i=0
	while [ $i -lt "$RELOAD" ]; do
		insmod "$KO" variant="$VARIANT" || fail "insmod $i failed"
		sleep 0.2
		rmmod mmcid_rs || fail "rmmod $i failed"
		[ ! -e "$D" ] || fail "$D left behind after unload $i"
		i=$((i + 1))
	done
	wait $driver || fail "the fork pattern failed"
	dmesg_clean
	[ "$(dmesg | grep -c 'mmcid_rs: unloaded')" = "$RELOAD" ] || fail "not every unload was logged"
	echo "mmcid_rs: loaded and unloaded $RELOAD times under the fork pattern, dmesg clean"
	exit 0
fi

# A bad parameter is refused with a reason.
if insmod "$KO" variant=bogus 2>/dev/null; then
	rmmod mmcid_rs
	fail "variant=bogus was accepted"
fi
dmesg | grep -q 'mmcid_rs: variant=bogus: unknown' || fail "no reason given for variant=bogus"
if insmod "$KO" stall_ms=99999 2>/dev/null; then
	rmmod mmcid_rs
	fail "stall_ms=99999 was accepted"
fi
dmesg | grep -q 'mmcid_rs: stall_ms=99999: too long' || fail "no reason given for stall_ms=99999"

insmod "$KO" variant="$VARIANT" ${STALL_MS:+stall_ms="$STALL_MS"} || fail "insmod $KO failed"
dmesg | grep -q 'mmcid_rs: loaded' || fail "no load line in dmesg"
for e in mismatch op_mismatch fixup_violation live_lock; do
	[ -d "/sys/kernel/tracing/events/mmcid_rs/$e" ] || fail "no trace event mmcid_rs:$e"
done
trace_findings_on || fail "cannot enable the mmcid_rs trace events"
# A bad write to reset is refused; a good one zeroes the counters.
if echo bogus >"$D/reset" 2>/dev/null; then
	fail "reset accepted 'bogus'"
fi
echo 1 >"$D/reset"
"$DRIVER" "$SECONDS_RUN" || fail "the fork pattern failed"
# The watchdog's timers run around checked forks and exits, then stop.
sleep 0.5
[ "$(report_get watchdog_starts)" -gt 0 ] || fail "the watchdog's timers were never armed"
[ "$(report_get watchdog_stops)" -gt 0 ] || fail "the watchdog's timers never stopped"
cat "$D/status"
mism=$(report_disagreements)
traced=$(trace_findings | grep -c -E ' (mismatch|op_mismatch|fixup_violation): cpu=') || true
trace_findings | head -4
verdict=$(report_verdict) || true
rmmod mmcid_rs || fail "rmmod failed"
[ ! -e "$D" ] || fail "$D left behind after unload"
dmesg | grep -q 'mmcid_rs: unloaded' || fail "no unload line in dmesg"
dmesg_clean

case "$EXPECT" in
agree)
	echo "$verdict"
	case "$verdict" in "mmcid_rs: FAIL"*) exit 1 ;; esac
	[ "$traced" = 0 ] || fail "$traced findings traced, none counted"
	;;
mismatch)
	[ "$mism" -gt 0 ] || fail "model $VARIANT found no mismatch"
	# The instance's buffer may overwrite old events, never add any.
	[ "$traced" -gt 0 ] && [ "$traced" -le "$mism" ] ||
		fail "$traced findings traced for $mism counted"
	echo "mmcid_rs: model $VARIANT disagrees with the C on $mism transitions, as it must; $traced traced as mmcid_rs:* events"
	;;
*)
	fail "unknown --expect $EXPECT"
	;;
esac
