#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Benchmark the explorer: for each configuration, the median wall time and
# peak memory of several runs, and the states it visited.  Prints Markdown
# tables; --record appends them to docs/measurements.md.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

RUNS=5
RECORD=0
REV=
SETS="bounded"
HEAVY_LOCK=${MMCID_CACHE}/heavy.lock
MEM_MAX_KB=$((17 * 1024 * 1024))
TIMEOUT=1200

usage() {
	cat <<EOF
Usage: $0 [--runs N] [--rev REV] [--set bounded|unbounded|zoo|weak|largest|affinity|threads]... [--record]

  --runs N   runs of each configuration (default ${RUNS}); the tables give
             the median wall time and peak RSS
  --rev REV  measure the explorer of another commit (built from
             'git archive REV' in a temporary directory), e.g. main for the
             numbers before a change; the bounded set runs on any revision
  --set S    which configurations (repeatable, default bounded):
             bounded    the bounded searches the README always listed
             unbounded  v7.3 to a fixpoint: the BPF CI configuration on 4 CPUs
                        without, with one and with three exits
             zoo        each variant with its bug in the configuration that
                        finds it, v7.3 in the same configuration
             weak       the weak memory rows of the zoo alone, v7.3 on 4 CPUs
                        with a state bound of 300 M
             largest    the largest unbounded configurations tried (minutes)
             affinity   the affinity scenario: v7.3 (mode stuck) and the
                        affinity-switchback candidate fix, bounded, unbounded
                        and with larger budgets (docs/affinity.md)
             threads    two unbounded v7.3 searches with --threads 1, then
                        with one thread a CPU of this machine (the others
                        run with the explorer's default, every CPU)
  --record   append the tables to docs/measurements.md (command, date,
             commit, machine)

Runs that take more than a few seconds wait for ${HEAVY_LOCK} (kernel
builds and VMs take it too), are capped at 17 GiB of address space and
stopped after ${TIMEOUT} s (MMCID_BENCH_TIMEOUT).  MMCID_BENCH_LOCKED=1
says the caller holds the lock already, for the whole run.
EOF
}

ARGS="$*"
SETS_GIVEN=
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) RUNS=${2:?}; shift 2 ;;
	--rev) REV=${2:?}; shift 2 ;;
	--set) SETS_GIVEN="${SETS_GIVEN} ${2:?}"; shift 2 ;;
	--record) RECORD=1; shift ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
[ -n "${SETS_GIVEN}" ] && SETS=${SETS_GIVEN}
TIMEOUT=${MMCID_BENCH_TIMEOUT:-${TIMEOUT}}
need_number --runs "${RUNS}" 1 1000
for s in ${SETS}; do
	case "${s}" in
	bounded|unbounded|zoo|weak|largest|affinity|threads) ;;
	*) die "--set: unknown set '${s}'; want bounded, unbounded, zoo, weak, largest, affinity or threads" ;;
	esac
done
[ -x /usr/bin/time ] || die "/usr/bin/time not found: apt-get install time"
command -v flock >/dev/null || die "flock not found: apt-get install util-linux"

SRC=${MMCID_TOP}
TMP=$(mktemp -d)
trap 'rm -rf "${TMP}"' EXIT
if [ -n "${REV}" ]; then
	commit=$(git -C "${MMCID_TOP}" rev-parse --verify "${REV}^{commit}") ||
		die "--rev ${REV}: not a commit of this repository"
	log "bench: building the explorer of ${REV} (${commit:0:12}) in ${TMP}/src"
	mkdir -p "${TMP}/src"
	git -C "${MMCID_TOP}" archive "${commit}" | tar -x -C "${TMP}/src"
	SRC=${TMP}/src
fi
(cd "${SRC}" && cargo build --locked --release -q -p explorer) ||
	die "the explorer of ${REV:-this tree} does not build"
EXPLORER=${SRC}/target/release/explorer
VERSION=${REV:-$(git -C "${MMCID_TOP}" describe --always --dirty --abbrev=12)}

median() {
	sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'
}

