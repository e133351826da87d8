#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The CID 7.3 leaks on a failed execve() (docs/failed-execve-leak.md), on
# a guest of 2+1 possible CPUs (pcpu_thrs 1), per boot:
#   7.3 with mmcid_rs: the round in which the module names the leak;
#   7.3 alone: the kernel hangs (RCU stall) within the rounds, or not;
#   the failed-execve-fix flavour alone: the rounds finish, or not;
#   the bounded-cid-wait flavour alone: once the leaks exhaust the CIDs,
#   the allocation gives up and a thread reads an rseq mm_cid at or
#   above the possible CPUs (docs/patch-workflow.md), or not;
#   the bounded-cid-wait flavour with mmcid_rs checking that variant: the
#   module names the leak, the model agrees with the C's giving up, and
#   a thread reads the same, or not.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

BOOTS=3
RECORD=0

usage() {
	cat <<EOF
Usage: $0 [--boots N] [--record]

Boots each of the five N times (default ${BOOTS}) with
selftests/mmcid_rs/failed_execve_leak (1000 rounds, scripts/guest-leak.sh)
and prints a line a boot and a summary; --record appends them to
docs/measurements.md.  Builds the failed-execve-fix and bounded-cid-wait
kernels if needed.  Exit 0 when every 7.3 boot was named by the module
and hung without it, every fixed boot finished, and on every
bounded-cid-wait boot a thread read an mm_cid at or above the possible
CPUs.
EOF
}

ARGS="$*"
while [ $# -gt 0 ]; do
	case "$1" in
	--boots) BOOTS=${2:?}; shift 2 ;;
	--record) RECORD=1; shift ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
need_number --boots "${BOOTS}" 1 100

"${MMCID_TOP}/scripts/setup-deps.sh"
"${MMCID_TOP}/scripts/build-kernel.sh" >/dev/null
"${MMCID_TOP}/scripts/build-kernel.sh" --flavour failed-execve-fix >/dev/null
"${MMCID_TOP}/scripts/build-kernel.sh" --flavour bounded-cid-wait >/dev/null
KDIR=$("${MMCID_TOP}/scripts/build-kernel.sh" --print-dir)
FIX=$("${MMCID_TOP}/scripts/build-kernel.sh" --flavour failed-execve-fix --print-dir)
BOUNDED=$("${MMCID_TOP}/scripts/build-kernel.sh" --flavour bounded-cid-wait --print-dir)
make -s -C "${MMCID_TOP}" KDIR="${KDIR}" module
make -s -C "${MMCID_TOP}/selftests/mmcid_rs" KSFT_DIR="${KDIR}/tools/testing/selftests"

LINES=()
BAD=0
# boot NAME KERNEL ARGS...: one guest; its output in OUT, its exit in RC.
# A guest that never started scripts/guest-leak.sh (a boot that hung
# under TCG before user space) says nothing of the kernel's mm_cid code:
# it is booted once more, and the line says so.
boot() {
	local name=$1 kernel=$2 t0=${SECONDS} try
	shift 2
	AGAIN=
	for try in 1 2; do
		log "${name}: boot $((i + 1)) of ${BOOTS}${AGAIN:+, once more}"
		RC=0
		OUT=$(cd "${MMCID_TOP}" && scripts/run-vng.sh --kernel "${kernel}" --cpus 2 --timeout 240 -- \
			./scripts/guest-leak.sh "$@" 2>&1) || RC=$?
		grep -q '^guest-leak: started' <<<"${OUT}" && break
		AGAIN=" (booted twice: the first never reached user space)"
	done
	SECS=$((SECONDS - t0))
	ROUND=$(sed -n 's/^round \([0-9]*\).*/\1/p' <<<"${OUT}" | tail -1)
}
# said NAME OK TEXT: the boot's line, TEXT when OK is 0, else a failure.
said() {
	if [ "$2" = 0 ]; then
		LINES+=("$1, boot $((i + 1)): $3 (${SECS} s)${AGAIN}")
	else
		LINES+=("$1, boot $((i + 1)): FAILED, $3 (exit ${RC}, last round ${ROUND:-none}, ${SECS} s)${AGAIN}")
		BAD=1
	fi
}
for ((i = 0; i < BOOTS; i++)); do
	boot "7.3 with mmcid_rs" "${KDIR}"
	ok=1
	[ "${RC}" = 0 ] && grep -q '^round [0-9]*: mmcid_rs names' <<<"${OUT}" && ok=0
	said "7.3 with mmcid_rs" "${ok}" "leak named in round ${ROUND:-none}"
	boot "7.3 alone" "${KDIR}" --no-module
	ok=1
	[ "${RC}" != 0 ] && grep -q 'RCU Stall\|rcu_preempt detected stalls' <<<"${OUT}" && ok=0
	said "7.3 alone" "${ok}" "hung (RCU stall) after round ${ROUND:-0}"
	boot "failed-execve-fix alone" "${FIX}" --no-module
	ok=1
	[ "${RC}" = 0 ] && [ "${ROUND}" = 1000 ] && ok=0
	said "failed-execve-fix alone" "${ok}" "1000 rounds, no hang"
	boot "bounded-cid-wait alone" "${BOUNDED}" --no-module
	ok=1
	seen=$(grep -m1 -o 'round [0-9]*: [A-Za-z]* read rseq mm_cid [0-9a-fx]*, at or above the [0-9]* possible CPUs' <<<"${OUT}" || true)
	[ -n "${seen}" ] && ok=0
	# What the kernel said after it, if anything (the bit 2^31 a drop of
	# such a CID clears lies 256 MiB past the mm's bitmap).
	splat=$(grep -A1 'the guest kernel reported a problem' <<<"${OUT}" | sed -n '2s/^ *//p' || true)
	said "bounded-cid-wait alone" "${ok}" "${seen:-no mm_cid at or above the possible CPUs}${splat:+; the kernel: ${splat}}"
	boot "bounded-cid-wait with mmcid_rs" "${BOUNDED}" --bounded
	ok=1
	seen=$(grep -m1 -o 'round [0-9]*: [A-Za-z]* read rseq mm_cid [0-9a-fx]*' <<<"${OUT}" || true)
	named=$(sed -n 's/^round \([0-9]*\): mmcid_rs names.*/\1/p' <<<"${OUT}" | head -1)
	[ "${RC}" = 0 ] && ok=0
	said "bounded-cid-wait with mmcid_rs" "${ok}" "leak named in round ${named:-none}, ${seen:-no mm_cid at or above the possible CPUs}, $(grep -o 'mismatches [0-9]*' <<<"${OUT}" | tail -1 || true)"
done
TEXT=$(printf '%s\n' "${LINES[@]}")
echo "${TEXT}"
if [ "${RECORD}" = 1 ]; then
	record_measurement "The CID a failed execve() leaks, ${BOOTS} boots of each kernel" \
		"scripts/leak.sh ${ARGS}" "${TEXT}"
fi
[ "${BAD}" = 0 ]
