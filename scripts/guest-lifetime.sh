#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the guest: every object of mmcid_rs that could outlive an
# unload is made to try (docs/debug.md, "What outlives an unload"):
#
#   - an open debugfs file: it pins the module (file_operations.owner), so
#     rmmod is refused while it is open, for each of the four files;
#   - readers opening and reading every file in a loop while rmmod is
#     retried until it succeeds (an open racing the unload fails cleanly);
#   - a trace instance recording the mmcid_rs:* events, findings in its
#     buffer and a reader blocked on its trace_pipe, during the unload.
#
# Unloads in the middle of the fork pattern, whose forks, exits and
# affinity changes keep kretprobe instances and watchdog timers in flight,
# are guest-check.sh --reload's (make test) and guest-debug.sh cycles'.
#
# Each case prints "case|WHAT|WHAT HAPPENED|ok or FAIL", the rows of
# scripts/bad-input.sh (docs/bad-input.md); guest-bad-input.sh and
# guest-debug.sh run it.  Fails if any case does; dmesg must stay free of
# splats throughout.
set -u

KO=${KO:-./mmcid-rs.ko}
D=/sys/kernel/debug/mmcid_rs
DRIVER=./selftests/mmcid_rs/fork_pattern

. "$(dirname "$0")/guest-lib.sh"
guest_setup

failed=0
row() {
	echo "case|$1|$2|$3"
	[ "$3" = ok ] || failed=1
}

loaded() {
	grep -q '^mmcid_rs ' /proc/modules
}

# A clean slate: no module, an empty log.
unload_all() {
	loaded && rmmod mmcid_rs
	dmesg -C
}

# clean: nothing of the module left and no splat; prints why not.
clean() {
	if loaded; then echo "module still loaded"; return 1; fi
	if [ -e "$D" ]; then echo "$D left"; return 1; fi
	if [ -n "$(dmesg_splats)" ]; then echo "splat: $(dmesg_splats | head -1)"; return 1; fi
}

# rmmod_until N: retry rmmod up to N times, 50 ms apart; prints the tries.
rmmod_until() {
	i=1
	while ! rmmod mmcid_rs 2>/dev/null; do
		[ "$i" -lt "$1" ] || { echo "$i"; return 1; }
		i=$((i + 1))
		sleep 0.05
	done
	echo "$i"
}

unload_all

# An open file pins the module: rmmod refused, the file still works, the
# close releases it.  rmmod succeeding here is the unload that left
# debugfs's proxy to read freed memory at the close.
for f in status report live_lock verdict reset; do
	insmod "$KO" || { row "rmmod while $f is open" "insmod failed" FAIL; continue; }
	if [ "$f" = reset ]; then exec 3>"$D/$f"; else exec 3<"$D/$f"; fi
	if rmmod mmcid_rs 2>/tmp/err; then
		exec 3<&-
		row "rmmod while $f is open" "rmmod succeeded: the open file does not pin the module" FAIL
		continue
	fi
	refused=$(sed 's/.*: //' /tmp/err | head -1)
	if [ "$f" = reset ]; then
		echo 1 >&3 && use="a write through it works" || use="a write through it failed"
	else
		[ -n "$(cat <&3)" ] && use="a read through it works" || use="a read through it failed"
	fi
	exec 3<&-
	if rmmod mmcid_rs && why=$(clean); then
		row "rmmod while $f is open, then close it and rmmod" \
			"refused ($refused); $use; after the close rmmod succeeds, dmesg clean" ok
	else
		row "rmmod while $f is open, then close it and rmmod" \
			"refused ($refused); $use; after the close: ${why:-rmmod failed}" FAIL
	fi
	unload_all
done

# Readers in a loop on every file while rmmod is retried: each open
# either pins the module or fails once it is going.
insmod "$KO" || row "readers on every file during rmmod" "insmod failed" FAIL
pids=
for f in status report live_lock verdict; do
	(while :; do cat "$D/$f" >/dev/null 2>&1; done) &
	pids="$pids $!"
	(while :; do echo 1 2>/dev/null >"$D/reset"; done) &
	pids="$pids $!"
done
sleep 1
tries=$(rmmod_until 400) && got="unloaded after $tries tries" || got="still loaded after $tries tries"
kill $pids 2>/dev/null
wait 2>/dev/null
sleep 0.2
# The one splat allowed: the kernel's warning at an open that raced the
# rmmod which succeeded (unload_race_only), only once the module is gone.
if loaded || [ -e "$D" ] || ! races=$(dmesg | unload_race_only); then
	why=$(clean) && ok=ok || ok=FAIL
else
	why="dmesg: only the kernel's warning at an open racing the rmmod ($races, docs/debug.md)"
	ok=ok
fi
row "rmmod retried while 6 loops open and read or write every file" "$got; ${why:-dmesg clean}" "$ok"
unload_all

# A trace instance with the events on, findings recorded (the pre-fix
# model disagrees with 7.3) and a reader blocked on trace_pipe.
T=/sys/kernel/tracing/instances/mmcid_rs_lifetime
insmod "$KO" variant=pre-fix || row "trace instance recording during rmmod" "insmod failed" FAIL
mkdir -p "$T" && echo 1 >"$T/events/mmcid_rs/enable"
cat "$T/trace_pipe" >/tmp/pipe 2>&1 &
reader=$!
"$DRIVER" 2 >/dev/null
sleep 0.5
# trace_pipe consumes what it shows: the findings are in the reader's copy.
n=$(grep -c 'mismatch: cpu=' /tmp/pipe)
tries=$(rmmod_until 100) && got="unloaded ($tries tries)" || got="rmmod refused $tries times"
# The instance outlives the module: its files still read.
cat "$T/trace" >/dev/null 2>&1 && after="the instance still reads" || after="the instance fails to read"
kill "$reader" 2>/dev/null
wait "$reader" 2>/dev/null
rmdir "$T" 2>/dev/null && after="$after, then is removed" || after="$after, rmdir failed"
why=$(clean) && [ "$n" -gt 0 ] && [ -n "${got##rmmod refused*}" ] && ok=ok || ok=FAIL
row "rmmod with a trace instance recording mmcid_rs:* ($n findings) and a reader on trace_pipe" \
	"$got; $after; ${why:-dmesg clean}" "$ok"
unload_all

exit "$failed"
