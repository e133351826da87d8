#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# How much of the mm_cid code `make run` reaches, as the kernel counts it:
# build the gcov flavour (kernel/sched/core.o profiled), run make run's
# boots on it with the module checking, and print gcov's lines and
# branches of the mirrored C functions beside the model's paths the
# module checked (scripts/coverage.py).  --before REV runs REV's
# kselftest the way make run ran it then (one boot, no widening) too.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<EOF
Usage: $0 [--cpus N] [--seconds S] [--before REV] [--write-doc]

  --cpus N      as make run (default 4)
  --seconds S   the kselftest's time per variant (default 10, as make run)
  --before REV  also run the kselftest of commit REV, built in a
                worktree, in one boot with no offline possible CPUs (make
                run before the widening had a boot of its own)
  --write-doc   write docs/coverage.md (command, date, commit, machine)

Each run's output is under ${MMCID_CACHE}/coverage/<name>/.
EOF
}

CPUS=4
SECS=10
BEFORE=
DOC=0
ARGS="$*"
while [ $# -gt 0 ]; do
	case "$1" in
	--cpus) CPUS=${2:?--cpus needs a count}; shift 2 ;;
	--seconds) SECS=${2:?--seconds needs a count}; shift 2 ;;
	--before) BEFORE=${2:?--before needs a commit}; shift 2 ;;
	--write-doc) DOC=1; shift ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
need_number --cpus "${CPUS}" 1 $((MMCID_MAX_CPUS - 1))
need_number --seconds "${SECS}" 1 100
if [ -n "${BEFORE}" ]; then
	rev=$(git -C "${MMCID_TOP}" rev-parse --short=7 --verify -q "${BEFORE}^{commit}") ||
		die "--before: '${BEFORE}' is not a commit of ${MMCID_TOP}"
	BEFORE=${rev}
fi
command -v gcov-tool >/dev/null || die "gcov-tool not found (Debian's gcc package has it)"

step "coverage: the gcov kernel" "${MMCID_TOP}/scripts/build-kernel.sh" --flavour gcov >/dev/null
GTREE=$("${MMCID_TOP}/scripts/build-kernel.sh" --flavour gcov --print-dir)
OUT=${MMCID_CACHE}/coverage
# The guest writes the profiles there (run-vng.sh --rwdir); the kselftest
# of --before is copied there too.
GUEST_OUT=${OUT}/guest
rm -rf "${GUEST_OUT}" && mkdir -p "${GUEST_OUT}"

# run_one NAME [RUN.SH ARGS]: make run on the gcov kernel, its boots'
# profiles merged, gcov's JSON and the run's output in ${OUT}/NAME.
run_one() {
	local name=$1 d=${OUT}/$1 rc=0 boots
	shift
	rm -rf "${d}" "${GUEST_OUT:?}/${name}" && mkdir -p "${d}" "${GUEST_OUT}/${name}"
	log "coverage: ${name}: scripts/run.sh $* on the gcov kernel"
	KDIR=${GTREE} MMCID_RS_GCOV_OUT=${GUEST_OUT}/${name} "${MMCID_TOP}/scripts/run.sh" \
		--cpus "${CPUS}" --seconds "${SECS}" "$@" >"${d}/run.out" || rc=$?
	tail -3 "${d}/run.out"
	[ "${rc}" = 0 ] || warn "coverage: ${name}: make run failed (exit ${rc}); its profile counts all the same"
	boots=$(find "${GUEST_OUT}/${name}" -name core.gcda -printf '%h\n' 2>/dev/null | sort)
	[ -n "${boots}" ] || die "coverage: ${name}: no boot saved a profile (see ${d}/run.out)"
	mkdir -p "${d}/merged"
	if [ "$(echo "${boots}" | wc -l)" = 1 ]; then
		cp "${boots}/core.gcda" "${d}/merged/"
	else
		# shellcheck disable=SC2086
		gcov-tool merge -o "${d}/merged" ${boots} >/dev/null
	fi
	ln -sf "${GTREE}/kernel/sched/core.gcno" "${d}/merged/core.gcno"
	(cd "${d}" && gcov --json-format --branch-probabilities -o merged "${GTREE}/kernel/sched/core.c" >/dev/null) ||
		die "coverage: ${name}: gcov failed on ${d}/merged"
	[ -f "${d}/core.gcov.json.gz" ] || die "coverage: ${name}: gcov wrote no ${d}/core.gcov.json.gz"
}

