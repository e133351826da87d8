#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the guest: one process with more users than a fork or exit
# snapshot holds (MMCID_OP_USERS, docs/sizes.md).  Its forks and exits past
# the bound must be counted as not compared, and everything else agree:
# no mismatch, nothing unsupported.  Prints one line starting with
# "mmcid_rs: ".
set -eu

THREADS=${1:-300}
D=/sys/kernel/debug/mmcid_rs

. "$(dirname "$0")/guest-lib.sh"
guest_setup
insmod ./mmcid-rs.ko
# Python's threads are pthreads: each one is a user of the mm.
python3 -c "
import threading
ev = threading.Event()
ts = [threading.Thread(target=ev.wait) for _ in range($THREADS)]
for t in ts: t.start()
ev.set()
for t in ts: t.join()
"
big=$(report_get op_too_many_users)
max=$(report_get op_users_max)
unsup=$(report_get unsupported)
verdict=$(report_verdict) || { echo "$verdict"; rmmod mmcid_rs; exit 1; }
rmmod mmcid_rs
[ "$unsup" = 0 ] || { echo "mmcid_rs: FAIL: $unsup checks unsupported"; exit 1; }
[ "$big" -gt 0 ] || {
	echo "mmcid_rs: FAIL: $THREADS threads, yet no fork or exit of an mm over $max users was counted"
	exit 1
}
echo "$verdict"
