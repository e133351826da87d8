# SPDX-License-Identifier: GPL-2.0
#
# Helpers for the scripts that run inside the guest.  Source it.

# Mount debugfs, and keep the sched_switch static key on so that loading
# and unloading the module does not patch __schedule(): multi-threaded TCG
# once ran a stale int3 there after text_poke_bp() had finished.
guest_setup() {
	mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
	mountpoint -q /sys/kernel/tracing || mount -t tracefs none /sys/kernel/tracing
	echo 1 >/sys/kernel/tracing/events/sched/sched_switch/enable
}

# With MMCID_RS_GCOV_OUT set (scripts/coverage.sh, on the gcov flavour):
# gcov_reset zeroes the kernel's profile; gcov_save copies the profile of
# kernel/sched/core.o to MMCID_RS_GCOV_OUT/core.gcda, a host directory.
gcov_reset() {
	[ -n "${MMCID_RS_GCOV_OUT:-}" ] || return 0
	echo 1 >/sys/kernel/debug/gcov/reset
}
gcov_save() {
	local f
	[ -n "${MMCID_RS_GCOV_OUT:-}" ] || return 0
	f=$(find /sys/kernel/debug/gcov -path '*/kernel/sched/core.gcda' 2>/dev/null | head -1)
	if [ -z "$f" ]; then
		echo "mmcid_rs: FAIL: no kernel/sched/core.gcda in /sys/kernel/debug/gcov: not the gcov flavour"
		return 1
	fi
	mkdir -p "$MMCID_RS_GCOV_OUT" && cat "$f" >"$MMCID_RS_GCOV_OUT/core.gcda"
}

# The module's findings are trace events (glue/mmcid_rs_trace.h).  They go
# to a trace instance of their own, as the top buffer has sched_switch on.
# trace_findings_on: after the load, record them; trace_findings: what was
# recorded, a line each, read before the unload (which clears it).
TRACE=/sys/kernel/tracing/instances/mmcid_rs
trace_findings_on() {
	mkdir -p "$TRACE" && echo >"$TRACE/trace" &&
		echo 1 >"$TRACE/events/mmcid_rs/enable"
}
trace_findings() {
	grep -v '^#' "$TRACE/trace" 2>/dev/null
}

. "$(dirname "$0")/splat.sh"

# The kernel's reports of something wrong in dmesg (a splat or a hang,
# scripts/splat.sh), if any; splats_in: the same in the text on stdin.
splats_in() {
	grep -E "${SPLAT_RE}|${HANG_RE}"
}
dmesg_splats() {
	dmesg | splats_in
}

# unload_race_only: true when the only splats in the dmesg text on stdin
# are the kernel's own warning at an open of one of the module's debugfs
# files that raced a successful rmmod (docs/debug.md, "An open racing the
# unload"): full_proxy_open_regular()'s WARNING, each with its message
# naming a file of the module.  Prints how many there were.
unload_race_only() {
	local text n other named
	text=$(cat)
	n=$(printf '%s\n' "$text" | grep -cE 'WARNING: fs/debugfs/file\.c:[0-9]+ at full_proxy_open_regular\+')
	other=$(printf '%s\n' "$text" | splats_in |
		grep -vE 'WARNING: fs/debugfs/file\.c:[0-9]+ at full_proxy_open_regular\+|-+\[ cut here \]-+$' | grep -c .)
	named=$(printf '%s\n' "$text" |
		grep -cE '\] debugfs file owner did not clean up at exit: (status|report|live_lock|reset)$')
	echo "$n"
	[ "$n" -gt 0 ] && [ "$other" = 0 ] && [ "$named" = "$n" ]
}

# "key value" from the module's machine-readable report.
report_get() {
	sed -n "s/^$1 //p" /sys/kernel/debug/mmcid_rs/report
}

# Mismatches between the C and the model, switches and forks/exits.
report_mismatches() {
	echo $(( $(report_get mismatches) + $(report_get fork_exit_mismatches) ))
}

# "; forced: model mirrors 7.3, kernel differs in ..." from the status
# table when the module was loaded with force=1 on a tree whose mm_cid
# code is not what the variant mirrors (docs/version-guard.md); else
# nothing.  The module's verdict ends with the same; the guest scripts'
# own FAIL lines add it.
report_forced() {
	[ "$(report_get forced)" = 1 ] || return 0
	printf '; %s' "$(grep -m1 '^forced: ' /sys/kernel/debug/mmcid_rs/status)"
}

# The settings of the module that guest-bench.sh and guest-profile.sh
# compare with the unloaded kernel: bench_params SETTING, its insmod
# parameters; bench_label SETTING, its row in a table; bench_ko SETTING,
# the module it loads.  SETTING@before is SETTING with the module that
# scripts/bench-module.sh --before put in .bench/before.ko.
bench_ko() {
	case "$1" in
	*@before) echo ./.bench/before.ko ;;
	*) echo ./mmcid-rs.ko ;;
	esac
}
bench_params() {
	case "${1%@before}" in
	filtered) echo pid=1 ;;
	all) ;;
	nowatch) echo stall_ms=0 ;;
	filtered_nowatch) echo pid=1 stall_ms=0 ;;
	*) echo "unknown setting '$1'; want filtered, all, nowatch or filtered_nowatch" >&2
	   exit 2 ;;
	esac
}
bench_label() {
	case "${1%@before}" in
	filtered) printf 'loaded, pid=1 (filtered out)' ;;
	all) printf 'loaded, checking everything' ;;
	nowatch) printf 'loaded, checking everything, stall_ms=0 (no watchdog)' ;;
	filtered_nowatch) printf 'loaded, pid=1, stall_ms=0 (filtered out, no watchdog)' ;;
	esac
	case "$1" in
	*@before) echo ", the module before" ;;
	*) echo ;;
	esac
}

# How many transitions C and Rust disagreed on (mismatches of every kind
# and broken invariants), as the module's verdict says it: the one
# definition is module/report_text.rs's show_verdict(); 0 when it says
# anything else.
report_disagreements() {
	local n
	n=$(sed -n 's/^mmcid_rs: FAIL: C and Rust ([^)]*) disagree on \([0-9]*\) transitions.*/\1/p' \
		/sys/kernel/debug/mmcid_rs/verdict)
	echo "${n:-0}"
}

# The module's one-line verdict (its debugfs file verdict, written by
# module/report_text.rs): agreement on the checked transitions of both
# mode directions, no mismatch, no live lock.  Prints it, after the first
# trace events when C and Rust disagree, and fails when it is a FAIL.
report_verdict() {
	local v
	v=$(cat /sys/kernel/debug/mmcid_rs/verdict)
	case "$v" in
	"mmcid_rs: FAIL: C and Rust"*) trace_findings | head -20 ;;
	esac
	echo "$v"
	case "$v" in
	"mmcid_rs: FAIL"*) return 1 ;;
	esac
}

# The status lines that name the paths not checked, or checked rarely,
# and the count of each path as "# path_NAME N" (run.sh adds up boots).
report_paths_missing() {
	grep -A3 '^paths of the mm_cid code' /sys/kernel/debug/mmcid_rs/status
	sed -n 's/^path_/# path_/p' /sys/kernel/debug/mmcid_rs/report
}
