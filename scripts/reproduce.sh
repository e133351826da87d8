#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Reproduce the January 2026 live lock: boot 7.3 with the fix reverted
# (patches/pre-fix/) and run the fork pattern; it must stop making progress.
# Then run the same on 7.3 as shipped, where it must finish.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

BOOTS=1
SECS=20
LIMIT=60

usage() {
	cat <<EOF
Usage: $0 [--boots N] [--seconds S] [--limit L]

Per boot, runs selftests/mmcid_rs/fork_pattern for S seconds (default
${SECS}) in a 4-vCPU guest, printing progress every 10 rounds, and gives
the guest L seconds of wall time (default ${LIMIT}).  The pre-fix kernel is
"reproduced" when its guest stops printing progress and then the RCU stall
detector (21 s), the soft lockup detector or the wall-clock limit ends it;
when every CPU ends up spinning with interrupts off, only the last can.
EOF
}

while [ $# -gt 0 ]; do
	case "$1" in
	--boots) BOOTS=${2:?}; shift 2 ;;
	--seconds) SECS=${2:?}; shift 2 ;;
	--limit) LIMIT=${2:?}; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done

"${MMCID_TOP}/scripts/setup-deps.sh"
"${MMCID_TOP}/scripts/build-kernel.sh" >/dev/null
"${MMCID_TOP}/scripts/build-kernel.sh" --flavour pre-fix >/dev/null
make -s -C "${MMCID_TOP}/selftests/mmcid_rs" KSFT_DIR="$("${MMCID_TOP}/scripts/build-kernel.sh" --print-dir)/tools/testing/selftests"

# boot FLAVOUR: prints "ok ROUNDS" or "hung LAST_PROGRESS_S ROUNDS"
boot() {
	local out rc=0 last
	out=$("${MMCID_TOP}/scripts/run-vng.sh" --flavour "$1" --timeout "${LIMIT}" --tcg-thread multi -- \
		./selftests/mmcid_rs/fork_pattern "${SECS}" 10 2>&1) || rc=$?
	last=$(echo "${out}" | sed -n 's/^fork_pattern: \([0-9]*\) rounds at \([0-9.]*\) s$/\2 \1/p' | tail -1)
	if [ "${rc}" = 0 ]; then
		echo "ok $(echo "${out}" | sed -n 's/^fork_pattern: \([0-9]*\) rounds in .*/\1/p')"
	elif echo "${out}" | grep -q 'detected stall'; then
		echo "hung ${last:-0 0} RCU-stall-detector"
	elif echo "${out}" | grep -q 'soft lockup'; then
		echo "hung ${last:-0 0} soft-lockup-detector"
	elif echo "${out}" | grep -q 'did not finish within'; then
		echo "hung ${last:-0 0} wall-clock-limit"
	else
		echo "failed"
		echo "${out}" | tail -5 >&2
	fi
}

reproduced=0
for ((i = 1; i <= BOOTS; i++)); do
	r=$(boot pre-fix)
	log "pre-fix boot ${i}: ${r}"
	case "${r}" in
	hung*) reproduced=$((reproduced + 1))
	       echo "reproduced: pre-fix boot ${i} stopped making progress after $(echo "${r}" | awk '{print $2}') s ($(echo "${r}" | awk '{print $3}') rounds); caught by the $(echo "${r}" | awk '{print $4}')" ;;
	*) echo "not reproduced: pre-fix boot ${i}: ${r}" ;;
	esac
done
r=$(boot v7.3)
log "v7.3 boot: ${r}"
echo "mmcid_rs: live lock reproduced in ${reproduced}/${BOOTS} pre-fix boots; 7.3: ${r}"
[ "${reproduced}" = "${BOOTS}" ] && [ "${r%% *}" = ok ]
