#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The module on a debug kernel ('make test-debug', docs/debug.md): the
# flavour's tree, the module built against it, a known-bad input the splat
# check must fail on, then the module's check, the kselftest, the 7.3 boot
# of the reproduction and 100 loads and unloads with the watchdog on and
# off, each failing on any report of lockdep, KFENCE, UBSAN, debugobjects,
# kmemleak or (--flavour kcsan) a data race of the module's.  Ends with
# "N passed, N failed".
set -uo pipefail
. "$(dirname "$0")/lib.sh"

FLAVOUR=debug
RECORD=0
CYCLES=100
ONLY=()

usage() {
	cat <<EOF
Usage: $0 [--flavour debug|kcsan] [--cycles N] [--only T]... [--record]

  --flavour F   debug (default): scripts/debug.config; kcsan:
                scripts/kcsan.config, where the data races KCSAN reports
                are sorted by scripts/kcsan-races.py and only the module's
                fail the run
  --cycles N    loads and unloads per watchdog setting (default ${CYCLES})
  --only T      build, provoke, check, kselftest, reproduce, lifetime, cycles or
                races (kcsan); repeatable
  --record      append the results and the time to docs/measurements.md

Builds (or reuses) the flavour's kernel and builds the module and the test
programs in a copy of the repo (\${MMCID_CACHE}/debug-repo/FLAVOUR), so no
debug-built mmcid-rs.ko lands in the checkout.  With MMCID_LOCK=FILE every
kernel build and every guest runs under flock FILE, one at a time, so that
a shared machine can queue them.  Logs go to \${MMCID_CACHE}/logs/test-debug-*.
EOF
}

ARGS="$*"
while [ $# -gt 0 ]; do
	case "$1" in
	--flavour) FLAVOUR=${2:?}; shift 2 ;;
	--cycles) CYCLES=${2:?}; shift 2 ;;
	--only) ONLY+=("${2:?}"); shift 2 ;;
	--record) RECORD=1; shift ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
case "${FLAVOUR}" in debug|kcsan) ;; *) die "--flavour wants debug or kcsan, not '${FLAVOUR}'" ;; esac
need_number --cycles "${CYCLES}" 1 10000
# A guest's limit for CYCLES loads and unloads: 13 s each were measured on
# the debug flavour under TCG (docs/measurements.md); allow 20.
CYCLES_LIMIT=$((300 + CYCLES * 20))
want() {
	[ "${#ONLY[@]}" = 0 ] && return 0
	local o
	for o in "${ONLY[@]}"; do [ "$o" = "$1" ] && return 0; done
	return 1
}

# heavy CMD...: a kernel build or a guest, under MMCID_LOCK if set.
heavy() {
	if [ -n "${MMCID_LOCK:-}" ]; then
		flock "${MMCID_LOCK}" "$@"
	else
		"$@"
	fi
}

PASSED=0
FAILED=0
FAILED_NAMES=()
RESULTS=()
LOGDIR=${MMCID_CACHE}/logs/test-debug-${FLAVOUR}-$(date +%Y%m%d-%H%M%S)
mkdir -p "${LOGDIR}"

# check NAME CMD...: one test, as in scripts/test.sh; the guest's
# "mmcid_rs: ..." lines of a passing test are kept for the summary.
check() {
	local name=$1 logf t0=${SECONDS} r
	shift
	logf=${LOGDIR}/$(echo "${name}" | tr -c 'A-Za-z0-9_.-' '_').log
	if "$@" >"${logf}" 2>&1; then
		PASSED=$((PASSED + 1))
		r=$(printf 'ok   %-66s %4d s' "${name}" "$((SECONDS - t0))")
	else
		FAILED=$((FAILED + 1))
		FAILED_NAMES+=("${name}")
		r=$(printf 'FAIL %-66s %4d s  (log: %s)' "${name}" "$((SECONDS - t0))" "${logf}")
		echo "${r}"
		tail -20 "${logf}" | sed 's/^/     | /'
		RESULTS+=("${r}")
		return
	fi
	echo "${r}"
	RESULTS+=("${r}")
	while IFS= read -r r; do
		RESULTS+=("       ${r}")
	done < <(grep -E '^(mmcid_rs: (debug: |C and Rust|loaded and)|kcsan: |\[(mmcid_rs|mm_cid)\] |==> guest ran)' "${logf}" |
		 grep -v 'debug: phase')
}

