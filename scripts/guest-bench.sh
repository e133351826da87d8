#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the guest: context switch rate (pipe ping-pong between two
# threads on one CPU) without the module, with it filtered to another
# process, with it checking everything, and the same without the live lock
# watchdog's timers.  Median of RUNS runs each.
set -eu

RUNS=${1:-5}
SECS=${2:-2}
PP=./selftests/mmcid_rs/pingpong
KO=./mmcid-rs.ko

median() {
	sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'
}

rate() {
	i=0
	while [ $i -lt "$RUNS" ]; do
		"$PP" "$SECS"
		i=$((i + 1))
	done | median
}

mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
base=$(rate)
insmod "$KO" pid=1
filtered=$(rate)
rmmod mmcid_rs
insmod "$KO"
all=$(rate)
agreed=$(sed -n 's/^agreed //p' /sys/kernel/debug/mmcid_rs/report)
rmmod mmcid_rs
insmod "$KO" stall_ms=0
nowatch=$(rate)
rmmod mmcid_rs
pct() {
	awk -v a="$1" -v b="$base" 'BEGIN {printf "%+.1f%%", (a - b) * 100 / b}'
}
echo "| module | round trips/s (median of $RUNS x ${SECS} s) | vs. unloaded |"
echo "|---|---|---|"
echo "| not loaded | $base | |"
echo "| loaded, pid=1 (filtered out) | $filtered | $(pct "$filtered") |"
echo "| loaded, checking everything | $all | $(pct "$all") |"
echo "| loaded, checking everything, stall_ms=0 (no watchdog timers) | $nowatch | $(pct "$nowatch") |"
echo "mmcid_rs: bench: $agreed switches checked in the last setting"
