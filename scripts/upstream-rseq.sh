#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The upstream series of patches/upstream-rseq/ (mm_cid mode transition
# tests for tools/testing/selftests/rseq), end to end: git am on a clean
# 7.3 tree, checkpatch, build, and runs under the kselftest runner on each
# kernel flavour, without mmcid_rs.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

FLAVOURS=()
BOOTS=1
ALL=0
RECORD=0
SERIES=${MMCID_TOP}/patches/upstream-rseq
WORK=${MMCID_CACHE}/upstream-rseq
TREE=${WORK}/linux
INSTALL=${WORK}/install

usage() {
	cat <<EOF
Usage: $0 [--flavour F]... [--boots N] [--all] [--record]
       $0 --mutants [--only NN]... [--record]

Applies patches/upstream-rseq/*.patch with git am to a git copy of the
7.3 source (${TREE}, made once from the cached source), runs
scripts/checkpatch.pl --strict on each patch, builds the rseq selftests,
and boots each flavour (default v7.3, affinity-switchback and
failed-execve-fix; scripts/build-kernel.sh builds them) N times (default
${BOOTS}) on 4 of 8 possible vCPUs, without the module, running
mm_cid_transition_test under run_kselftest.sh, or with --all
"make -C tools/testing/selftests TARGETS=rseq run_tests" (every rseq
test).  Prints each boot's TAP results and totals; --record appends
them to docs/measurements.md.  Exit 0 when the series applied, built and
every guest printed its TAP totals (the results are the verdict).

--mutants: 7.3 (the control) and then each mutant of patches/mutants/
(its kernel from scripts/mutants.sh's cache) booted the same way with the
test alone.  A mutant is killed when the guest hangs or splats, or the
test prints an assertion the control did not, or a case's verdict differs
from the control's (failed_execve_during_transition fails on 7.3 itself
when its window is hit: PASS and FAIL are both the control's there).
Results are cached per mutant and series; scripts/mutants.sh --table
--write-doc puts them next to the module's in docs/mutants.md.
EOF
}

ARGS="$*"
MUTANTS=0
ONLY=()
while [ $# -gt 0 ]; do
	case "$1" in
	--mutants) MUTANTS=1; shift ;;
	--only) ONLY+=(--only "${2:?--only needs a mutant}"); shift 2 ;;
	--flavour) FLAVOURS+=("${2:?--flavour needs a value}"); shift 2 ;;
	--boots) BOOTS=${2:?--boots needs a value}; shift 2 ;;
	--all) ALL=1; shift ;;
	--record) RECORD=1; shift ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
need_number --boots "${BOOTS}" 1 100
[ "${MUTANTS}" = 1 ] || [ ${#ONLY[@]} = 0 ] || die "--only goes with --mutants"
[ ${#FLAVOURS[@]} -gt 0 ] || FLAVOURS=(v7.3 affinity-switchback failed-execve-fix)

# One run at a time: every run checks the series out into the same tree
# and builds the same install (a second one rebuilt it under the first).
mkdir -p "${WORK}"
exec 9>"${WORK}/lock"
flock -n 9 || die "another scripts/upstream-rseq.sh is running (${WORK}/lock)"

# The clean tree, once: git add -f, as Debian's .gitignore ignores "/*".
base_tree() {
	"${MMCID_TOP}/scripts/build-kernel.sh" >/dev/null
	rm -rf "${TREE}.new"
	mkdir -p "${WORK}"
	cp -a "${MMCID_CACHE}/src/linux-source-${KERNEL_SERIES}" "${TREE}.new"
	git -C "${TREE}.new" init -q -b base-branch
	git -C "${TREE}.new" add -f -A .
	git -C "${TREE}.new" -c user.name=base -c user.email=base@localhost \
		commit -q -m "Linux ${KERNEL_SERIES} ($(source_version))"
	git -C "${TREE}.new" tag base
	mv "${TREE}.new" "${TREE}"
}
[ -d "${TREE}/.git" ] || step "upstream-rseq: a git copy of the 7.3 source" base_tree

apply_series() {
	git -C "${TREE}" am --abort >/dev/null 2>&1 || true
	git -C "${TREE}" checkout -q -f -B series base
	git -C "${TREE}" clean -q -f -d -x tools/testing/selftests/rseq
	git -C "${TREE}" -c user.name=series -c user.email=series@localhost \
		am -q "${SERIES}"/0[0-9][0-9][1-9]-*.patch
	git -C "${TREE}" log --oneline base..series
}
step "upstream-rseq: git am patches/upstream-rseq" apply_series

# checkpatch's SPDX check runs scripts/spdxcheck.py, which needs python's
# ply: without it the check is skipped, and the line says so.
CHECKPATCH=()
for p in "${SERIES}"/0[0-9][0-9][1-9]-*.patch; do
	out=$(cd "${TREE}" && perl scripts/checkpatch.pl --strict "${p}" 2>&1 || true)
	line="$(basename "${p}"): $(grep -E '^total:' <<<"${out}")"
	grep -q "No module named 'ply'" <<<"${out}" && line+=" (SPDX check not run: no python3 ply)"
	CHECKPATCH+=("${line}")
	echo "checkpatch --strict ${line}"
done

build() {
	rm -rf "${INSTALL}"
	make -s -C "${TREE}/tools/testing/selftests" TARGETS=rseq install INSTALL_PATH="${INSTALL}" 2>&1 |
		grep -vE 'Circular .* dependency dropped|^Emit Tests|git describe|Installation is complete' || true
	[ -x "${INSTALL}/rseq/mm_cid_transition_test" ] || die "the rseq selftests did not build"
}
step "upstream-rseq: build the rseq selftests" build

# tap_cases LOG: the new test's cases of a console log, "name RESULT, ...".
tap_cases() {
	python3 "${MMCID_TOP}/scripts/classify_boot.py" --tap-cases "$1"
}

# boot KERNEL_DIR: one guest with the test alone; sets RC and LOG.
boot() {
	local out
	RC=0
	out=$(cd "${MMCID_TOP}" && flock "${MMCID_CACHE}/heavy.lock" scripts/run-vng.sh --kernel "$1" \
		--cpus 4 --possible 8 --timeout 400 --quiet-limit 90 --rwdir "${TREE}" -- \
		./scripts/guest-upstream-rseq.sh "${INSTALL}" 2>&1) || RC=$?
	LOG=$(sed -n 's/.*console log: \([^ ]*\).*/\1/p' <<<"${out}" | tail -1)
	[ -f "${LOG}" ] || die "no console log: ${out}"
}

