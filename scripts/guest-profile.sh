#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the guest for scripts/bench-module.sh --profile: where the
# time of one vCPU goes while selftests/mmcid_rs/pingpong runs there,
# without the module and with it in each SETTING in turn: perf's cpu-clock
# samples of vCPU 0, by object (the module is [mmcid_rs]) and by symbol.
# perf report runs before rmmod, while the module's symbols are in
# /proc/kallsyms.
#
# Under TCG the guest has no PMU, so perf samples from a timer interrupt:
# a sample that falls while interrupts are off is taken where they come
# back on.  The switch probes run with interrupts off, so their time shows
# as finish_task_switch()'s share (it re-enables them after a switch)
# growing against the unloaded run, not as [mmcid_rs]; the module's own
# symbols show only what runs with interrupts on.
#
# Usage: guest-profile.sh SECS [SETTING...], SETTING as guest-bench.sh's
# (default: all).
set -eu

SECS=${1:?usage: guest-profile.sh SECS [SETTING...]}
shift
[ $# -gt 0 ] || set -- all
PP=./selftests/mmcid_rs/pingpong
DATA=$(mktemp -d)
. "$(dirname "$0")/guest-lib.sh"

command -v perf >/dev/null || { echo "guest-profile.sh: no perf (Debian's linux-perf)" >&2; exit 2; }
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
# Module symbols for perf report.
echo 0 >/proc/sys/kernel/kptr_restrict

# profile SETTING: pingpong on vCPU 0 under perf record; its report.
profile() {
	perf record -q -C 0 -e cpu-clock -F 2000 -o "$DATA/perf.data" -- "$PP" "$SECS" >"$DATA/rate"
	echo "mmcid_rs: profile: $1: $(cat "$DATA/rate") round trips/s"
	perf report -i "$DATA/perf.data" --stdio --sort dso --percent-limit 1 2>/dev/null |
		sed -n "s/^ *\([0-9.]*%\) *\(.*\)$/mmcid_rs: profile: $1: dso \1 \2/p"
	perf report -i "$DATA/perf.data" --stdio --sort sym --percent-limit 0.5 2>/dev/null |
		sed -n "s/^ *\([0-9.]*%\) *\[[kK.]\] *\(.*\)$/mmcid_rs: profile: $1: sym \1 \2/p" | head -40
}

for setting; do bench_params "$setting" >/dev/null; done
profile none
for setting; do
	p=$(bench_params "$setting")
	# shellcheck disable=SC2086 # the parameters are words
	insmod "$(bench_ko "$setting")" $p
	profile "$setting"
	rmmod mmcid_rs
done
rm -rf "$DATA"
