#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside a guest of 2+1 possible CPUs (scripts/run-vng.sh --cpus 2):
# selftests/mmcid_rs/failed_execve_leak with mmcid_rs loaded, which stops
# at the first CID leak the module names (docs/failed-execve-leak.md).
# Exit 0 when the module named a leaked CID on a failed execve() (a
# sched_mm_cid_after_execve() of a first user), 1 otherwise.
# --no-module: the program alone, until the machine hangs (on 7.3 an RCU
# stall in sched_mm_cid_fork() within a few hundred rounds).
# --bounded: on the bounded-cid-wait kernel, the module checking that
# variant and the program going on past its findings: exit 0 when a
# thread read an mm_cid at or above the possible CPUs, the module named
# the leak before, and the model agreed with the C throughout.
set -u

ROUNDS=1000
P=./selftests/mmcid_rs/failed_execve_leak
D=/sys/kernel/debug/mmcid_rs

echo "guest-leak: started"
if [ "${1:-}" = --no-module ]; then
	exec "$P" "$ROUNDS"
fi
VARIANT=v7.3
GO_ON=
case "${1:-}" in
"") ;;
--bounded) VARIANT=bounded-cid-wait GO_ON=-c ;;
*) echo "usage: $0 [--no-module|--bounded]" >&2; exit 2 ;;
esac

. "$(dirname "$0")/guest-lib.sh"
guest_setup
insmod ./mmcid-rs.ko variant="${VARIANT}" || exit 1
"$P" ${GO_ON} "$ROUNDS"
rc=$?
v=$(report_get invariant_violations)
m=$(report_mismatches)
finding=$(dmesg | grep -m1 'mmcid_rs: first finding since load:')
echo "failed_execve_leak exit ${rc}; invariant_violations ${v}; mismatches ${m}"
echo "${finding}"
rmmod mmcid_rs || exit 1
if [ -n "${GO_ON}" ]; then
	[ "${rc}" = 5 ] && [ "${v}" -gt 0 ] && [ "${m}" = 0 ]
	exit
fi
# The C agreed with the model; the first consistent snapshot after the
# leak (the return of the failed execve()'s sched_mm_cid_after_execve()
# or of the exit it raced, or the entry of the next fork) found a CID
# nobody owns.
[ "${rc}" = 3 ] && [ "${v}" -gt 0 ] && [ "${m}" = 0 ] &&
	echo "${finding}" | grep -Eq 'invariant broken at (entry|return): Leaked'