# run ARGS...: one run; prints "wall_s peak_kb" on the last line of
# ${TMP}/time and the explorer's stdout in ${TMP}/out.
run() {
	local heavy=$1
	shift
	if [ "${heavy}" = 1 ] && [ "${MMCID_BENCH_LOCKED:-0}" != 1 ]; then
		# shellcheck disable=SC2016 # the inner shell expands them
		flock "${HEAVY_LOCK}" bash -c 'ulimit -v "$1"; shift; exec "$@"' _ \
			"${MEM_MAX_KB}" /usr/bin/time -o "${TMP}/time" -f '%e %M' \
			timeout "${TIMEOUT}" "${EXPLORER}" "$@" >"${TMP}/out" 2>/dev/null || true
	elif [ "${heavy}" = 1 ]; then
		# shellcheck disable=SC2016 # the inner shell expands them
		bash -c 'ulimit -v "$1"; shift; exec "$@"' _ "${MEM_MAX_KB}" \
			/usr/bin/time -o "${TMP}/time" -f '%e %M' \
			timeout "${TIMEOUT}" "${EXPLORER}" "$@" >"${TMP}/out" 2>/dev/null || true
	else
		/usr/bin/time -o "${TMP}/time" -f '%e %M' "${EXPLORER}" "$@" \
			>"${TMP}/out" 2>/dev/null || true
	fi
}

# bench HEAVY RUNS ARGS: a table row.  The verdict line loses its own
# timing; the steps are the timeline's numbered lines; the shape is that
# of a live lock.
bench() {
	local heavy=$1 runs=$2 args=$3 i times=() mems=() verdict steps shape
	for ((i = 0; i < runs; i++)); do
		# shellcheck disable=SC2086 # args are words
		run "${heavy}" ${args}
		times+=("$(tail -1 "${TMP}/time" | awk '{print $1}')")
		mems+=("$(tail -1 "${TMP}/time" | awk '{print $2}')")
	done
	verdict=$(head -1 "${TMP}/out" | sed 's/, [0-9.]* s)$/)/; s/^[^:]*: //')
	[ -n "${verdict}" ] || verdict="(no verdict: $(tail -1 "${TMP}/time"))"
	steps=$(grep -cE '^ {0,3}[0-9]+  ' "${TMP}/out" || true)
	shape=$(sed -n 's/^shape: //p' "${TMP}/out")
	# shellcheck disable=SC2016 # Markdown backquotes
	printf '| `%s` | %s | %s | %s | %s s | %s MiB |\n' "${args}" "${verdict}" \
		"${steps}" "${shape}" "$(printf '%s\n' "${times[@]}" | median)" \
		"$(( $(printf '%s\n' "${mems[@]}" | median) / 1024 ))"
}

header() {
	printf '\n%s (explorer of %s, median of %s runs)\n\n' "$1" "${VERSION}" "$2"
	echo "| configuration | verdict (states, transitions) | trace steps | live lock shape | median wall | median peak RSS |"
	echo "|---|---|---|---|---|---|"
}

bounded() {
	header "Bounded searches (the default bound of 6 context switches unless stated)" "${RUNS}"
	bench 0 "${RUNS}" "--variant pre-fix --scenario bpf-ci --cpus 4"
	bench 0 "${RUNS}" "--variant pre-fix --scenario changelog --cpus 4"
	bench 0 "${RUNS}" "--variant no-transit --scenario cpu-to-task --cpus 6"
	for cpus in 2 3 4; do
		bench 0 "${RUNS}" "--variant v7.3 --scenario bpf-ci --cpus ${cpus}"
	done
	bench 0 "${RUNS}" "--variant v7.3 --scenario cpu-to-task --cpus 6"
	bench 1 "${RUNS}" "--variant v7.3 --scenario bpf-ci --cpus 4 --switches 7"
}

unbounded() {
	header "Unbounded searches of v7.3 (to a fixpoint)" "${RUNS}"
	bench 0 "${RUNS}" "--variant v7.3 --scenario bpf-ci --cpus 3 --switches none"
	header "Unbounded searches of v7.3, 4 CPUs (minutes each)" 1
	bench 1 1 "--variant v7.3 --scenario bpf-ci --cpus 4 --switches none"
	bench 1 1 "--variant v7.3 --scenario bpf-ci --cpus 4 --exits 1 --switches none"
	bench 1 1 "--variant v7.3 --scenario bpf-ci --cpus 4 --exits 3 --switches none"
}

