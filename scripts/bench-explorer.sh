#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Benchmark the explorer: for each configuration, the median wall time and
# peak memory of several runs, and the states it visited.  Prints a
# Markdown table for the README.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

RUNS=5

usage() {
	cat <<EOF
Usage: $0 [--runs N]

Runs each configuration N times (default ${RUNS}) with the release build
and prints median wall time, median peak RSS and the explorer's verdict.
EOF
}

while [ $# -gt 0 ]; do
	case "$1" in
	--runs) RUNS=${2:?}; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
need_number --runs "${RUNS}" 1 1000
[ -x /usr/bin/time ] || die "/usr/bin/time not found: apt-get install time"

(cd "${MMCID_TOP}" && cargo build --locked --release -q)
EXPLORER=${MMCID_TOP}/target/release/explorer

median() {
	sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'
}

bench() {
	local args=$1 i out times=() mems=() verdict tf
	tf=$(mktemp)
	for ((i = 0; i < RUNS; i++)); do
		# shellcheck disable=SC2086 # args are words
		out=$(/usr/bin/time -o "${tf}" -f '%e %M' "${EXPLORER}" ${args} 2>/dev/null || true)
		times+=("$(tail -1 "${tf}" | awk '{print $1}')")
		mems+=("$(tail -1 "${tf}" | awk '{print $2}')")
		verdict=$(echo "${out}" | head -1)
	done
	rm -f "${tf}"
	printf '| `%s` | %s | %s s | %s MiB |\n' "${args}" \
		"$(echo "${verdict}" | sed 's/ ([0-9.]* s)$//; s/^[^:]*: //')" \
		"$(printf '%s\n' "${times[@]}" | median)" \
		"$(( $(printf '%s\n' "${mems[@]}" | median) / 1024 ))"
}

echo "| configuration | verdict (states, transitions) | median wall | median peak RSS |"
echo "|---|---|---|---|"
bench "--variant pre-fix --scenario bpf-ci --cpus 4"
bench "--variant pre-fix --scenario changelog --cpus 4"
bench "--variant no-transit --scenario cpu-to-task --cpus 6"
for cpus in 2 3 4; do
	bench "--variant v7.3 --scenario bpf-ci --cpus ${cpus}"
done
bench "--variant v7.3 --scenario cpu-to-task --cpus 6"
bench "--variant v7.3 --scenario bpf-ci --cpus 4 --switches 7"
