#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the guest: the kselftest's affinity fixture (narrowing and
# widening while threads run) with the module loaded against each model
# variant of the affinity path.  KERNEL says which kernel booted:
#   fixed  patches/affinity-switchback: against affinity-switchback the
#          fixture passes and the widening switches back (no XFAIL);
#          against v7.3 the module reports mismatches and it fails;
#   v7.3   against v7.3 it passes with the widening an XFAIL (7.3 keeps
#          per CPU mode); against affinity-switchback it fails.
# The widening needs num_possible_cpus() >= 6.  On x86 possible_cpus=N only
# lowers the count the firmware gives; boot 8 vCPUs with only some online
# (run-vng.sh --cpus 4 --possible 8: 4 and the watcher online).
set -u

KERNEL=${1:-}
T=./selftests/mmcid_rs/mmcid_rs_test
WIDEN='affinity\.widen\.affinity_change_keeps_promises_and_c_agrees_with_rust'

. "$(dirname "$0")/guest-lib.sh"
guest_setup

fail() {
	echo "mmcid_rs: FAIL: $*"
	exit 1
}

case "$KERNEL" in
fixed) GOOD=affinity-switchback BAD=v7.3 ;;
v7.3) GOOD=v7.3 BAD=affinity-switchback ;;
*) echo "usage: $0 fixed|v7.3" >&2; exit 2 ;;
esac
possible=$(cat /sys/devices/system/cpu/possible)
echo "possible CPUs: $possible, online: $(cat /sys/devices/system/cpu/online)"
[ "${possible#0-}" -ge 5 ] 2>/dev/null ||
	fail "possible CPUs $possible: the widening needs 6 or more (run-vng.sh --possible 8)"

# run VARIANT ARGS...: the fixture with the module against VARIANT; its
# lines that matter, then its exit status in $rc and output in $out.
run() {
	v=$1
	shift
	insmod ./mmcid-rs.ko variant="$v" || fail "insmod variant=$v failed"
	trace_findings_on
	out=$(MMCID_RS_SECONDS=2 "$T" -f affinity "$@" 2>&1)
	rc=$?
	findings=$(trace_findings | head -3)
	rmmod mmcid_rs || fail "rmmod failed"
	echo "$out" | grep -E '^(not )?ok|^# (widen|XFAIL|not decided|[0-9]+ rounds)|Expected|above its bound|disagree|kept after|was checked|cannot tell|did not enter' |
		sed "s/^/[$v] /"
	[ -z "$findings" ] || echo "$findings" | sed "s/^/[$v] first findings: /"
}

run "$GOOD"
[ "$rc" = 0 ] || fail "the affinity fixture failed against $GOOD on the $KERNEL kernel"
if [ "$KERNEL" = fixed ]; then
	echo "$out" | grep -Eq "^ok [0-9]+ $WIDEN\$" ||
		fail "the widening did not pass outright (XFAIL or SKIP) on the fixed kernel"
else
	echo "$out" | grep -Eq "^ok [0-9]+ $WIDEN # XFAIL" ||
		fail "the widening is no XFAIL on 7.3"
fi
dmesg_splats && fail "kernel warnings in dmesg"

run "$BAD" -v widen
[ "$rc" != 0 ] || fail "the widening passed against $BAD on the $KERNEL kernel"
echo "$out" | grep -q 'C and Rust disagree' ||
	fail "no mismatch against $BAD on the $KERNEL kernel"
echo "mmcid_rs: affinity path on the $KERNEL kernel: $GOOD agrees (widening $([ "$KERNEL" = fixed ] && echo passes || echo XFAIL)), $BAD has mismatches, as it must"
