#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside a guest of a debug flavour (scripts/debug.config,
# scripts/kcsan.config; docs/debug.md).  One of:
#
#   run CMD...        run another guest script, then scan for leaks
#                     (kmemleak) and for every report of the detectors;
#   cycles N MS       load and unload the module N times (stall_ms=MS)
#                     while the fork pattern runs; after each unload no
#                     probe, debugfs or trace entry may be left; each load
#                     starts its counters from zero; then scan;
#   races S           the fork pattern for S seconds without the module,
#                     then the kselftest with it (the KCSAN flavour: the
#                     host sorts the races by the phase markers);
#   provoke           the known-bad input: lkdtm makes UBSAN, KFENCE and
#                     lockdep report for real, and the scan must name each.
#
# Prints "mmcid_rs: debug: ..." lines; exits 1 when the scan found
# anything.  --allow-kcsan leaves "BUG: KCSAN: data-race" reports to the
# host, which tells the module's from the kernel's (scripts/kcsan-races.py).
# shellcheck disable=SC3043 # dash, the guest's sh, has local
set -u

KO=./mmcid-rs.ko
DRIVER=./selftests/mmcid_rs/fork_pattern
D=/sys/kernel/debug/mmcid_rs
LEAKS=/sys/kernel/debug/kmemleak
ALLOW_KCSAN=0

usage() {
	echo "usage: $0 [--allow-kcsan] [--ko PATH] run CMD... | cycles N STALL_MS | races SECONDS | provoke" >&2
	exit 2
}

fail() {
	echo "mmcid_rs: debug: FAIL: $*"
	exit 1
}

# The detectors' reports in the kernel log since the last dmesg -C
# (dmesg_splats(), guest-lib.sh).
splats() {
	if [ "$ALLOW_KCSAN" = 1 ]; then
		dmesg_splats | grep -v 'BUG: KCSAN: data-race'
	else
		dmesg_splats
	fi
}

# What ran under the detectors, one line: lockdep still on, how much it
# saw, KFENCE's allocations, kmemleak's objects.
detectors_line() {
	local locks classes chains kf full
	locks=$(sed -n 's/^ *debug_locks: *//p' /proc/lockdep_stats 2>/dev/null)
	classes=$(sed -n 's/^ *lock-classes: *\([0-9]*\).*/\1/p' /proc/lockdep_stats 2>/dev/null)
	chains=$(sed -n 's/^ *dependency chains: *\([0-9]*\).*/\1/p' /proc/lockdep_stats 2>/dev/null)
	kf=$(sed -n 's/^total allocations: *//p' /sys/kernel/debug/kfence/stats 2>/dev/null)
	full=$(sed -n 's/^skipped allocations (capacity): *//p' /sys/kernel/debug/kfence/stats 2>/dev/null)
	echo "mmcid_rs: debug: lockdep ${locks:+debug_locks $locks, }${classes:-no} lock classes, ${chains:-no} chains; KFENCE ${kf:-no} allocations sampled${full:+, $full skipped with its pool full}"
}

# Ask kmemleak for leaks since leaks_start.  Objects younger than 5 s are
# never reported, so wait that long after the last unload first.
leaks_start() {
	[ -w "$LEAKS" ] && echo clear >"$LEAKS"
}
leaks_scan() {
	local n
	[ -w "$LEAKS" ] || return 0
	sleep 6
	echo scan >"$LEAKS"
	echo scan >"$LEAKS"	# the first scan may still see stale pointers
	n=$(grep -c '^unreferenced object' "$LEAKS")
	echo "mmcid_rs: debug: kmemleak: $n new suspected leaks"
	[ "$n" = 0 ] || { head -40 "$LEAKS"; return 1; }
}

# scan_end: the verdict on everything since the command began.
scan_end() {
	local rc=0 s
	leaks_scan || rc=1
	detectors_line
	s=$(splats)
	if [ -n "$s" ]; then
		echo "$s" | head -20 | sed 's/^/mmcid_rs: debug: splat: /'
		rc=1
	fi
	[ "$rc" = 0 ] && echo "mmcid_rs: debug: no splat, no leak"
	return $rc
}

. "$(dirname "$0")/guest-lib.sh"

# Nothing of the module's may be left once it is unloaded.
nothing_left() {
	[ ! -e "$D" ] || fail "unload $1: $D left behind"
	[ ! -e /sys/kernel/tracing/events/mmcid_rs ] || fail "unload $1: trace events left behind"
	! grep -q 'sched_mm_cid_\(fork\|exit\)' /sys/kernel/debug/kprobes/list ||
		fail "unload $1: a kretprobe left behind: $(cat /sys/kernel/debug/kprobes/list)"
	! grep -q '^finish_task_switch' /sys/kernel/tracing/enabled_functions ||
		fail "unload $1: the finish_task_switch ftrace_ops left behind"
}

