#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the guest: a workload's rate without the module, with it
# filtered to another process, with it checking everything, the same
# without the live lock watchdog, and filtered out without the watchdog.
# The settings take turns, RUNS rounds of them, so that drift during the
# boot spreads over all of them, every other round in reverse order;
# median of each.
#
# Usage: guest-bench.sh [RUNS [SECS [SETTING...]]], SETTING one of
# filtered, all, nowatch, filtered_nowatch (default: all four; the run
# without the module always takes part).  MMCID_RS_BENCH names the
# workload (default pingpong):
#
#   pingpong    selftests/mmcid_rs/pingpong: two threads of one process on
#               one CPU bounce a byte through two pipes
#   pipe        perf bench sched pipe on one CPU: the same between two
#               processes, the kernel's own benchmark of it
#   pipe2       the same on two CPUs
#   messaging   perf bench sched messaging (hackbench): 4 groups of 20
#               senders and 20 receivers, processes, on every CPU
#   messaging_threads  the same with threads
#   forks       selftests/mmcid_rs/fork_pattern: the BPF CI fork pattern's
#               rounds on every CPU (the module slows what it checks)
#
# Besides the table, one line per setting lists every run:
# "mmcid_rs: bench: runs SETTING RATE...", for scripts/bench-module.sh.
set -eu

RUNS=${1:-5}
SECS=${2:-2}
[ $# -gt 2 ] && shift 2 || set -- filtered all nowatch filtered_nowatch
BENCH=${MMCID_RS_BENCH:-pingpong}
PP=./selftests/mmcid_rs/pingpong
FP=./selftests/mmcid_rs/fork_pattern
OUT=$(mktemp -d)
. "$(dirname "$0")/guest-lib.sh"
GROUPS_=4

# per_second N SECONDS: N / SECONDS, rounded
per_second() {
	awk -v n="$1" -v t="$2" 'BEGIN { if (t <= 0) exit 1; printf "%d\n", n / t + 0.5 }'
}

# rate [LOOPS]: one run of the workload, LOOPS of its loops (perf's);
# prints its rate, higher is better.
rate() {
	case "$BENCH" in
	pingpong) "$PP" "$SECS" ;;
	pipe) per_second "$1" "$(taskset -c 0 perf bench --format=simple sched pipe -l "$1")" ;;
	pipe2) per_second "$1" "$(taskset -c 0,1 perf bench --format=simple sched pipe -l "$1")" ;;
	messaging) per_second $((GROUPS_ * 20 * 20 * $1)) \
		"$(perf bench --format=simple sched messaging -g "$GROUPS_" -l "$1" | tail -1)" ;;
	messaging_threads) per_second $((GROUPS_ * 20 * 20 * $1)) \
		"$(perf bench --format=simple sched messaging -t -g "$GROUPS_" -l "$1" | tail -1)" ;;
	forks) per_second "$("$FP" "$SECS" | sed -n 's/^fork_pattern: \([0-9]*\) rounds in .*/\1/p')" "$SECS" ;;
	esac
}

# unit: what rate() counts
unit() {
	case "$BENCH" in
	pingpong) echo "round trips/s (pingpong, threads, one vCPU)" ;;
	pipe) echo "round trips/s (perf bench sched pipe, processes, one vCPU)" ;;
	pipe2) echo "round trips/s (perf bench sched pipe, processes, two vCPUs)" ;;
	messaging) echo "messages/s (perf bench sched messaging, processes, $GROUPS_ groups)" ;;
	messaging_threads) echo "messages/s (perf bench sched messaging -t, threads, $GROUPS_ groups)" ;;
	forks) echo "rounds/s (fork_pattern, every vCPU)" ;;
	esac
}

case "$BENCH" in
pingpong|forks) LOOPS= ;;
pipe|pipe2|messaging|messaging_threads)
	command -v perf >/dev/null || { echo "guest-bench.sh: no perf (Debian's linux-perf)" >&2; exit 2; }
	# perf runs a number of loops, not a time: as many as SECS take
	# without the module, from a short run.
	if [ "$BENCH" != "${BENCH#messaging}" ]; then
		r=$(rate 20) && LOOPS=$((r * SECS / (GROUPS_ * 400)))
	else
		r=$(rate 2000) && LOOPS=$((r * SECS))
	fi
	[ "$LOOPS" -gt 0 ] || LOOPS=1 ;;
*) echo "guest-bench.sh: unknown MMCID_RS_BENCH '$BENCH'; want pingpong, pipe, pipe2, messaging, messaging_threads or forks" >&2
   exit 2 ;;
esac

median() {
	sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'
}

# one SETTING [insmod parameters...]: one run in that setting
one() {
	setting=$1
	shift
	[ "$setting" = none ] || insmod "$(bench_ko "$setting")" "$@"
	rate $LOOPS >>"$OUT/$setting"
	if [ "$setting" = all ]; then
		sed -n 's/^agreed //p' /sys/kernel/debug/mmcid_rs/report >"$OUT/agreed"
	fi
	[ "$setting" = none ] || rmmod mmcid_rs
}

for setting; do bench_params "$setting" >/dev/null; done

mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
i=0
# Every other round runs backwards, the unloaded run last: a drift within
# a round (each run slower or faster than the one before it) then weighs
# on every setting alike, instead of on the last ones.
backwards=none
for setting; do backwards="$setting $backwards"; done
while [ $i -lt "$RUNS" ]; do
	order="none $*"
	[ $((i % 2)) = 0 ] || order=$backwards
	for setting in $order; do
		if [ "$setting" = none ]; then
			one none
		else
			# shellcheck disable=SC2046 # the parameters are words
			one "$setting" $(bench_params "$setting")
		fi
	done
	i=$((i + 1))
done
base=$(median <"$OUT/none")
pct() {
	awk -v a="$1" -v b="$base" 'BEGIN {printf "%+.1f%%", (a - b) * 100 / b}'
}
spread() {
	sort -n "$OUT/$1" | awk 'NR == 1 {lo = $1} END {print lo "-" $1}'
}
echo "| module | $(unit) (median of $RUNS x ${SECS} s, settings in turn) | vs. unloaded | runs (min-max) |"
echo "|---|---|---|---|"
echo "| not loaded | $base | | $(spread none) |"
for setting; do
	m=$(median <"$OUT/$setting")
	echo "| $(bench_label "$setting") | $m | $(pct "$m") | $(spread "$setting") |"
done
for setting in none "$@"; do
	echo "mmcid_rs: bench: runs $setting $(tr '\n' ' ' <"$OUT/$setting")"
done
if [ -s "$OUT/agreed" ]; then
	echo "mmcid_rs: bench: $(cat "$OUT/agreed") switches checked in the last run checking everything"
fi
rm -rf "$OUT"
