#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Mutation testing of the cross-check: build 7.3 once per mutant in
# patches/mutants/ (each a small wrong change to the mm_cid code of
# kernel/sched), boot each under the kselftest with mmcid_rs loaded, and
# say what noticed it: the module, the kselftest or the kernel.  Results
# are cached, so a run picks up where the last one stopped; the table goes
# to the terminal and to docs/mutants.md.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

CPUS_ARG=4,8
SECS=10
CPUS_GIVEN=0
SECS_GIVEN=0
TIMEOUT=300
QUIET=
STOP=0
ONLY=()
KO_FILES=()
KO_LABELS=()
KO_TESTS=()
BUILD_ONLY=0
PRINT_DIR=0
TABLE_ONLY=0
WRITE_DOC=0
MUTANTS_DIR=${MMCID_TOP}/patches/mutants
OTHER_DIR=0
CMDLINE=scripts/mutants.sh
for a in "$@"; do
	if [[ "${a}" =~ ^[A-Za-z0-9_./,=:+-]+$ ]]; then
		CMDLINE+=" ${a}"
	else
		CMDLINE+=" $(printf '%q' "${a}")"
	fi
done

usage() {
	cat <<EOF
Usage: $0 [options]

Builds every patches/mutants/NN-name.patch into its own 7.3 bzImage (in a
scratch copy of the built v7.3 tree, incremental), boots 7.3 itself as a
control and then each mutant under scripts/guest-mutant.sh (mmcid_rs
loaded with variant=v7.3, the kselftest for S seconds), and classifies
each boot, first that applies:

  module mismatch          a report key ending in "mismatches" is > 0, or
                           a hung guest's console has the module's first
                           finding (printed as it happened)
  fixup violation          a report key ending in "violations" is > 0
  live lock named          live_locks > 0 or "mmcid_rs: live lock" on the console
  kselftest ABI assertion  a duplicate or out-of-range CID seen from rseq
  hang                     time or quiet limit, RCU stall, lockup, panic
  splat                    another kernel WARNING, BUG or Oops
  kselftest failed         any other kselftest failure
  survived                 nothing noticed it

A mutant with "# needs: N cpus" is not booted with fewer vCPUs; one with
"# equivalent: ..." is booted but left out of the kill rate.  A mutant
that does not build is shown as such and left out of the kill rate too.
7.3 itself must come out "survived" with no mismatch first, or nothing
else runs.

  --cpus LIST        guest vCPU counts, comma separated (default ${CPUS_ARG})
  --seconds S        kselftest duration per boot, 1 to 100 (default ${SECS})
  --timeout S        wall-clock limit per boot (default ${TIMEOUT})
  --quiet-limit S    end a boot whose console is silent this long
                     (default: the kselftest's seconds + 50)
  --stop-at-finding  end each boot's kselftest at the module's first finding
                     (scripts/guest-mutant.sh): the class is the same
                     module's, the counts in the details are those up to
                     the finding, and a killed mutant takes a boot and a
                     second instead of the whole kselftest; results are
                     kept apart from full runs
  --only NAME        only this mutant: file stem or its number NN
                     (repeatable); writes no docs/mutants.md
  --ko FILE          a module build to test (repeatable; default: build
                     ./mmcid-rs.ko against the v7.3 tree); the table has one
                     column per --ko and vCPU count
  --label NAME       name of the --ko before it (default: the file name)
  --kselftest FILE   the mmcid_rs_test built with the --ko before it: the
                     kselftest reads the module's report by key names,
                     which change between versions (default: the
                     selftests/mmcid_rs/mmcid_rs_test next to the .ko if
                     there is one, else this repo's)
  --dir DIR          mutants from DIR instead of patches/mutants (writes no
                     docs/mutants.md)
  --build-only       build the mutants' kernels, boot nothing
  --print-dir        build only, and print each selected mutant's kernel
                     directory (for run-vng.sh --kernel) on stdout
  --table            only print the table from the cached results (--cpus
                     and --seconds default to the last run's)
  --write-doc        with --table: also write docs/mutants.md from them
                     (cells never run say so), e.g. to join runs made with
                     different --ko and --cpus

Kernels:  \${MMCID_CACHE}/mutants/<name>-<patch sha256, 12>/ (a failed build
          keeps its log there; remove the directory to retry it)
Results:  \${MMCID_CACHE}/mutants/results/, one key=value file per mutant,
          module (sha256 of the .ko), vCPU count and duration
Every kernel build and every boot holds \${MMCID_CACHE}/heavy.lock.
EOF
}

while [ $# -gt 0 ]; do
	case "$1" in
	--cpus) CPUS_ARG=${2:?--cpus needs a value}; CPUS_GIVEN=1; shift 2 ;;
	--seconds) SECS=${2:?--seconds needs a value}; SECS_GIVEN=1; shift 2 ;;
	--timeout) TIMEOUT=${2:?--timeout needs a value}; shift 2 ;;
	--quiet-limit) QUIET=${2:?--quiet-limit needs a value}; shift 2 ;;
	--stop-at-finding) STOP=1; shift ;;
	--only) ONLY+=("${2:?--only needs a mutant}"); shift 2 ;;
	--ko) KO_FILES+=("$(realpath "${2:?--ko needs a file}")"); KO_LABELS+=(""); KO_TESTS+=(""); shift 2 ;;
	--label)
		[ "${#KO_FILES[@]}" -gt 0 ] || die "--label names the --ko before it; give --ko FILE first"
		KO_LABELS[${#KO_FILES[@]} - 1]=${2:?--label needs a name}
		shift 2 ;;
	--kselftest)
		[ "${#KO_FILES[@]}" -gt 0 ] || die "--kselftest goes with the --ko before it; give --ko FILE first"
		KO_TESTS[${#KO_FILES[@]} - 1]=$(realpath "${2:?--kselftest needs a file}")
		shift 2 ;;
	--dir) MUTANTS_DIR=$(realpath "${2:?--dir needs a directory}"); OTHER_DIR=1; shift 2 ;;
	--build-only) BUILD_ONLY=1; shift ;;
	--print-dir) BUILD_ONLY=1; PRINT_DIR=1; shift ;;
	--table) TABLE_ONLY=1; shift ;;
	--write-doc) WRITE_DOC=1; shift ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
