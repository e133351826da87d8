#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the guest: context switch rate (pipe ping-pong between two
# threads on one CPU) without the module, with it filtered to another
# process, with it checking everything, the same without the live lock
# watchdog, and filtered out without the watchdog.  The five settings take
# turns, RUNS rounds of them, so that drift during the boot spreads over
# all of them; median of each.
set -eu

RUNS=${1:-5}
SECS=${2:-2}
PP=./selftests/mmcid_rs/pingpong
KO=./mmcid-rs.ko
OUT=$(mktemp -d)

median() {
	sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'
}

# one SETTING [insmod parameters...]: one run in that setting
one() {
	setting=$1
	shift
	[ "$setting" = none ] || insmod "$KO" "$@"
	"$PP" "$SECS" >>"$OUT/$setting"
	if [ "$setting" = all ]; then
		sed -n 's/^agreed //p' /sys/kernel/debug/mmcid_rs/report >"$OUT/agreed"
	fi
	[ "$setting" = none ] || rmmod mmcid_rs
}

mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
i=0
while [ $i -lt "$RUNS" ]; do
	one none
	one filtered pid=1
	one all
	one nowatch stall_ms=0
	one filtered_nowatch pid=1 stall_ms=0
	i=$((i + 1))
done
base=$(median <"$OUT/none")
pct() {
	awk -v a="$1" -v b="$base" 'BEGIN {printf "%+.1f%%", (a - b) * 100 / b}'
}
spread() {
	sort -n "$OUT/$1" | awk 'NR == 1 {lo = $1} END {print lo "-" $1}'
}
row() {
	m=$(median <"$OUT/$2")
	echo "| $1 | $m | $(pct "$m") | $(spread "$2") |"
}
echo "| module | round trips/s (median of $RUNS x ${SECS} s, settings in turn) | vs. unloaded | runs (min-max) |"
echo "|---|---|---|---|"
echo "| not loaded | $base | | $(spread none) |"
row "loaded, pid=1 (filtered out)" filtered
row "loaded, checking everything" all
row "loaded, checking everything, stall_ms=0 (no watchdog)" nowatch
row "loaded, pid=1, stall_ms=0 (filtered out, no watchdog)" filtered_nowatch
echo "mmcid_rs: bench: $(cat "$OUT/agreed") switches checked in the last run checking everything"
rm -rf "$OUT"
