#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the guest: load mmcid_rs, read its debugfs status, unload it,
# and check what the kernel said about it.  Prints one verdict line.
set -eu

KO=${1:-./mmcid-rs.ko}
DIR=/sys/kernel/debug/mmcid_rs

fail() {
	echo "mmcid_rs: FAIL: $*"
	exit 1
}

mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
dmesg -C
insmod "$KO" || fail "insmod $KO failed"
dmesg | grep -q 'mmcid_rs: loaded' || fail "no load line in dmesg"
[ -r "$DIR/status" ] || fail "$DIR/status missing"
# Give the probe something to see.
for i in 1 2 3 4 5 6 7 8; do sleep 0.01; done
status=$(cat "$DIR/status")
echo "$status"
switches=$(echo "$status" | sed -n 's/^sched_switch events: //p')
[ "${switches:-0}" -gt 0 ] || fail "the sched_switch probe saw nothing"
rmmod mmcid_rs || fail "rmmod failed"
[ ! -e "$DIR" ] || fail "$DIR left behind after unload"
dmesg | grep -q 'mmcid_rs: unloaded' || fail "no unload line in dmesg"
if dmesg | grep -E 'WARNING:|BUG:|Oops|lockdep|circular locking'; then
	fail "kernel warnings in dmesg"
fi
echo "mmcid_rs: module loaded, saw $switches context switches, unloaded cleanly"