# classify LOG: status=..., evidence=... and killed=... of a mutant's boot
# against the control's (CONTROL_LOG), by scripts/classify_boot.py.
classify() {
	python3 "${MMCID_TOP}/scripts/classify_boot.py" --upstream-rseq "$1" --control "${CONTROL_LOG}" --rc "${RC}"
}

if [ "${MUTANTS}" = 1 ]; then
	V73=$("${MMCID_TOP}/scripts/build-kernel.sh" --print-dir)
	log "upstream-rseq: the control, 7.3"
	boot "${V73}"
	CONTROL_LOG=${LOG}
	grep -qaE '^# # Totals:' "${LOG}" || die "the control printed no TAP totals (${LOG})"
	echo "control: $(tap_cases "${LOG}")"
	mapfile -t DIRS < <("${MMCID_TOP}/scripts/mutants.sh" --print-dir "${ONLY[@]}" 2>/dev/null)
	[ ${#DIRS[@]} -gt 0 ] || die "no mutant kernels (scripts/mutants.sh --print-dir)"
	mkdir -p "${MMCID_CACHE}/mutants/upstream"
	for d in "${DIRS[@]}"; do
		name=${d##*/}
		res=$(upstream_result "${name}")
		needs=$(python3 "${MMCID_TOP}/scripts/mutant_results.py" needs "${name}")
		if [ ! -f "${res}" ] || grep -qx 'status=no result' "${res}"; then
			if [ "${needs}" -gt 4 ]; then
				printf 'status=needs %s cpus\nevidence=\n' "${needs}" >"${res}.tmp"
				mv "${res}.tmp" "${res}"
			else
				t0=${SECONDS}
				boot "${d}"
				{ classify "${LOG}"; echo "boot_seconds=$((SECONDS - t0))"; } >"${res}.tmp"
				mv "${res}.tmp" "${res}"
			fi
		fi
		echo "${name%-*}: $(sed -n 's/^status=//p' "${res}")$(sed -n 's/^evidence=\(..*\)/: \1/p' "${res}" | cut -c1-140)"
	done
	python3 "${MMCID_TOP}/scripts/mutant_results.py" "${ONLY[@]}" upstream-tally
	exit 0
fi

LINES=()
for f in "${FLAVOURS[@]}"; do
	"${MMCID_TOP}/scripts/build-kernel.sh" --flavour "${f}" >/dev/null
	for i in $(seq 1 "${BOOTS}"); do
		log "upstream-rseq: ${f}, boot ${i} of ${BOOTS}"
		if [ "${ALL}" = 1 ]; then
			guest=(./scripts/guest-upstream-rseq.sh --make "${TREE}")
		else
			guest=(./scripts/guest-upstream-rseq.sh "${INSTALL}")
		fi
		rc=0
		out=$(cd "${MMCID_TOP}" && scripts/run-vng.sh --flavour "${f}" --cpus 4 --possible 8 \
			--timeout $((ALL ? 1800 : 400)) --rwdir "${TREE}" -- "${guest[@]}" 2>&1) || rc=$?
		log=$(sed -n 's/.*console log: \([^ ]*\).*/\1/p' <<<"${out}" | tail -1)
		[ -f "${log}" ] || die "${f}: no console log: ${out}"
		grep -aE '^# # mm_cid_transition_test\.c:[0-9]+:' "${log}" | sed 's/^# # /  /' || true
		totals=$(grep -aE '^# # Totals:' "${log}" | tail -1 | sed 's/^# # Totals: //')
		[ -n "${totals}" ] || die "${f}: the guest printed no TAP totals (exit ${rc}; ${log})"
		line="${f}: ${totals}; $(tap_cases "${log}")"
		if [ "${ALL}" = 1 ]; then
			line="${line}; rseq run_tests: $(grep -acE '^ok [0-9]+ selftests: rseq' "${log}") ok of $(grep -acE '^(ok|not ok) [0-9]+ selftests: rseq' "${log}")"
		fi
		echo "${line}"
		LINES+=("${line}")
	done
done

if [ "${RECORD}" = 1 ]; then
	record_measurement "upstream rseq selftests (patches/upstream-rseq/)" "scripts/upstream-rseq.sh ${ARGS}" \
		"$(printf 'checkpatch --strict %s\n' "${CHECKPATCH[@]}"; printf '%s\n' "${LINES[@]}")"
fi