CACHE=${MMCID_CACHE}/mutants
RESULTS=${CACHE}/results
# The vCPU counts and seconds of the last run: --table's defaults, as
# results are keyed by both.
LAST_RUN=${RESULTS}/last-run
if [ "${TABLE_ONLY}" = 1 ] && [ -f "${LAST_RUN}" ]; then
	[ "${CPUS_GIVEN}" = 1 ] || CPUS_ARG=$(sed -n 's/^cpus=//p' "${LAST_RUN}")
	[ "${SECS_GIVEN}" = 1 ] || SECS=$(sed -n 's/^seconds=//p' "${LAST_RUN}")
	[ "${STOP}" = 1 ] || STOP=$(sed -n 's/^stop=//p' "${LAST_RUN}")
	STOP=${STOP:-0}
fi
IFS=, read -r -a CPUS <<<"${CPUS_ARG}"
commas=${CPUS_ARG//[^,]/}
[ "${#CPUS[@]}" = $((${#commas} + 1)) ] ||
	die "--cpus wants a comma-separated list of vCPU counts, not '${CPUS_ARG}'"
for c in "${CPUS[@]}"; do
	need_number --cpus "${c}" 1 "${MMCID_MAX_CPUS}"
done
# 100: the kselftest's limit.
need_number --seconds "${SECS}" 1 100
need_number --timeout "${TIMEOUT}" 1 86400
QUIET=${QUIET:-$((SECS + 50))}
# Boots that end at the module's first finding: results of their own.
STOP_ARG=
[ "${STOP}" = 0 ] || STOP_ARG=--stop-at-finding
need_number --quiet-limit "${QUIET}" 1 86400
[ "${QUIET}" -gt "${SECS}" ] ||
	die "--quiet-limit ${QUIET} would end every boot: the kselftest is silent for its ${SECS} s"

TREE=${MMCID_CACHE}/kernel/mutant-tree
HEAVY_LOCK=${MMCID_CACHE}/heavy.lock
GUEST_KO_DIR=.mutants/ko
DOC=${MMCID_TOP}/docs/mutants.md

# --- Helpers -----------------------------------------------------------

# with_heavy_lock CMD...: run CMD holding the machine-wide lock that keeps
# two kernel builds or VMs from sharing the 2 cores.  CMD runs without
# errexit (it is tested), so it checks its own errors.
HEAVY_FD=
with_heavy_lock() {
	local rc=0
	exec {HEAVY_FD}>>"${HEAVY_LOCK}"
	if ! flock -n "${HEAVY_FD}"; then
		log "waiting for ${HEAVY_LOCK} (another kernel build or VM holds it)"
		flock "${HEAVY_FD}"
	fi
	"$@" || rc=$?
	exec {HEAVY_FD}>&-
	HEAVY_FD=
	return "${rc}"
}

# rget FILE KEY: a value from a key=value file.
rget() {
	sed -n "s/^$2=//p" "$1" 2>/dev/null | head -1
}

# One line of at most N characters.
oneline() {
	tr '\n' ' ' | cut -c1-"$1"
}

mutant_dir() {
	echo "${CACHE}/${M_NAME[$1]}-${M_HASH[$1]}"
}

# result_file NAME HASH KO_HASH CPUS: where one boot's result is kept.
result_file() {
	mutant_results result "$@"
}

# valid_result FILE: the result still counts (mutant_results.py says when).
valid_result() {
	mutant_results valid "$1"
}

# --- The kernel trees ----------------------------------------------------

BASE=
KDIR=
if KDIR=$(kernel_dir v7.3); then
	# The identity of the v7.3 build: mutant kernels and results made
	# from another build are stale.
	BASE="${KDIR##*/}@$(stat -c %Y "${KDIR}/.mmcid-built")"
elif [ "${TABLE_ONLY}" = 0 ]; then
	die "no built v7.3 kernel in ${MMCID_CACHE}/kernel: run scripts/build-kernel.sh (or make run) first"
fi

# --- The mutants -------------------------------------------------------

# mutant_results ARGS...: scripts/mutant_results.py, which knows what a
# mutant is, which cached kernel and result count and how the tables
# read, with this run's settings.
mutant_results() {
	local a=(--cache "${CACHE}" --dir "${MUTANTS_DIR}" --base "${BASE}" --cpus "${CPUS_ARG}"
		--seconds "${SECS}" --stop "${STOP}" --control "${CONTROL_HASH}") k
	for k in "${!KO_HASH[@]}"; do
		a+=(--ko "${KO_HASH[k]}=${KO_LABEL[k]}")
	done
	python3 "${MMCID_TOP}/scripts/mutant_results.py" "${a[@]}" "$@"
}

# M_NAME, M_FILE, M_HASH, M_FUNC, M_NEEDS: every mutant of MUTANTS_DIR
# (its header read, refused if malformed); SEL: the indexes --only picks;
# TOUCHED: every file a mutant may leave applied.
KO_HASH=() KO_LABEL=()
CONTROL_HASH=
only_args=()
for o in "${ONLY[@]}"; do
	only_args+=(--only "${o}")
done
mutant_vars=$(mutant_results "${only_args[@]}" shell-vars) || exit 1
eval "${mutant_vars}"

# Copy the built v7.3 tree once; copy again when v7.3 was rebuilt.
scratch_tree() {
	if [ "$(cat "${TREE}/.mmcid-mutant-base" 2>/dev/null)" != "${BASE}" ]; then
		local t0=${SECONDS}
		log "mutants: copying ${KDIR} to ${TREE} (once per v7.3 build)"
		rm -rf "${TREE}" "${TREE}.tmp"
		cp -a "${KDIR}" "${TREE}.tmp" || { rm -rf "${TREE}.tmp"; die "copying ${KDIR} failed"; }
		echo "${BASE}" >"${TREE}.tmp/.mmcid-mutant-base"
		mv "${TREE}.tmp" "${TREE}"
		log "mutants: copied in $((SECONDS - t0)) s"
	fi
	scratch_restore
}

# Every file a mutant may touch must be as in v7.3: a run killed between
# applying and reversing a patch leaves one behind.  A restored file is
# newer than the objects built from the mutant, so make rebuilds them.
scratch_restore() {
	local t
	for t in "${TOUCHED[@]}"; do
		if [ -f "${KDIR}/${t}" ]; then
			if ! cmp -s "${KDIR}/${t}" "${TREE}/${t}"; then
				warn "${TREE}/${t} differs from v7.3 (a mutant left applied?): restoring it"
				cp "${KDIR}/${t}" "${TREE}/${t}" || die "could not restore ${TREE}/${t}"
			fi
		elif [ -e "${TREE}/${t}" ]; then
			warn "${TREE}/${t} is not in v7.3 (a mutant left applied?): removing it"
			rm -f "${TREE}/${t}"
		fi
	done
}

APPLIED=
# Reverse the applied mutant whatever happened; if patch -R cannot, copy
# the v7.3 files back.
scratch_unpatch() {
	[ -n "${APPLIED}" ] || return 0
	if ! patch -d "${TREE}" -R -p1 --quiet --no-backup-if-mismatch --reject-file=- <"${APPLIED}"; then
		warn "patch -R ${APPLIED##*/} failed; copying the v7.3 files back"
	fi
	APPLIED=
	scratch_restore
}

cleanup() {
	if [ -n "${KERNEL_MAKE_TICKER}" ]; then
		kill "${KERNEL_MAKE_TICKER}" 2>/dev/null || true
		wait "${KERNEL_MAKE_TICKER}" 2>/dev/null || true
	fi
	scratch_unpatch
}
trap cleanup EXIT
trap 'warn "interrupted"; exit 130' INT
trap 'warn "terminated"; exit 143' TERM

# build_locked INDEX: apply, make bzImage with progress, keep the bzImage,
# reverse.  Runs without errexit (under with_heavy_lock).
build_locked() {
	local i=$1 dir tmp blog t0=${SECONDS} rc=0 f=${M_FILE[$1]}
	dir=$(mutant_dir "${i}")
	tmp=${dir}.tmp
	rm -rf "${dir}" "${tmp}"
	mkdir -p "${tmp}/arch/x86/boot" || die "cannot create ${tmp}"
	blog=${tmp}/build.log
	echo "${BASE}" >"${tmp}/base"
	scratch_tree
	t0=${SECONDS}
	if ! apply_patch "${TREE}" "${f}" >"${blog}" 2>&1; then
		echo "does not apply" >"${tmp}/build-failed"
		echo 0 >"${tmp}/build-seconds"
		mv "${tmp}" "${dir}"
		return 0
	fi
	APPLIED=${f}
	kernel_make "${TREE}" "${blog}" bzImage || rc=$?
	if [ "${rc}" = 0 ]; then
		cp "${TREE}/arch/x86/boot/bzImage" "${tmp}/arch/x86/boot/bzImage" ||
			die "copying the bzImage to ${tmp} failed"
	else
		{
			printf 'make bzImage exited %s' "${rc}"
			grep -m1 -E '(error|Error):' "${blog}" | sed 's/^/: /' || true
		} | oneline 300 >"${tmp}/build-failed"
	fi
	scratch_unpatch
	echo "$((SECONDS - t0))" >"${tmp}/build-seconds"
	mv "${tmp}" "${dir}"
}

# built INDEX: "ok", "build failed" or "does not apply" for a kernel
# built from the current v7.3 build, else nothing.
built() {
	mutant_results built "${M_NAME[$1]}"
}

# build INDEX: the mutant's kernel, unless cached.  Sets BUILD_NOTE.
build() {
	local i=$1 dir
	dir=$(mutant_dir "${i}")
	if [ -n "$(built "${i}")" ]; then
		BUILD_NOTE="build cached ($(cat "${dir}/build-seconds" 2>/dev/null || echo '?') s)"
	else
		step "mutants: ${M_NAME[i]}: make bzImage (log: ${dir}/build.log)" \
			with_heavy_lock build_locked "${i}"
		BUILD_NOTE="build $(cat "${dir}/build-seconds") s"
	fi
	if [ "$(built "${i}")" != ok ]; then
		BUILD_NOTE+=", $(built "${i}"): $(cat "${dir}/build-failed") (log: ${dir}/build.log)"
		return 1
	fi
}

# --- Classifying a boot ----------------------------------------------------

# insmod's and the module loader's words for a module built for another kernel.
ABI_FAIL_RE='Invalid module format|version magic|Unknown symbol|disagrees about version|Exec format error'

# classify LOG OUT: key=value lines for the boot whose console log is LOG
# and whose run-vng.sh output is OUT (scripts/classify_boot.py, which says
# what each status means; its tests: classify_boot_tests.py).
classify() {
	python3 "${MMCID_TOP}/scripts/classify_boot.py" "$1" "$2" --timeout "${TIMEOUT}" --quiet "${QUIET}"
}

# --- Booting ------------------------------------------------------------

# boot_locked KERNEL_DIR CPUS KO_INDEX LOG OUT: one boot, timed.
boot_locked() {
	local t0=${SECONDS} rc=0
	BOOT_RC=0
	"${MMCID_TOP}/scripts/run-vng.sh" --kernel "$1" --cpus "$2" --timeout "${TIMEOUT}" \
		--quiet-limit "${QUIET}" --log "$4" -- \
		./scripts/guest-mutant.sh --ko "${KO_GUEST[$3]}" --kselftest "${KO_TEST_GUEST[$3]}" \
		--seconds "${SECS}" ${STOP_ARG} >"$5" 2>&1 || rc=$?
	BOOT_SECONDS=$((SECONDS - t0))
	BOOT_RC=${rc}
}

# run_one NAME HASH KERNEL_DIR KO_INDEX CPUS: boot unless cached, write
# the result file, set RUN_NOTE.
run_one() {
	local name=$1 hash=$2 kdir=$3 k=$4 cpus=$5 res stamp logf outf
	res=$(result_file "${name}" "${hash}" "${KO_HASH[k]}" "${cpus}")
	if valid_result "${res}"; then
		RUN_NOTE="$(rget "${res}" status) (cached, $(rget "${res}" boot_seconds) s)"
		return 0
	fi
	mkdir -p "${RESULTS}" "${MMCID_CACHE}/logs"
	stamp=$(date +%Y%m%d-%H%M%S)
	logf=${MMCID_CACHE}/logs/mutant-${name}-ko${KO_HASH[k]}-${cpus}cpus-${stamp}.log
	outf=${logf%.log}.out
	BOOT_SECONDS=0
	step "mutants: ${name}: ${cpus} vCPUs, module ${KO_LABEL[k]} (log: ${logf})" \
		with_heavy_lock boot_locked "${kdir}" "${cpus}" "${k}" "${logf}" "${outf}"
	[ -f "${logf}" ] || { tail -20 "${outf}" >&2; die "run-vng.sh wrote no console log; its output: ${outf}"; }
	{
		echo "mutant=${name}"
		echo "patch=${hash}"
		echo "ko=${KO_HASH[k]}"
		echo "label=${KO_LABEL[k]}"
		echo "kselftest=${KO_TEST_HASH[k]}"
		echo "cpus=${cpus}"
		echo "seconds=${SECS}"
		echo "base=${BASE}"
		echo "boot_seconds=${BOOT_SECONDS}"
		echo "run_vng_rc=${BOOT_RC}"
		echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
		echo "log=${logf}"
		classify "${logf}" "${outf}"
	} >"${res}.tmp"
	mv "${res}.tmp" "${res}"
	RUN_NOTE="$(rget "${res}" status) (${BOOT_SECONDS} s)"
	[ "$(rget "${res}" status)" != "no result" ] || RUN_NOTE+=": $(rget "${res}" evidence); see ${logf}"
}

# --- The modules --------------------------------------------------------

KO_GUEST=() KO_TEST_GUEST=() KO_TEST_HASH=()
LAST_KOS=${RESULTS}/last-kos

# Copy each module and its kselftest into the repo (the guest sees only
# the repo), named by hash so that a rebuild during the run changes
# nothing.
prepare_modules() {
	local i f h t th repo_test=${MMCID_TOP}/selftests/mmcid_rs/mmcid_rs_test
	if [ "${#KO_FILES[@]}" = 0 ]; then
		step "mutants: module (make module against ${KDIR##*/})" \
			make -s -C "${MMCID_TOP}" KDIR="${KDIR}" module >&2
		KO_FILES=("${MMCID_TOP}/mmcid-rs.ko")
		KO_LABELS=(current)
		KO_TESTS=("${repo_test}")
	fi
	step "mutants: test programs" make -s -C "${MMCID_TOP}/selftests/mmcid_rs" \
		KSFT_DIR="${KDIR}/tools/testing/selftests" >&2
	mkdir -p "${MMCID_TOP}/${GUEST_KO_DIR}"
	for i in "${!KO_FILES[@]}"; do
		f=${KO_FILES[i]}
		[ -f "${f}" ] || die "--ko ${f}: no such file"
		h=$(sha256sum "${f}" | cut -c1-12)
		KO_HASH+=("${h}")
		KO_LABEL+=("${KO_LABELS[i]:-$(basename "${f}" .ko)}")
		cp "${f}" "${MMCID_TOP}/${GUEST_KO_DIR}/${h}.ko"
		KO_GUEST+=("./${GUEST_KO_DIR}/${h}.ko")
		t=${KO_TESTS[i]:-}
		if [ -z "${t}" ]; then
			t=$(dirname "$(realpath "${f}")")/selftests/mmcid_rs/mmcid_rs_test
			[ -x "${t}" ] || t=${repo_test}
		fi
		[ -x "${t}" ] || die "--kselftest ${t}: not an executable"
		th=$(sha256sum "${t}" | cut -c1-12)
		KO_TEST_HASH+=("${th}")
		mkdir -p "${MMCID_TOP}/${GUEST_KO_DIR}/${th}"
		cp "${t}" "${MMCID_TOP}/${GUEST_KO_DIR}/${th}/mmcid_rs_test"
		KO_TEST_GUEST+=("./${GUEST_KO_DIR}/${th}/mmcid_rs_test")
		log "mutants: module ${KO_LABEL[i]}: ${f} (sha256 ${h}), kselftest ${t} (sha256 ${th})"
	done
	mkdir -p "${RESULTS}"
	for i in "${!KO_HASH[@]}"; do
		echo "${KO_HASH[i]} ${KO_LABEL[i]}"
	done >"${LAST_KOS}"
	# A run of a few (--only) redoes part of the last one: the doc's
	# command names both.
	local cmd=${CMDLINE}
	if [ "${#ONLY[@]}" != 0 ] && [ -f "${LAST_RUN}" ]; then
		cmd="$(sed -n 's/^command=//p' "${LAST_RUN}")\`, then \`${CMDLINE}"
	fi
	printf 'cpus=%s\nseconds=%s\nstop=%s\ncommand=%s\n' "${CPUS_ARG}" "${SECS}" "${STOP}" "${cmd}" >"${LAST_RUN}"
}

# For --table: the modules of the last run, or the --ko files given.
table_modules() {
	local i f h l
	if [ "${#KO_FILES[@]}" -gt 0 ]; then
		for i in "${!KO_FILES[@]}"; do
			f=${KO_FILES[i]}
			[ -f "${f}" ] || die "--ko ${f}: no such file"
			KO_HASH+=("$(sha256sum "${f}" | cut -c1-12)")
			KO_LABEL+=("${KO_LABELS[i]:-$(basename "${f}" .ko)}")
		done
	elif [ -f "${LAST_KOS}" ]; then
		while read -r h l; do
			KO_HASH+=("${h}")
			KO_LABEL+=("${l}")
		done <"${LAST_KOS}"
	else
		die "no results yet (${LAST_KOS} missing): run $0 first"
	fi
}

# --- The table -------------------------------------------------------------

# table [--write-doc]: the table of the selected mutants from the cached
# results, and with --write-doc also docs/mutants.md
# (scripts/mutant_results.py renders both).
table() {
	local cmd=${CMDLINE} doc=()
	if [ "${TABLE_ONLY}" = 1 ] && [ -f "${LAST_RUN}" ]; then
		cmd="$(sed -n 's/^command=//p' "${LAST_RUN}")\`, then \`${CMDLINE}"
	fi
	[ "${1:-}" != --write-doc ] || doc=(--write-doc "${DOC}" --command "${cmd}")
	mutant_results "${only_args[@]}" table "${doc[@]}" --kernel "${KDIR##*/}" \
		--timeout "${TIMEOUT}" --quiet "${QUIET}"
	[ "${#doc[@]}" = 0 ] || log "mutants: wrote ${DOC}"
}

# --- Main ------------------------------------------------------------------

if [ "${TABLE_ONLY}" = 1 ]; then
	table_modules
	[ -z "${KDIR}" ] || CONTROL_HASH=$(sha256sum "${KDIR}/arch/x86/boot/bzImage" | cut -c1-12)
	if [ "${WRITE_DOC}" = 1 ]; then
		[ "${#ONLY[@]}" = 0 ] && [ "${OTHER_DIR}" = 0 ] ||
			die "--write-doc wants every mutant of patches/mutants (no --only, no --dir)"
		table --write-doc
	else
		table
	fi
	exit 0
fi

T0=${SECONDS}
mkdir -p "${CACHE}" "${RESULTS}"
if [ "${BUILD_ONLY}" = 0 ]; then
	command -v vng >/dev/null || die "vng not found: run scripts/setup-deps.sh"
	prepare_modules

	# The control: 7.3 as shipped must come out clean with every module,
	# or no mutant's result means anything.
	CONTROL_HASH=$(sha256sum "${KDIR}/arch/x86/boot/bzImage" | cut -c1-12)
	note="v7.3 (control):"
	for k in "${!KO_HASH[@]}"; do
		for c in "${CPUS[@]}"; do
			res=$(result_file control "${CONTROL_HASH}" "${KO_HASH[k]}" "${c}")
			[ "$(rget "${res}" status 2>/dev/null)" = survived ] || rm -f "${res}"
			run_one control "${CONTROL_HASH}" "${KDIR}" "${k}" "${c}"
			note+=" ${c} cpus${KO_LABEL[k]:+ (${KO_LABEL[k]})}: ${RUN_NOTE};"
			if [ "$(rget "${res}" status)" != survived ] ||
			   [ "$(rget "${res}" mismatches)" != 0 ] || [ "$(rget "${res}" fork_exit_mismatches)" != 0 ]; then
				echo "${note%;}"
				die "the check is not clean on 7.3 as shipped (module ${KO_LABEL[k]}, ${c} vCPUs):" \
				    "$(rget "${res}" status): $(rget "${res}" evidence); log: $(rget "${res}" log)"
			fi
		done
	done
	echo "${note%;}"
fi

INSMOD_VERIFIED=0
n=0
for i in "${SEL[@]}"; do
	n=$((n + 1))
	note="[${n}/${#SEL[@]}] ${M_NAME[i]} (${M_FUNC[i]}):"
	BUILD_NOTE=
	if ! build "${i}"; then
		echo "${note} ${BUILD_NOTE}"
		[ "${PRINT_DIR}" = 0 ] || die "${M_NAME[i]} did not build"
		continue
	fi
	note+=" ${BUILD_NOTE}"
	if [ "${PRINT_DIR}" = 1 ]; then
		echo "${note}" >&2
		mutant_dir "${i}"
		continue
	fi
	if [ "${BUILD_ONLY}" = 1 ]; then
		echo "${note}"
		continue
	fi
	for c in "${CPUS[@]}"; do
		if [ "${c}" -lt "${M_NEEDS[i]}" ]; then
			note+="; ${c} cpus: skipped (needs ${M_NEEDS[i]})"
			continue
		fi
		note+="; ${c} cpus:"
		for k in "${!KO_HASH[@]}"; do
			run_one "${M_NAME[i]}" "${M_HASH[i]}" "$(mutant_dir "${i}")" "${k}" "${c}"
			[ "${#KO_HASH[@]}" = 1 ] || note+=" ${KO_LABEL[k]}"
			note+=" ${RUN_NOTE}"
			res=$(result_file "${M_NAME[i]}" "${M_HASH[i]}" "${KO_HASH[k]}" "${c}")
			# The module is built once, against the v7.3 tree, and
			# loaded on every mutant: they change only private
			# kernel/sched code, not the vermagic nor any symbol it
			# links to.  The first mutant boot shows it; a load
			# refused for its format or symbols anywhere stops all.
			if [ "$(rget "${res}" status)" = "module did not load" ]; then
				if grep -Eq "${ABI_FAIL_RE}" <<<"$(rget "${res}" evidence)"; then
					die "the module built against v7.3 does not load on mutant ${M_NAME[i]}" \
					    "($(rget "${res}" evidence)): it would have to be built per mutant." \
					    "Log: $(rget "${res}" log)"
				fi
				warn "the module did not load on ${M_NAME[i]}: $(rget "${res}" evidence)"
			elif [ "${INSMOD_VERIFIED}" = 0 ] && [ "$(rget "${res}" insmod_rc)" = 0 ]; then
				INSMOD_VERIFIED=1
				log "mutants: the module built against v7.3 loads on mutant ${M_NAME[i]}, as assumed"
			fi
		done
	done
	echo "${note}"
done

if [ "${BUILD_ONLY}" = 1 ]; then
	log "mutants: built in $((SECONDS - T0)) s"
	exit 0
fi
log "mutants: this run took $((SECONDS - T0)) s"
if [ "${#ONLY[@]}" = 0 ] && [ "${OTHER_DIR}" = 0 ]; then
	table --write-doc
else
	table
	log "mutants: not every mutant of patches/mutants ran, so ${DOC#"${MMCID_TOP}/"} is left as it is"
fi
