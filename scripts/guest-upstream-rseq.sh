#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside a guest, without mmcid_rs: the rseq selftests that
# scripts/upstream-rseq.sh built from patches/upstream-rseq/, under the
# kselftest runner.
#   guest-upstream-rseq.sh DIR    DIR/run_kselftest.sh -t rseq:mm_cid_transition_test
#                                 (DIR: a kselftest install)
#   guest-upstream-rseq.sh --make TREE
#                                 make -C TREE/tools/testing/selftests TARGETS=rseq run_tests
# Exit status: the runner's, or 1 after a kernel splat.
set -u

case "${1:-}:$#" in
--make:2) cmd="make -C $2/tools/testing/selftests TARGETS=rseq run_tests" ;;
-*|:*) echo "usage: $0 DIR | --make TREE" >&2; exit 2 ;;
*:1) cmd="$1/run_kselftest.sh -t rseq:mm_cid_transition_test" ;;
*) echo "usage: $0 DIR | --make TREE" >&2; exit 2 ;;
esac

. "$(dirname "$0")/guest-lib.sh"
echo "guest-upstream-rseq: $(uname -r), CPUs $(cat /sys/devices/system/cpu/online) online of $(cat /sys/devices/system/cpu/possible) possible: ${cmd}"
${cmd}
rc=$?
if dmesg_splats; then
	echo "guest-upstream-rseq: kernel splat"
	exit 1
fi
exit "${rc}"