# The flavour's tree has every option of its fragment.
config_has_fragment() {
	local line opt bad=0
	while IFS= read -r line; do
		case "${line}" in
		CONFIG_*=*) grep -qxF "${line}" "${KDIR}/.config" || { echo "missing: ${line}"; bad=1; } ;;
		"# CONFIG_"*" is not set")
			opt=${line#\# }
			opt=${opt%% *}
			! grep -q "^${opt}=" "${KDIR}/.config" || { echo "set: ${opt}"; bad=1; } ;;
		esac
	done <"$(flavour_fragment "${FLAVOUR}")"
	[ "${bad}" = 0 ] && echo "${KDIR}/.config has every option of $(flavour_fragment "${FLAVOUR}")"
}

# A copy of the repo with the module and the test programs built against
# the flavour's tree: the guests' working directory.
COPY=${MMCID_CACHE}/debug-repo/${FLAVOUR}
module_in_copy() {
	local out
	rm -rf "${COPY}" && mkdir -p "${COPY}" || return 1
	tar -C "${MMCID_TOP}" --exclude=./target --exclude=./.mutants --exclude=./.git \
		--exclude='*.ko' --exclude='*.o' -cf - . | tar -C "${COPY}" -xf - || return 1
	make -s -C "${COPY}" KDIR="${KDIR}" clean >/dev/null
	out=$(make -C "${COPY}" KDIR="${KDIR}" module 2>&1)
	echo "${out}"
	! echo "${out}" | grep -E 'warning|error' || return 1
	[ -f "${COPY}/mmcid-rs.ko" ] || return 1
	make -s -C "${COPY}/selftests/mmcid_rs" KSFT_DIR="${KDIR}/tools/testing/selftests"
}

# guest [run-vng options] -- CMD...: a guest of the flavour, in the copy.
# KFENCE samples an allocation every 10 ms instead of 100.
guest() {
	local opts=() append="kfence.sample_interval=10"
	while [ "$1" != -- ]; do
		if [ "$1" = --append ]; then
			append+=" $2"
			shift 2
		else
			opts+=("$1")
			shift
		fi
	done
	shift
	(cd "${COPY}" && heavy ./scripts/run-vng.sh --kernel "${KDIR}" --append "${append}" \
		"${opts[@]}" -- "$@")
}

# kcsan_guest NAME -- CMD...: a guest whose KCSAN data races go to the
# log, sorted by scripts/kcsan-races.py: any race of the module's fails.
kcsan_guest() {
	local name=$1 log rc=0 limit=900
	shift 2
	[ "$1" = cycles ] && limit=${CYCLES_LIMIT}
	log=${LOGDIR}/${name}.console.log
	guest --timeout "${limit}" --ignore-splat 'BUG: KCSAN: data-race' --log "${log}" -- \
		./scripts/guest-debug.sh --allow-kcsan "$@" || rc=$?
	"${MMCID_TOP}/scripts/kcsan-races.py" "${log}" | tee "${LOGDIR}/${name}.races" || rc=1
	return "${rc}"
}

t0=${SECONDS}
"${MMCID_TOP}/scripts/setup-deps.sh" >/dev/null || die "dependencies failed"
heavy "${MMCID_TOP}/scripts/build-kernel.sh" --flavour "${FLAVOUR}" >"${LOGDIR}/build-kernel.log" 2>&1 ||
	die "the ${FLAVOUR} kernel did not build; log: ${LOGDIR}/build-kernel.log"
KDIR=$("${MMCID_TOP}/scripts/build-kernel.sh" --flavour "${FLAVOUR}" --print-dir)
# How long the tree took to build (scripts/build-kernel.sh wrote it).
build_times() {
	if grep -q 'already built' "${LOGDIR}/build-kernel.log"; then
		echo "built before: $(cat "${KDIR}/.mmcid-build-times" 2>/dev/null || echo "time unknown")"
	else
		echo "built now: $(cat "${KDIR}/.mmcid-build-times")"
	fi
}
RESULTS+=("kernel: ${KDIR##*/}, $(build_times)")
log "${RESULTS[-1]}"