zoo() {
	local execve="--scenario cpu-to-task --cpus 4 --forks 1 --exits 1 --execs 2 --switches none"
	local forks="--scenario bpf-ci --cpus 4 --tasks 3 --forks 2 --forkers 2 --switches none"
	local vfork="--scenario bpf-ci --cpus 4 --tasks 3 --forks 1 --vforks 1 --switches none"
	header "The bug zoo: each variant in the configuration that finds its bug, unbounded" "${RUNS}"
	bench 0 "${RUNS}" "--variant pre-fix --scenario bpf-ci --cpus 4 --switches none"
	bench 0 "${RUNS}" "--variant pre-fix --scenario changelog --cpus 4 --switches none"
	bench 0 "${RUNS}" "--variant no-transit --scenario cpu-to-task --cpus 6 --switches none"
	bench 0 "${RUNS}" "--variant unguarded-drop --scenario cpu-to-task --cpus 6 --switches none"
	bench 0 "${RUNS}" "--variant transit-unset ${execve} --no-unset-check"
	bench 0 "${RUNS}" "--variant fork-invisible ${forks}"
	bench 0 "${RUNS}" "--variant fork-invisible ${forks} --no-transition-check"
	bench 0 "${RUNS}" "--variant vfork-count ${vfork}"
	bench 0 "${RUNS}" "--variant split-mode --scenario bpf-ci --cpus 3 --switches none --weak-memory"
	bench 0 "${RUNS}" "--variant split-mode --scenario bpf-ci --cpus 4 --switches none --weak-memory"
	header "v7.3 in the same configurations" 1
	bench 1 1 "--variant v7.3 --scenario cpu-to-task --cpus 6 --switches none"
	bench 1 1 "--variant v7.3 ${execve}"
	bench 1 1 "--variant v7.3 ${execve} --no-unset-check"
	bench 1 1 "--variant v7.3 ${execve} --no-unset-check --no-transition-check"
	bench 1 1 "--variant v7.3 ${forks}"
	bench 1 1 "--variant v7.3 ${vfork}"
	bench 1 1 "--variant v7.3 --scenario bpf-ci --cpus 3 --switches none --weak-memory"
	bench 1 1 "--variant v7.3 --scenario bpf-ci --cpus 4 --switches none --weak-memory"
}

weak() {
	local cfg="--scenario bpf-ci --switches none --weak-memory"
	header "Weak memory, unbounded" "${RUNS}"
	bench 0 "${RUNS}" "--variant split-mode ${cfg} --cpus 3"
	bench 0 "${RUNS}" "--variant split-mode ${cfg} --cpus 4"
	bench 0 "${RUNS}" "--variant v7.3 ${cfg} --cpus 3"
	header "Weak memory, v7.3 on 4 CPUs (minutes)" 1
	bench 1 1 "--variant v7.3 ${cfg} --cpus 4 --max-states 300000000"
}

largest() {
	header "The largest unbounded configurations tried" 1
	bench 1 1 "--variant v7.3 --scenario bpf-ci --cpus 5 --switches none --max-states 300000000"
}

affinity() {
	local sc="--scenario affinity"
	header "Affinity widening (6 possible CPUs, T0 pinned to CPU0 forks T1, T1 widened to CPUs 0-2)" "${RUNS}"
	bench 0 "${RUNS}" "--variant v7.3 ${sc}"
	bench 0 "${RUNS}" "--variant v7.3 ${sc} --switches none"
	bench 0 "${RUNS}" "--variant affinity-switchback ${sc}"
	bench 0 "${RUNS}" "--variant affinity-switchback ${sc} --switches none"
	bench 0 "${RUNS}" "--variant affinity-switchback ${sc} --forks 2 --exits 1 --affinity 3 --switches none"
	bench 1 "${RUNS}" "--variant affinity-switchback ${sc} --forks 3 --exits 2 --affinity 3 --switches none"
}

threads() {
	local n c
	n=$(nproc)
	header "Threads: the same unbounded searches on 1 and ${n} threads" "${RUNS}"
	for c in "--variant v7.3 --scenario bpf-ci --cpus 3 --switches none" \
		"--variant v7.3 --scenario cpu-to-task --cpus 4 --forks 1 --exits 1 --execs 2 --switches none --no-unset-check --no-transition-check"; do
		bench 0 "${RUNS}" "${c} --threads 1"
		bench 1 "${RUNS}" "${c} --threads ${n}"
	done
}

out=${TMP}/tables
: >"${out}"
for s in ${SETS}; do
	log "bench: ${s}"
	"${s}" | tee -a "${out}"
done
if [ "${RECORD}" = 1 ]; then
	record_measurement "explorer benchmark (${VERSION})" \
		"scripts/bench-explorer.sh ${ARGS}" "$(cat "${out}")"
fi
