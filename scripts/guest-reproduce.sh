#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the guest: load mmcid_rs with its live lock watchdog, mark
# the start in the kernel log, and run the fork pattern, printing progress.
# On a kernel without the fix the pattern stops and the module names the
# live lock on the console; on 7.3 it finishes and nothing is named.
#
# The pattern runs on the CPUs this script was given: run-vng.sh keeps its
# watcher CPU out of them (docs/design.md, "The guests").
set -eu

KO=./mmcid-rs.ko
SECONDS_RUN=20
STALL_MS=50
VARIANT=v7.3
D=/sys/kernel/debug/mmcid_rs

while [ $# -gt 0 ]; do
	case "$1" in
	--seconds) SECONDS_RUN=$2; shift 2 ;;
	--stall-ms) STALL_MS=$2; shift 2 ;;
	--variant) VARIANT=$2; shift 2 ;;
	*) echo "usage: $0 [--seconds S] [--stall-ms MS] [--variant V]" >&2; exit 2 ;;
	esac
done

. "$(dirname "$0")/guest-lib.sh"
guest_setup
insmod "$KO" variant="$VARIANT" stall_ms="$STALL_MS"
echo "mmcid_rs: the fork pattern starts" >/dev/kmsg
./selftests/mmcid_rs/fork_pattern "$SECONDS_RUN" 10
echo "live_locks $(sed -n 's/^live_locks //p' "$D/report")"
cat "$D/live_lock"
rmmod mmcid_rs
