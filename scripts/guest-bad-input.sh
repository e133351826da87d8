#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the guest: every bad module parameter and debugfs write of
# docs/bad-input.md.  Each case prints one line
#   case|INPUT|WHAT HAPPENED|ok or FAIL
# for scripts/bad-input.sh; a refused load must name the parameter in
# dmesg and leave no module, no debugfs directory and no splat.
set -u

KO=./mmcid-rs.ko
D=/sys/kernel/debug/mmcid_rs
DRIVER=./selftests/mmcid_rs/fork_pattern

. "$(dirname "$0")/guest-lib.sh"
guest_setup

row() {
	echo "case|$1|$2|$3"
}

# refused PARAM=VALUE PATTERN: insmod fails, dmesg matches PATTERN, and
# nothing is left behind.
refused() {
	dmesg -C
	if insmod "$KO" "$1" 2>/tmp/err; then
		rmmod mmcid_rs
		row "insmod mmcid-rs.ko $1" "loaded" FAIL
		return
	fi
	got="$(tr -d '\n' </tmp/err | sed 's/.*: //'); dmesg: $(dmesg | grep -m1 -F -- "$2" | sed 's/^\[[^]]*\] //')"
	if dmesg | grep -qF -- "$2" && ! lsmod | grep -q '^mmcid_rs ' && [ ! -e "$D" ] && [ -z "$(dmesg_splats)" ]; then
		row "insmod mmcid-rs.ko $1" "$got" ok
	else
		row "insmod mmcid-rs.ko $1" "$got (module or $D left, or no line naming it)" FAIL
	fi
}

long=$(printf 'v%.0s' $(seq 1 40))
refused "variant=" "variant=: unknown; want one of: v7.3"
refused "variant=bogus" "variant=bogus: unknown; want one of: v7.3"
refused "variant=v7.3x" "variant=v7.3x: unknown"
refused "variant=$long" "variant"
refused "pid=abc" "pid"
refused "pid=" "pid"
refused "pid=-5" "pid=-5: want a tgid"
refused "pid=99999999999" "pid"
refused "stall_ms=-1" "stall_ms"
refused "stall_ms=10x" "stall_ms"
refused "stall_ms=99999" "stall_ms=99999: too long"
refused "stall_ms=4294967296" "stall_ms"
refused "force=maybe" "force"

# An unknown parameter: the kernel ignores it and says so.
dmesg -C
if insmod "$KO" bogus=1; then
	if dmesg | grep -q "unknown parameter 'bogus' ignored"; then
		row "insmod mmcid-rs.ko bogus=1" "loaded; dmesg: unknown parameter 'bogus' ignored" ok
	else
		row "insmod mmcid-rs.ko bogus=1" "loaded, nothing said" FAIL
	fi
	rmmod mmcid_rs
else
	row "insmod mmcid-rs.ko bogus=1" "refused" FAIL
fi

insmod "$KO" || { row "insmod mmcid-rs.ko" "refused" FAIL; exit 1; }
dmesg -C

# written FILE DATA WANT: write DATA (printf format) to FILE in one
# write; WANT is accepted or refused.
written() {
	if printf "$2" | dd of="$D/$1" bs=1M 2>/tmp/err >/dev/null; then
		got=accepted
	else
		got="refused: $(grep -o 'Invalid argument\|Permission denied\|Operation not permitted\|Input/output error' /tmp/err | head -1)"
	fi
	case "$got" in "$3"*) ok=ok ;; *) ok=FAIL ;; esac
	row "write '$(printf '%s' "$2" | sed 's/\\/\\\\/g')' to $1" "$got" "$ok"
}

for f in status report live_lock verdict; do
	written "$f" 'x' refused
done
written reset '1' accepted
written reset '1\n' accepted
written reset '0' refused
written reset '11' refused
written reset '1 ' refused
written reset '\n' refused
# The shell's way, as the README shows it, in bash: dash's echo says
# "I/O error" whatever the errno of its failed write.
if bash -c "echo 2 >$D/reset" 2>/tmp/err; then got=accepted; else got="refused: $(sed 's/.*: //' /tmp/err | head -1)"; fi
[ "$got" = "refused: Invalid argument" ] && ok=ok || ok=FAIL
row "echo 2 > reset" "$got" "$ok"
if cat "$D/reset" >/dev/null 2>/tmp/err; then got=accepted; else got="refused: $(sed 's/.*: //' /tmp/err | head -1)"; fi
[ "$got" = "refused: Invalid argument" ] && ok=ok || ok=FAIL
row "read reset" "$got" "$ok"

# A write larger than any command, and one of every byte value.
if head -c 102400 /dev/zero | dd of="$D/reset" bs=102400 2>/dev/null; then
	row "write 100 KiB of zeros to reset" accepted FAIL
else
	row "write 100 KiB of zeros to reset" "refused: Invalid argument" ok
fi
# The shell's own printf, one write(2) a byte, no process a byte: 256
# pipes into dd took 15 s of the guest under TCG.
octal=$(b=0; while [ $b -lt 256 ]; do printf '%o ' $b; b=$((b + 1)); done)
taken=
b=0
for o in $octal; do
	if printf "\\$o" 2>/dev/null >"$D/reset"; then
		taken="$taken $b"
	fi
	b=$((b + 1))
done
[ "$taken" = " 49" ] && ok=ok || ok=FAIL
row "write each byte value 0..255 alone to reset" "accepted:$taken (49 is '1')" "$ok"
# Two writes of one byte each: the first is a whole command.
printf '1\n' | dd of="$D/reset" bs=1 2>/tmp/err >/dev/null
row "write '1\\\\n' to reset in two 1-byte writes" \
	"first accepted, second $(grep -q 'Invalid argument' /tmp/err && echo refused || echo accepted)" \
	"$(grep -q 'Invalid argument' /tmp/err && echo ok || echo FAIL)"

# Reads: byte by byte gives what one read gives (the counts move).
for f in status report live_lock verdict; do
	a=$(tr -d '0-9' <"$D/$f" | md5sum)
	b=$(dd if="$D/$f" bs=1 2>/dev/null | tr -d '0-9' | md5sum)
	[ "$a" = "$b" ] && ok=ok || ok=FAIL
	row "read $f one byte per read" "the same text as one read, counts aside" "$ok"
done

# Readers on every file while the fork pattern runs.
"$DRIVER" 5 >/dev/null &
driver=$!
i=0
while [ $i -lt 8 ]; do
	(end=$(($(date +%s) + 5)); while [ "$(date +%s)" -lt "$end" ]; do
		cat "$D/status" "$D/report" "$D/live_lock" "$D/verdict" >/dev/null || exit 1
	done) &
	i=$((i + 1))
done
rc=0
for p in $(jobs -p); do
	wait "$p" || rc=1
done
[ $rc = 0 ] && [ -z "$(dmesg_splats)" ] && ok=ok || ok=FAIL
row "8 readers of status, report, live_lock and verdict for 5 s under the fork pattern" "every read succeeded, dmesg clean" "$ok"
wait $driver 2>/dev/null

rmmod mmcid_rs
[ -z "$(dmesg_splats)" ] || { dmesg_splats; row "dmesg after the debugfs cases" "splat" FAIL; }

# What could outlive an unload: open files, readers, trace instances.
"$(dirname "$0")/guest-lifetime.sh"
[ -z "$(dmesg_splats)" ] || { dmesg_splats; row "dmesg after all cases" "splat" FAIL; }
