#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the guest, with a module built against a tree whose mm_cid
# code differs from the model in ITEMS (e.g. "mm_cid_schedout()"): the
# version guard must refuse the load and name ITEMS, reject bad force=
# values, and with force=1 load, say "forced: ..." in the status table, the
# report, the verdict line and the kernel log.
set -u

ITEMS=${1:?usage: $0 ITEMS (as the guard names them, e.g. "mm_cid_schedout()")}
KO=./mmcid-rs.ko
D=/sys/kernel/debug/mmcid_rs
FORCED="forced: model mirrors 7.3, kernel differs in $ITEMS"

. "$(dirname "$0")/guest-lib.sh"
guest_setup

fail() {
	echo "mmcid_rs: FAIL: $*"
	dmesg | grep mmcid_rs | tail -5
	exit 1
}

if insmod "$KO"; then
	rmmod mmcid_rs
	fail "the guard let variant=v7.3 load"
fi
dmesg | grep "mmcid_rs: variant=v7.3: model mirrors 7.3, kernel differs in $ITEMS" |
	grep -q 'force=1 checks anyway' || fail "no refusal naming $ITEMS"
dmesg | grep 'mmcid_rs: variant=v7.3:' | tail -1

for bad in 2 abc; do
	if insmod "$KO" force=$bad; then
		rmmod mmcid_rs
		fail "force=$bad was accepted"
	fi
	dmesg | grep -q "mmcid_rs: .$bad. invalid for parameter .force." ||
		fail "no reason given for force=$bad"
	dmesg | grep "invalid for parameter .force." | tail -1
done

insmod "$KO" force=1 || fail "force=1 did not load"
dmesg | grep 'mmcid_rs: loaded' | tail -1 | grep -F "; $FORCED" || fail "no '$FORCED' in the load line"
sleep 1
head -3 "$D/status"
grep -qxF "$FORCED" "$D/status" || fail "no '$FORCED' in $D/status"
grep '^forced ' "$D/report"
[ "$(report_get forced)" = 1 ] || fail "report says forced '$(report_get forced)'"
verdict=$(report_verdict) || true
echo "$verdict"
case "$verdict" in *"; $FORCED") ;; *) fail "the verdict line does not end in '$FORCED'" ;; esac
rmmod mmcid_rs || fail "rmmod failed"
dmesg | grep 'mmcid_rs: unloaded' | tail -1 | grep -F "; $FORCED" || fail "no '$FORCED' in the unload line"
echo "mmcid_rs: the guard refused $ITEMS, rejected force=2 and force=abc, and said forced with force=1"