run_one after
if [ -n "${BEFORE}" ]; then
	wt=$(mktemp -d)
	trap 'git -C "${MMCID_TOP}" worktree remove --force "${wt}" 2>/dev/null || true' EXIT
	git -C "${MMCID_TOP}" worktree add -q --detach "${wt}" "${BEFORE}"
	step "coverage: the kselftest of ${BEFORE}" make -s -C "${wt}/selftests/mmcid_rs" \
		KSFT_DIR="${GTREE}/tools/testing/selftests" >&2
	mkdir -p "${GUEST_OUT}/before-test"
	cp "${wt}/selftests/mmcid_rs/mmcid_rs_test" "${GUEST_OUT}/before-test/"
	MMCID_RS_TEST=${GUEST_OUT}/before-test/mmcid_rs_test run_one before --possible $((CPUS + 1))
fi

cov() {
	python3 "${MMCID_TOP}/scripts/coverage.py" --tree "${GTREE}" --counts "${OUT}/$1/run.out" \
		"${OUT}/$1/core.gcov.json.gz" "${@:2}"
}
echo "mmcid_rs: coverage of the mm_cid code by make run: $(cov after --summary)"
[ -z "${BEFORE}" ] || echo "mmcid_rs: the same by make run at ${BEFORE}: $(cov before --summary)"
[ "${DOC}" = 1 ] || exit 0

doc=${MMCID_TOP}/docs/coverage.md
{
	cat <<EOF
# What make run reaches of the mm_cid code

Written by \`scripts/coverage.sh\`; do not edit by hand, run it again.

- command: \`scripts/coverage.sh ${ARGS}\`
- date: $(date -u '+%F %H:%M UTC'), commit: $(commit_id)
- machine: $(machine_line)
- kernel: the gcov flavour of ${GTREE##*/} (\`scripts/build-kernel.sh --flavour gcov\`:
  kernel/sched/core.o profiled, core.c and the sched.h inlines it runs)

The section is every C function a "Mirrors \`f()\`" comment in model/ names
(the version guard's list), cut out of core.c and sched.h as the guard
cuts it.  "lines run" and "branches taken" are gcov's (a branch is an
edge out of a conditional, two per \`if\`, as \`gcov -b\` counts them),
over make run's boots, from the module's load to the end of the
kselftest; "model paths checked" are the model's branches
(model/paths.rs) that a check in agreement with the C took, the module's
report, and how many of them 100 times or more.  The branches gcov counts
and the model's paths differ where the C has tests the model does not
mirror (\`!mm\`, \`WARN_ON_ONCE()\` conditions, the rseq notification,
\`test_and_set_bit()\` failing), where a macro or inline adds its own
(\`guard()\`, \`cpumask_*()\`), and where the model splits one into its
boundaries (model/paths.rs says which).

gcov counts what any task of the guest made the C do (the guest's shell
forks and execs too), the model's column what the module checked: the
first says the C was reached, the second that it was compared with the
model.  Below each table, every line with a branch not taken is argued
(scripts/coverage.py, LINES): "unreachable" cites the C that rules it
out on 7.3, "compiler" is a test a macro or bitop expands to that
core.o keeps but cannot take, "workload" one a correct 7.3 can take and
make run does not.  So is each model path not checked; anything else is
marked **not argued**, which make test refuses for today's run.

## make run today (\`scripts/run.sh --cpus ${CPUS} --seconds ${SECS}\`)

$(tail -1 "${OUT}/after/run.out")

$(cov after)
EOF
	if [ -n "${BEFORE}" ]; then
		cat <<EOF

## make run at ${BEFORE}, its kselftest in one boot (\`--possible $((CPUS + 1))\`)

$(tail -1 "${OUT}/before/run.out")

$(cov before)
EOF
	fi
} >"${doc}"
log "wrote ${doc}"
