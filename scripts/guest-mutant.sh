#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the guest for scripts/mutants.sh: load mmcid_rs on a 7.3
# kernel (mutated or not), run the kselftest, and print what the host
# needs to classify the run as "mutant-..." lines: the module's report,
# read before the unload, the first kept mismatches and the kselftest's
# exit status.  Exits 0 whatever the kselftest said, so that run-vng.sh
# reports only what the kernel said (a splat, a hang); the host classifies.
#
# --stop-at-finding ends the kselftest (its whole process group) once the
# module has printed its first finding (a mismatch or an invariant
# violation) or named a live lock: the module has decided, and the rest
# of the kselftest would only take time.  The report is read after that,
# as always.
set -u

KO=./mmcid-rs.ko
VARIANT=v7.3
SECONDS_RUN=10
STOP=0
T=./selftests/mmcid_rs/mmcid_rs_test
D=/sys/kernel/debug/mmcid_rs

usage() {
	echo "usage: $0 [--ko PATH] [--kselftest PATH] [--variant V] [--seconds S] [--stop-at-finding]"
}

while [ $# -gt 0 ]; do
	case "$1" in
	--ko) KO=$2; shift 2 ;;
	--kselftest) T=$2; shift 2 ;;
	--variant) VARIANT=$2; shift 2 ;;
	--seconds) SECONDS_RUN=$2; shift 2 ;;
	--stop-at-finding) STOP=1; shift ;;
	*) usage >&2; exit 2 ;;
	esac
done

. "$(dirname "$0")/guest-lib.sh"
guest_setup
if [ ! -x "$T" ] || [ ! -f "$KO" ]; then
	echo "mutant-error: $T or $KO missing in the guest"
	exit 1
fi

insmod "$KO" variant="$VARIANT"
rc=$?
[ $rc != 0 ] || trace_findings_on || echo "mutant-error: no mmcid_rs trace events"
echo "mutant-insmod-rc=$rc"
if [ $rc != 0 ]; then
	dmesg | grep -i 'mmcid\|module' | tail -5 | sed 's/^/mutant-dmesg: /'
	exit 0
fi

# The module's first finding since the load, or a live lock, as the
# kernel log has them: the kselftest resets the report between tests.
found() {
	dmesg | grep -q 'mmcid_rs: first finding since load\|mmcid_rs: live lock'
}

# A hang in here shows in the console log only; the host sees it.
if [ $STOP = 1 ]; then
	# setsid: the kselftest leads its own process group, which holds
	# every child and thread it starts.  The loop then runs SCHED_FIFO
	# so that the kselftest's spinners do not delay it.
	MMCID_RS_SECONDS=$SECONDS_RUN setsid "$T" &
	pid=$!
	chrt -f -p 10 $$
	while kill -0 $pid 2>/dev/null; do
		if found; then
			echo "mutant-stopped-at-finding"
			kill -s KILL -- -$pid 2>/dev/null
			break
		fi
		sleep 0.2
	done
	chrt -o -p 0 $$
	wait $pid
	rc=$?
else
	MMCID_RS_SECONDS=$SECONDS_RUN "$T"
	rc=$?
fi

sed 's/^/mutant-report: /' "$D/report"
trace_findings | grep -E ' (mismatch|op_mismatch|fixup_violation): cpu=' | head -5 |
	sed -E 's/^.* (mismatch|op_mismatch|fixup_violation): /mutant-mismatch: \1: /'
case "$(report_get live_locks)" in
""|0) ;;
*) head -5 "$D/live_lock" | sed 's/^/mutant-live-lock: /' ;;
esac
echo "mutant-kselftest-rc=$rc"
rmmod mmcid_rs || echo "mutant-rmmod-failed"
exit 0
