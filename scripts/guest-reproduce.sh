#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the guest: load mmcid_rs with its live lock watchdog, mark
# the start in the kernel log, and run the fork pattern, printing progress.
# On a kernel without the fix the pattern stops and the module names the
# live lock on the console; on 7.3 it finishes and nothing is named.
#
# With --watcher the last CPU stays out of the pattern (boot it with
# isolcpus=domain,N so the scheduler leaves it alone too): when the live
# lock has every other CPU spinning with interrupts off, its timers still
# run, and with them the module's watchdog and the RCU stall detector.
set -eu

KO=./mmcid-rs.ko
SECONDS_RUN=20
STALL_MS=50
VARIANT=v7.3
WATCHER=0
D=/sys/kernel/debug/mmcid_rs

while [ $# -gt 0 ]; do
	case "$1" in
	--seconds) SECONDS_RUN=$2; shift 2 ;;
	--stall-ms) STALL_MS=$2; shift 2 ;;
	--variant) VARIANT=$2; shift 2 ;;
	--watcher) WATCHER=1; shift ;;
	*) echo "usage: $0 [--seconds S] [--stall-ms MS] [--variant V] [--watcher]" >&2; exit 2 ;;
	esac
done

. "$(dirname "$0")/guest-lib.sh"
guest_setup
insmod "$KO" variant="$VARIANT" stall_ms="$STALL_MS"
echo "mmcid_rs: the fork pattern starts" >/dev/kmsg
cpus=$(nproc --all)
pin="0-$((cpus - 1))"
[ "$WATCHER" = 1 ] && pin="0-$((cpus - 2))"
taskset -c "$pin" ./selftests/mmcid_rs/fork_pattern "$SECONDS_RUN" 10
echo "live_locks $(sed -n 's/^live_locks //p' "$D/report")"
cat "$D/live_lock"
rmmod mmcid_rs
