#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the guest: guest-kselftest.sh VARIANT EXPECT [HARNESS ARGS]:
# the kselftest without the module (it must skip), then with the module
# loaded against VARIANT (the harness arguments, e.g. -v widen, select
# the tests).  EXPECT is
#   pass  it must pass; print the module's one-line verdict (make run);
#   fail  it must fail (a variant the C does not follow);
#   fake  with MMCID_RS_FAKE_CID it must fail on the duplicate CID and on
#         the out-of-range CID assertions (known-bad input for both);
#   undecided  with every bound on "not decided" at 0 it must fail on
#         the bounds (the fork pattern always leaves some undecided).
# MMCID_RS_FORCE=1 loads with force=1 (the version guard, run.sh --force);
# MMCID_RS_TEST runs another build of the kselftest (scripts/coverage.sh
# --before); MMCID_RS_GCOV_OUT saves the gcov profile there (guest-lib.sh).
set -u

VARIANT=${1:-v7.3}
EXPECT=${2:-pass}
shift 2 2>/dev/null || shift $#
# The rest goes to the harness (-v widen: that variant alone).
T=${MMCID_RS_TEST:-./selftests/mmcid_rs/mmcid_rs_test}

. "$(dirname "$0")/guest-lib.sh"
guest_setup
gcov_reset || exit 1
out=$("$T" 2>&1)
echo "$out" | grep -q 'SKIP.*mmcid_rs module not loaded' || {
	echo "$out"
	echo "mmcid_rs: FAIL: the kselftest did not skip without the module"
	exit 1
}
if ! insmod ./mmcid-rs.ko variant="$VARIANT" ${MMCID_RS_FORCE:+force=1}; then
	why=$(dmesg | grep 'mmcid_rs: ' | tail -1 | sed 's/^\[[^]]*\] //')
	case "$why" in *force=1*) why="$why (make run RUN_ARGS=--force)" ;; esac
	echo "mmcid_rs: FAIL: the module refused to load: ${why:-no reason in dmesg}"
	exit 1
fi

# fake_fails CID MESSAGE: the kselftest fails with MESSAGE when every
# thread sees CID.
fake_fails() {
	out=$(MMCID_RS_SECONDS=2 MMCID_RS_FAKE_CID=$1 "$T" -v one_per_cpu 2>&1)
	rc=$?
	echo "$out" | grep -E 'MMCID_RS_FAKE_CID|^# .*(seen by|possible CPUs)|^(not )?ok'
	if [ $rc = 0 ] || ! echo "$out" | grep -q "$2"; then
		echo "mmcid_rs: FAIL: the kselftest did not fail with '$2' on fake CID $1"
		return 1
	fi
}

if [ "$EXPECT" = fake ]; then
	ncpus=$(( $(sed 's/.*-//' /sys/devices/system/cpu/possible) + 1 ))
	fake_fails 0 'CID 0 seen by two running threads' &&
	fake_fails "$ncpus" "CID $ncpus >= $ncpus possible CPUs"
	rc=$?
	rmmod mmcid_rs
	[ $rc = 0 ] && echo "mmcid_rs: kselftest fails on a duplicate and on an out-of-range CID, as it must"
	exit $rc
fi

if [ "$EXPECT" = undecided ]; then
	out=$(MMCID_RS_SECONDS=2 MMCID_RS_UNDECIDED_PERMILLE=0 "$T" -v one_per_cpu 2>&1)
	rc=$?
	rmmod mmcid_rs
	echo "$out" | grep -E '^# not decided|^(not )?ok'
	if [ $rc = 0 ] || ! echo "$out" | grep -q 'above its bound'; then
		echo "mmcid_rs: FAIL: the kselftest passed with every bound on not decided at 0"
		exit 1
	fi
	echo "mmcid_rs: kselftest fails when not decided exceeds its bound, as it must"
	exit 0
fi

# Through tee: the console goes on showing each test as it ends, and the
# expected failures (7.3's known bugs, XFAIL) go into the verdict.
{ "$T" "$@"; echo $? >/tmp/kselftest.rc; } 2>&1 | tee /tmp/kselftest.out
rc=$(cat /tmp/kselftest.rc)
xfail=$(sed -n 's/^ok [0-9]* \([^ ]*\) # XFAIL \(.*\)/\1: \2/p' /tmp/kselftest.out | cut -c1-160 | paste -sd ';' -)
gcov_save || rc=1
report_paths_missing
verdict=$(report_verdict)
forced=$(report_forced)
rmmod mmcid_rs
case "$EXPECT:$rc" in
pass:0) echo "$verdict; kselftest passed${xfail:+ (expected failures, 7.3's known bugs: $xfail)}" ;;
fail:0) echo "mmcid_rs: FAIL: kselftest passed against $VARIANT$forced"; exit 1 ;;
pass:*) echo "$verdict"; echo "mmcid_rs: FAIL: kselftest failed against $VARIANT$forced"; exit 1 ;;
fail:*) echo "mmcid_rs: kselftest failed against $VARIANT, as it must" ;;
esac
