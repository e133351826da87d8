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
# Boots that end at the module's first finding: their own results.
STOP_KEY= STOP_ARG= STOP_NOTE=
if [ "${STOP}" = 1 ]; then
	STOP_KEY=-stop STOP_ARG=--stop-at-finding
	STOP_NOTE=", ended at the module's first finding (--stop-at-finding)"
fi
need_number --quiet-limit "${QUIET}" 1 86400
[ "${QUIET}" -gt "${SECS}" ] ||
	die "--quiet-limit ${QUIET} would end every boot: the kselftest is silent for its ${SECS} s"

TREE=${MMCID_CACHE}/kernel/mutant-tree
HEAVY_LOCK=${MMCID_CACHE}/heavy.lock
GUEST_KO_DIR=.mutants/ko
DOC=${MMCID_TOP}/docs/mutants.md
# Statuses that kill a mutant, and those of them that the module names.
KILLING='module mismatch|fixup violation|live lock named|kselftest ABI assertion|hang|splat|kselftest failed'
BY_MODULE='module mismatch|fixup violation|live lock named'

# --- The mutants -------------------------------------------------------

M_NAME=() M_FILE=() M_HASH=() M_FUNC=() M_WHAT=() M_NEEDS=() M_EQUIV=()
TOUCHED=(kernel/sched/core.c kernel/sched/sched.h include/linux/rseq_types.h)