# stopped PID: wait up to 5 s until every thread of PID has stopped (or
# is gone): none of them switches any more.
stopped() {
	local n=0 st
	while [ $n -lt 100 ]; do
		st=$(cat /proc/"$1"/task/*/stat 2>/dev/null | cut -d' ' -f3 | grep -cv '^[TtZX]$')
		[ "$st" = 0 ] && return 0
		sleep 0.05
		n=$((n + 1))
	done
	return 1
}

# cycles N MS: the fork pattern runs throughout, stopped only while a
# fresh load's report is read: with pid= set to the pattern, nothing can
# have been checked yet, so every counter of a new load must be 0.
cycles() {
	local n="$1" ms="$2" i=0 pat a0 f0 w0 a1 f1 total=0
	"$DRIVER" 100000 >/dev/null &
	pat=$!
	sleep 1
	while [ $i -lt "$n" ]; do
		kill -STOP $pat
		stopped $pat || fail "the fork pattern did not stop within 5 s"
		insmod "$KO" pid=$pat stall_ms="$ms" || fail "insmod $i failed"
		a0=$(report_get agreed) f0=$(report_get agreed_fork_exit)
		w0=$(report_get watchdog_starts)
		[ "$a0/$f0/$w0" = 0/0/0 ] ||
			fail "load $i starts at agreed $a0, agreed_fork_exit $f0, watchdog_starts $w0"
		kill -CONT $pat
		sleep 0.5
		a1=$(report_get agreed) f1=$(report_get agreed_fork_exit)
		[ "$a1" -gt 0 ] || fail "load $i checked no switch of the pattern in 0.5 s"
		total=$((total + a1 + f1))
		rmmod mmcid_rs || fail "rmmod $i failed"
		nothing_left $i
		i=$((i + 1))
	done
	kill $pat
	wait $pat 2>/dev/null
	[ "$(dmesg | grep -c 'mmcid_rs: unloaded')" = "$n" ] || fail "not every unload was logged"
	echo "mmcid_rs: debug: $n loads and unloads (stall_ms=$ms) under the fork pattern, each from zero; $total checks agreed in all; nothing left behind"
}

# The KCSAN flavour: the kernel's own races under the fork pattern, then
# the kselftest with the module.  The markers go to the console.
races() {
	echo "mmcid_rs: debug: phase unloaded" >/dev/kmsg
	"$DRIVER" "$1" 10 || fail "the fork pattern failed"
	echo "mmcid_rs: debug: phase loaded" >/dev/kmsg
	# As on the debug flavour, 30 s a test; KCSAN under TCG is slower
	# still, so the bounds on "not decided" are doubled (docs/debug.md).
	MMCID_RS_SECONDS=30 MMCID_RS_UNDECIDED_SCALE=2 ./scripts/guest-kselftest.sh v7.3 pass ||
		fail "the kselftest failed"
	echo "mmcid_rs: debug: phase end" >/dev/kmsg
}

# provoke: real reports of three detectors, each by lkdtm.  SPINLOCKUP
# returns to user space holding a spinlock, so it runs in a shell of its
# own: lockdep names the lock on the way out and at exit, and the exit
# sleeps in atomic context.
provoke() {
	local t=/sys/kernel/debug/provoke-crash/DIRECT n
	modprobe lkdtm || fail "no lkdtm module (CONFIG_LKDTM=m)"
	echo ARRAY_BOUNDS >$t
	# lkdtm waits 100 sample intervals for KFENCE to sample its
	# allocation; a slow guest may miss it, so ask again.
	n=0
	while [ $n -lt 10 ] && ! dmesg | grep -q 'BUG: KFENCE: use-after-free'; do
		echo KFENCE_READ_AFTER_FREE >$t
		n=$((n + 1))
	done
	sh -c "echo SPINLOCKUP >$t"
	sleep 1
}

while [ $# -gt 0 ]; do
	case "$1" in
	--allow-kcsan) ALLOW_KCSAN=1; shift ;;
	--ko) KO=$2; shift 2 ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || usage
mode=$1
shift
guest_setup
dmesg -C
leaks_start
case "$mode" in
run)
	[ $# -gt 0 ] || usage
	"$@" || fail "$* failed"
	# The command may have cleared the log; the console has it all.
	;;
cycles)
	[ $# = 2 ] || usage
	cycles "$1" "$2"
	;;
races)
	[ $# = 1 ] || usage
	races "$1"
	;;
provoke)
	provoke
	;;
*)
	usage
	;;
esac
scan_end
