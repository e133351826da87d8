#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the guest: the kselftest without the module (it must skip),
# then with the module loaded against VARIANT (it must pass for v7.3 and
# fail for a variant the C does not follow).
set -u

VARIANT=${1:-v7.3}
EXPECT=${2:-pass}
T=./selftests/mmcid_rs/mmcid_rs_test

. "$(dirname "$0")/guest-lib.sh"
guest_setup
out=$("$T" 2>&1)
echo "$out" | grep -q 'SKIP.*mmcid_rs module not loaded' || {
	echo "$out"
	echo "mmcid_rs: FAIL: the kselftest did not skip without the module"
	exit 1
}
insmod ./mmcid-rs.ko variant="$VARIANT" || exit 1
"$T"
rc=$?
rmmod mmcid_rs
case "$EXPECT:$rc" in
pass:0) echo "mmcid_rs: kselftest passed against $VARIANT" ;;
fail:0) echo "mmcid_rs: FAIL: kselftest passed against $VARIANT"; exit 1 ;;
pass:*) echo "mmcid_rs: FAIL: kselftest failed against $VARIANT"; exit 1 ;;
fail:*) echo "mmcid_rs: kselftest failed against $VARIANT, as it must" ;;
esac