# read_mutant FILE: its header ("# function: what it breaks", optionally
# "# needs: N cpus" and "# equivalent: why") and the files it patches.
read_mutant() {
	local f=$1 line func='' what='' needs=0 equiv='' t
	while IFS= read -r line; do
		case "${line}" in
		"# needs: "*)
			needs=${line#"# needs: "}
			needs=${needs%% *} ;;
		"# equivalent: "*) equiv=${line#"# equivalent: "} ;;
		"#"*)
			if [ -z "${func}" ]; then
				line=${line#"#"}
				line=${line# }
				func=${line%%:*}
				what=${line#*:}
				what=${what# }
			fi ;;
		*) break ;;
		esac
	done <"${f}"
	if [ -z "${func}" ] || [ "${func}" = "${what}" ]; then
		die "${f}: no header; the first line must be '# <C function>: <what it breaks>'"
	fi
	[[ "${needs}" =~ ^[0-9]+$ ]] || die "${f}: bad '# needs:' line; want '# needs: 8 cpus'"
	grep -q '^+++ ' "${f}" || die "${f}: no unified diff after the header"
	M_NAME+=("$(basename "${f}" .patch)")
	M_FILE+=("${f}")
	M_HASH+=("$(sha256sum "${f}" | cut -c1-12)")
	M_FUNC+=("${func}")
	M_WHAT+=("${what}")
	M_NEEDS+=("${needs}")
	M_EQUIV+=("${equiv}")
	while read -r t; do
		t=${t#*/}
		[[ " ${TOUCHED[*]} " == *" ${t} "* ]] || TOUCHED+=("${t}")
	done < <(sed -n 's/^+++ \([^\t ]*\).*/\1/p' "${f}")
}

shopt -s nullglob
for f in "${MUTANTS_DIR}"/[0-9]*.patch; do
	read_mutant "${f}"
done
shopt -u nullglob
[ "${#M_NAME[@]}" -gt 0 ] || die "no mutants in ${MUTANTS_DIR} (want NN-name.patch files)"

# The selected mutants, by index; --only takes a stem or its number.
SEL=()
for i in "${!M_NAME[@]}"; do
	if [ "${#ONLY[@]}" = 0 ]; then
		SEL+=("${i}")
		continue
	fi
	for o in "${ONLY[@]}"; do
		if [ "${o}" = "${M_NAME[i]}" ] || [ "${o}" = "${M_NAME[i]%%-*}" ]; then
			SEL+=("${i}")
			break
		fi
	done
done
for o in "${ONLY[@]}"; do
	found=0
	for i in "${SEL[@]}"; do
		if [ "${o}" = "${M_NAME[i]}" ] || [ "${o}" = "${M_NAME[i]%%-*}" ]; then
			found=1
		fi
	done
	[ "${found}" = 1 ] || die "--only ${o}: no such mutant in ${MUTANTS_DIR}"
done

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

# result_file NAME HASH KO_HASH CPUS
result_file() {
	echo "${RESULTS}/$1-$2-ko$3-$4cpus-${SECS}s${STOP_KEY}"
}

# A result counts when it was made on the current v7.3 build and ended
# with something to say; "no result" (the guest died early, for no reason
# the console shows) is tried again.
valid_result() {
	[ -f "$1" ] || return 1
	[ "$(rget "$1" status)" != "no result" ] || return 1
	[ -z "${BASE}" ] || [ "$(rget "$1" base)" = "${BASE}" ]
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
TICKER=
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
	if [ -n "${TICKER}" ]; then
		kill "${TICKER}" 2>/dev/null || true
		wait "${TICKER}" 2>/dev/null || true
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
	if ! patch -d "${TREE}" -p1 --dry-run --quiet <"${f}" >"${blog}" 2>&1; then
		echo "does not apply" >"${tmp}/build-failed"
		echo 0 >"${tmp}/build-seconds"
		mv "${tmp}" "${dir}"
		return 0
	fi
	APPLIED=${f}
	patch -d "${TREE}" -p1 --quiet --no-backup-if-mismatch <"${f}" >>"${blog}" 2>&1 ||
		die "${f} applied with --dry-run but not for real; see ${blog}"
	(
		# The lock stays with this script, not with a stray sleep.
		exec {HEAVY_FD}>&-
		while sleep 20; do
			log "  ... $((SECONDS - t0)) s, $(grep -c '^  [A-Z]' "${blog}" || true) build steps, last: $(grep '^  [A-Z]' "${blog}" | tail -1 | awk '{print $2}')"
		done
	) &
	TICKER=$!
	make -C "${TREE}" -j"$(nproc)" bzImage >>"${blog}" 2>&1 || rc=$?
	kill "${TICKER}" 2>/dev/null || true
	wait "${TICKER}" 2>/dev/null || true
	TICKER=
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
	local dir
	dir=$(mutant_dir "$1")
	if [ -n "${BASE}" ] && [ "$(cat "${dir}/base" 2>/dev/null)" != "${BASE}" ]; then
		return 0
	fi
	if [ -f "${dir}/build-failed" ]; then
		[ "$(cat "${dir}/build-failed")" = "does not apply" ] && echo "does not apply" || echo "build failed"
	elif [ -f "${dir}/arch/x86/boot/bzImage" ]; then
		echo ok
	fi
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

KO_HASH=() KO_LABEL=() KO_GUEST=() KO_TEST_GUEST=() KO_TEST_HASH=()
CONTROL_HASH=
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

# cell INDEX KO_INDEX CPUS: what killed mutant INDEX there, if anything.
cell() {
	local i=$1 k=$2 cpus=$3 res b
	b=$(built "${i}")
	if [ -n "${b}" ] && [ "${b}" != ok ]; then
		echo "${b}"
		return
	fi
	if [ "${cpus}" -lt "${M_NEEDS[i]}" ]; then
		echo "needs ${M_NEEDS[i]} cpus"
		return
	fi
	res=$(result_file "${M_NAME[i]}" "${M_HASH[i]}" "${KO_HASH[k]}" "${cpus}")
	if [ -f "${res}" ] && { [ -z "${BASE}" ] || [ "$(rget "${res}" base)" = "${BASE}" ]; }; then
		rget "${res}" status
	else
		echo "not run"
	fi
}

# Column headers: one per module and vCPU count.
col_name() {
	if [ "${#KO_HASH[@]}" = 1 ]; then
		echo "$2 cpus"
	else
		echo "${KO_LABEL[$1]}, $2 cpus"
	fi
}

# ratio K N: "K/N (P%)".
ratio() {
	if [ "$2" -gt 0 ]; then
		echo "$1/$2 ($((100 * $1 / $2))%)"
	else
		echo "$1/$2"
	fi
}

# The field separator of ROWS: cells may hold anything else.  Every row
# has all its fields (read -a drops a trailing empty one: the printers
# index by column).
FS=$'\x1f'

# Build the table's rows and its summary into ROWS and SUMMARY; both
# printers use them.
collect() {
	local i k c st dir res row secs first evid total=0 killed mod nrun n
	local -A nonequiv=() kil=() bymod=()
	ROWS=()
	SUMMARY=()
	local equiv=0 equiv_killed=0 failed=0 notrun=0
	for i in "${SEL[@]}"; do
		dir=$(mutant_dir "${i}")
		secs=$(cat "${dir}/build-seconds" 2>/dev/null || echo 0)
		first=
		evid=
		row="${M_NAME[i]}${FS}${M_FUNC[i]}"
		[ -n "${M_EQUIV[i]}" ] && row+=" (equivalent)"
		case "$(built "${i}")" in "build failed"|"does not apply") failed=$((failed + 1)) ;; esac
		nrun=0
		for k in "${!KO_HASH[@]}"; do
			killed=0
			mod=0
			n=0
			for c in "${CPUS[@]}"; do
				st=$(cell "${i}" "${k}" "${c}")
				row+="${FS}${st}"
				res=$(result_file "${M_NAME[i]}" "${M_HASH[i]}" "${KO_HASH[k]}" "${c}")
				if [[ "${st}" =~ ^(${KILLING}|survived)$ ]]; then
					n=1
					secs=$((secs + $(rget "${res}" boot_seconds)))
					[ -n "${first}" ] || first=$(rget "${res}" first_mismatch)
					[ -n "${evid}" ] || evid=$(rget "${res}" evidence)
				fi
				[[ "${st}" =~ ^(${KILLING})$ ]] && killed=1
				[[ "${st}" =~ ^(${BY_MODULE})$ ]] && mod=1
			done
			nrun=$((nrun + n))
			if [ -n "${M_EQUIV[i]}" ]; then
				[ "${killed}" = 0 ] || equiv_killed=$((equiv_killed + 1))
			elif [ "${n}" = 1 ]; then
				nonequiv[${k}]=$((${nonequiv[${k}]:-0} + 1))
				[ "${killed}" = 0 ] || kil[${k}]=$((${kil[${k}]:-0} + 1))
				[ "${mod}" = 0 ] || bymod[${k}]=$((${bymod[${k}]:-0} + 1))
			fi
		done
		[ -n "${M_EQUIV[i]}" ] && equiv=$((equiv + 1))
		[ "${nrun}" = 0 ] && [ ! -f "${dir}/build-failed" ] && notrun=$((notrun + 1))
		total=$((total + secs))
		row+="${FS}${secs} s${FS}${first:-${evid}}"
		ROWS+=("${row}")
	done
	for k in "${!KO_HASH[@]}"; do
		local ne=${nonequiv[${k}]:-0} kk=${kil[${k}]:-0} bm=${bymod[${k}]:-0}
		SUMMARY+=("kill rate (module ${KO_LABEL[k]}): $(ratio "${kk}" "${ne}") non-equivalent mutants killed, $(ratio "${bm}" "${ne}") by the module itself (mismatch, violation or live lock named)")
	done
	SUMMARY+=("equivalent (argued in their patch, not counted): ${equiv}, killed anyway: ${equiv_killed}; build failed or does not apply (not counted): ${failed}; not run yet: ${notrun}")
	local ctl=0
	if [ -n "${CONTROL_HASH}" ]; then
		for k in "${!KO_HASH[@]}"; do
			for c in "${CPUS[@]}"; do
				res=$(result_file control "${CONTROL_HASH}" "${KO_HASH[k]}" "${c}")
				! valid_result "${res}" || ctl=$((ctl + $(rget "${res}" boot_seconds)))
			done
		done
	fi
	SUMMARY+=("time: ${total} s for these mutants and ${ctl} s for the control, $((total + ctl)) s in all (builds and boots, as recorded when each ran)")
}

# The upstream rseq series alone on each mutant (scripts/upstream-rseq.sh
# --mutants), beside whether the module itself killed it in any column:
# UP_ROWS, a Markdown row each, and UP_SUMMARY; both empty without results.
UP_ROWS=()
UP_SUMMARY=()
collect_upstream() {
	local i k c res up ev mod upk n=0 any=0
	local -A by=([11]=0 [10]=0 [01]=0 [00]=0)
	UP_ROWS=()
	UP_SUMMARY=()
	for i in "${SEL[@]}"; do
		res=$(upstream_result "${M_NAME[i]}-${M_HASH[i]}")
		up="not run"
		ev=
		if [ -f "${res}" ]; then
			up=$(rget "${res}" status)
			ev=$(rget "${res}" evidence | oneline 120)
			ev=${ev%% }
			any=1
		fi
		mod=0
		for k in "${!KO_HASH[@]}"; do
			for c in "${CPUS[@]}"; do
				[[ "$(cell "${i}" "${k}" "${c}")" =~ ^(${BY_MODULE})$ ]] && mod=1
			done
		done
		UP_ROWS+=("| ${M_NAME[i]} | ${up} | $([ "${mod}" = 1 ] && echo yes || echo no) | ${ev:+\`${ev//|/\\|}\`} |")
		[ -z "${M_EQUIV[i]}" ] && [[ "${up}" =~ ^(rseq\ selftest\ failed|hang|splat|survived)$ ]] || continue
		n=$((n + 1))
		upk=1
		[ "${up}" != survived ] || upk=0
		by[${mod}${upk}]=$((by[${mod}${upk}] + 1))
	done
	[ "${any}" = 1 ] || return 0
	UP_SUMMARY=("kill rate (the upstream rseq selftest alone, no module): $(ratio $((by[11] + by[01])) "${n}") of the non-equivalent mutants it ran on; the module itself: $(ratio $((by[11] + by[10])) "${n}"); both: ${by[11]}, only the module: ${by[10]}, only the selftest: ${by[01]}, neither: ${by[00]}")
}

print_table() {
	local h=("mutant" "function") k c r w=() i cols line
	for k in "${!KO_HASH[@]}"; do
		for c in "${CPUS[@]}"; do
			h+=("$(col_name "${k}" "${c}")")
		done
	done
	h+=("time" "first mismatch (or evidence)")
	cols=${#h[@]}
	for ((i = 0; i < cols - 1; i++)); do
		w[i]=${#h[i]}
	done
	for r in "${ROWS[@]}"; do
		IFS=${FS} read -r -a line <<<"${r}"
		for ((i = 0; i < cols - 1; i++)); do
			[ "${#line[i]}" -le "${w[i]}" ] || w[i]=${#line[i]}
		done
	done
	for r in "$(IFS=${FS}; echo "${h[*]}")" "${ROWS[@]}"; do
		IFS=${FS} read -r -a line <<<"${r}"
		for ((i = 0; i < cols - 1; i++)); do
			printf '%-*s  ' "${w[i]}" "${line[i]}"
		done
		printf '%s\n' "$(printf '%s' "${line[cols - 1]:-}" | oneline 100)"
	done
	printf '%s\n' "${SUMMARY[@]}"
	[ "${#UP_SUMMARY[@]}" = 0 ] || printf '%s\n' "${UP_SUMMARY[@]}"
}

# doc_detail NAME RESULT: a row of the per-boot table in DETAILS; "-"
# where the guest did not get as far as saying it.
doc_detail() {
	local f=$2 row="| $1" k
	dv() {
		local v
		v=$(rget "${f}" "$1")
		echo "${v:--}"
	}
	for k in label cpus status; do
		row+=" | $(dv "${k}")"
	done
	row+=" | $(dv mismatches) / $(dv fork_exit_mismatches)"
	for k in violations live_locks not_decided; do
		row+=" | $(dv "${k}")"
	done
	row+=" | $(dv agreed) / $(dv agreed_fork_exit)"
	row+=" | $(dv kselftest_rc) | $(dv boot_seconds) s |"
	DETAILS+=("${row}")
	ACCELS+=("$(rget "${f}" accel)")
}

write_doc() {
	local k c r line i res accel_list ev cols
	DETAILS=()
	ACCELS=()
	mkdir -p "${DOC%/*}"
	for k in "${!KO_HASH[@]}"; do
		for c in "${CPUS[@]}"; do
			res=$(result_file control "${CONTROL_HASH}" "${KO_HASH[k]}" "${c}")
			! valid_result "${res}" || doc_detail "v7.3 (control)" "${res}"
		done
	done
	for i in "${SEL[@]}"; do
		for k in "${!KO_HASH[@]}"; do
			for c in "${CPUS[@]}"; do
				res=$(result_file "${M_NAME[i]}" "${M_HASH[i]}" "${KO_HASH[k]}" "${c}")
				! valid_result "${res}" || doc_detail "${M_NAME[i]}" "${res}"
			done
		done
	done
	accel_list=$(printf '%s\n' "${ACCELS[@]}" | sort -u | paste -sd, -)
	{
		echo "# Mutants of the 7.3 mm_cid code, and what noticed them"
		echo
		echo "Written by \`scripts/mutants.sh\`; do not edit by hand, run it again."
		echo
		if [ "${TABLE_ONLY}" = 1 ] && [ -f "${LAST_RUN}" ]; then
			echo "- command: \`$(sed -n 's/^command=//p' "${LAST_RUN}")\`, then \`${CMDLINE}\`"
		else
			echo "- command: \`${CMDLINE}\`"
		fi
		echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
		echo "- commit: $(commit_id)"
		echo "- machine: $(nproc) cores, $(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), guests under ${accel_list:-?}"
		echo "- kernel: ${KDIR##*/} with each patch of \`patches/mutants/\` applied"
		for k in "${!KO_HASH[@]}"; do
			echo "- module ${KO_LABEL[k]}: sha256 ${KO_HASH[k]}, loaded with \`variant=v7.3\`"
		done
		echo "- per boot: the kselftest for ${SECS} s${STOP_NOTE}; limits ${TIMEOUT} s, console silent ${QUIET} s"
		echo
		echo "Each boot is classified by the first that applies: module mismatch, fixup"
		echo "violation, live lock named (these three are the module's), kselftest ABI"
		echo "assertion (a duplicate or out-of-range CID seen from rseq), hang, splat,"
		echo "kselftest failed, survived.  The control, 7.3 as shipped, came out survived"
		echo "with no mismatch."
		echo
		printf '|'
		printf ' %s |' mutant function
		for k in "${!KO_HASH[@]}"; do
			for c in "${CPUS[@]}"; do
				printf ' %s |' "$(col_name "${k}" "${c}")"
			done
		done
		printf ' %s | %s |\n' time "first mismatch (or evidence)"
		printf '|'
		for ((i = 0; i < 4 + ${#KO_HASH[@]} * ${#CPUS[@]}; i++)); do
			printf -- '---|'
		done
		echo
		cols=$((4 + ${#KO_HASH[@]} * ${#CPUS[@]}))
		for r in "${ROWS[@]}"; do
			IFS=${FS} read -r -a line <<<"${r}"
			printf '|'
			for ((i = 0; i < cols - 1; i++)); do
				printf ' %s |' "${line[i]}"
			done
			ev=$(printf '%s' "${line[cols - 1]:-}" | oneline 160)
			if [ -n "${ev}" ]; then
				printf ' %s |\n' "\`${ev//|/\\|}\`"
			else
				printf '  |\n'
			fi
		done
		echo
		printf '%s\n\n' "${SUMMARY[@]}"
		echo "What each mutant breaks, as its patch says:"
		echo
		for i in "${SEL[@]}"; do
			echo "- \`${M_NAME[i]}\` (\`${M_FUNC[i]}\`): ${M_WHAT[i]}"
			[ -z "${M_EQUIV[i]}" ] || echo "  Equivalent: ${M_EQUIV[i]}"
		done
		echo
		if [ "${#UP_SUMMARY[@]}" -gt 0 ]; then
			echo "## The upstream rseq selftest alone"
			echo
			echo "\`scripts/upstream-rseq.sh --mutants\`: each mutant's kernel booted with"
			echo "\`mm_cid_transition_test\` of \`patches/upstream-rseq/\` and no module (4 of 8"
			echo "possible vCPUs), killed when it hangs, splats, or prints an assertion or a"
			echo "case verdict that 7.3 itself does not; the module column says whether the"
			echo "module's mismatch, violation or live lock named it above."
			echo
			printf '%s\n\n' "${UP_SUMMARY[@]}"
			echo "| mutant | rseq selftest alone | module | evidence |"
			echo "|---|---|---|---|"
			printf '%s\n' "${UP_ROWS[@]}"
			echo
		fi
		echo "Every boot: mismatches (switches / forks and exits), invariant violations, live"
		echo "locks named, not decided, agreed (switches / forks and exits), the"
		echo "kselftest's exit status and the boot's wall time."
		echo
		echo "| mutant | module | cpus | status | mismatches | violations | live locks | not decided | agreed | kselftest | boot |"
		echo "|---|---|---|---|---|---|---|---|---|---|---|"
		printf '%s\n' "${DETAILS[@]}"
	} >"${DOC}.tmp"
	mv "${DOC}.tmp" "${DOC}"
	log "mutants: wrote ${DOC}"
}

# --- Main ------------------------------------------------------------------

if [ "${TABLE_ONLY}" = 1 ]; then
	table_modules
	[ -z "${KDIR}" ] || CONTROL_HASH=$(sha256sum "${KDIR}/arch/x86/boot/bzImage" | cut -c1-12)
	collect
	collect_upstream
	print_table
	if [ "${WRITE_DOC}" = 1 ]; then
		[ "${#ONLY[@]}" = 0 ] && [ "${OTHER_DIR}" = 0 ] ||
			die "--write-doc wants every mutant of patches/mutants (no --only, no --dir)"
		write_doc
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
collect
collect_upstream
print_table
log "mutants: this run took $((SECONDS - T0)) s"
if [ "${#ONLY[@]}" = 0 ] && [ "${OTHER_DIR}" = 0 ]; then
	write_doc
else
	log "mutants: not every mutant of patches/mutants ran, so ${DOC#"${MMCID_TOP}/"} is left as it is"
fi