if want build; then
	check "${FLAVOUR}: the tree has every option of scripts/${FLAVOUR}.config" config_has_fragment
fi
check "${FLAVOUR}: module and test programs build against the tree, no warnings" module_in_copy
if [ "${FLAVOUR}" = debug ]; then
	if want provoke; then
		check "vm debug: the splat check fails on lkdtm's UBSAN, KFENCE and lockdep reports" \
			must_fail 'UBSAN: array-index-out-of-bounds' 'BUG: KFENCE: use-after-free' \
			'lock held when returning to user space' 'mmcid_rs: debug: splat: ' -- \
			guest --timeout 300 --append kfence.sample_interval=100 -- ./scripts/guest-debug.sh provoke
	fi
	if want check; then
		check "vm debug: C and Rust (v7.3) agree under the fork pattern; no splat, no leak" \
			guest --timeout 600 -- ./scripts/guest-debug.sh run \
			./scripts/guest-check.sh --variant v7.3 --expect agree
	fi
	if want kselftest; then
		# 30 s a test: in the default 5 s the debug kernel's first round
		# of 200 threads is most of the run (docs/debug.md).
		check "vm debug: kselftest skips without the module, passes with it; no splat, no leak" \
			guest --timeout 900 -- ./scripts/guest-debug.sh run env MMCID_RS_SECONDS=30 \
			./scripts/guest-kselftest.sh v7.3 pass
	fi
	if want reproduce; then
		check "vm debug: the reproduction's 7.3 boot (5 CPUs, one watching): nothing named" \
			guest --timeout 600 --cpus 4 --grace 600 -- \
			./scripts/guest-debug.sh run ./scripts/guest-reproduce.sh --seconds 20
	fi
	if want lifetime; then
		check "vm debug: nothing outlives an unload (open files, readers, trace instance, fork pattern); no splat, no leak" \
			guest --timeout 600 -- ./scripts/guest-debug.sh run ./scripts/guest-lifetime.sh
	fi
	if want cycles; then
		check "vm debug: ${CYCLES} loads and unloads under the fork pattern, watchdog on" \
			guest --timeout "${CYCLES_LIMIT}" -- ./scripts/guest-debug.sh cycles "${CYCLES}" 50
		check "vm debug: ${CYCLES} loads and unloads under the fork pattern, watchdog off" \
			guest --timeout "${CYCLES_LIMIT}" -- ./scripts/guest-debug.sh cycles "${CYCLES}" 0
	fi
else
	if want races; then
		check "vm kcsan: fork pattern unloaded, kselftest loaded: no data race of the module's" \
			kcsan_guest races -- races 10
	fi
	if want cycles; then
		check "vm kcsan: ${CYCLES} loads and unloads, watchdog on: no data race of the module's" \
			kcsan_guest cycles-on -- cycles "${CYCLES}" 50
		check "vm kcsan: ${CYCLES} loads and unloads, watchdog off: no data race of the module's" \
			kcsan_guest cycles-off -- cycles "${CYCLES}" 0
	fi
fi

took=$((SECONDS - t0))
log "tests took ${took} s; logs in ${LOGDIR}"
for n in "${FAILED_NAMES[@]}"; do
	echo "failed: ${n}"
done
summary="${PASSED} passed, ${FAILED} failed"
if [ "${RECORD}" = 1 ]; then
	record_measurement "scripts/test-debug.sh --flavour ${FLAVOUR} (${summary}, $((took / 60))m$((took % 60))s)" \
		"scripts/test-debug.sh ${ARGS}" \
		"$(printf '%s\n' "${RESULTS[@]}"; echo "${summary} in ${took} s (kernel ${KDIR##*/})")"
	if [ "${FLAVOUR}" = kcsan ] && ls "${LOGDIR}"/*.races >/dev/null 2>&1; then
		record_measurement "KCSAN data races, sorted by scripts/kcsan-races.py" \
			"scripts/kcsan-races.py ${LOGDIR}/*.console.log" \
			"$("${MMCID_TOP}/scripts/kcsan-races.py" "${LOGDIR}"/*.console.log)"
	fi
fi
echo "${summary}"
[ "${FAILED}" = 0 ]
