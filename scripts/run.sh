#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The main job, from nothing: install what is missing, build (or reuse)
# the kernel, build the module, boot a VM that loads it and runs the
# kselftest (each test 10 s; the affinity widening in a boot of its own,
# beside it)
# while the module checks the C against the model, and print the verdict
# from the module's report.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<EOF
Usage: $0 [--cpus N] [--possible P] [--seconds S] [--variant V] [--force] [--boot DIR] [--record]

  --cpus N     guest vCPUs that run the kselftest (default 4; the guest
               has one more, the watcher: docs/design.md)
  --possible P boot P possible CPUs, the ones above online, and run
               every test there (the kselftest's affinity widening needs
               6 or more).  Default: as many as are online, and the
               widening in a boot of its own beside it, with max(8, 2N)
               possible CPUs
  --seconds S  the kselftest's time per variant (default 10)
  --variant V  the model variant to check the C against (default v7.3;
               model/variant.rs, or the load's error, lists them)
  --force      load the module with force=1: check a kernel whose mm_cid
               code is not what the model mirrors (docs/version-guard.md)
  --boot DIR   boot DIR/arch/x86/boot/bzImage, built from the same tree
               as KDIR but for a change in kernel/sched (what
               scripts/mutants.sh --print-dir prints); the module is
               built against KDIR
  --record     append the verdict and the kselftest's counts to
               docs/measurements.md (command, date, commit, machine)

Environment: KDIR (a built Rust-enabled tree instead of the cached one),
MMCID_CACHE (default ~/.cache/mmcid-rs); for scripts/coverage.sh,
MMCID_RS_TEST (another kselftest binary under the repo) and
MMCID_RS_GCOV_OUT (a directory the guest writes each boot's gcov profile to).
EOF
}

CPUS=4
SECS=10
RECORD=0
FORCE=
VARIANT=v7.3
POSSIBLE=()
BOOT=
ARGS="$*"
while [ $# -gt 0 ]; do
	case "$1" in
	--cpus) CPUS=${2:?}; shift 2 ;;
	--seconds) SECS=${2:?}; shift 2 ;;
	--possible) POSSIBLE=(--possible "${2:?--possible needs a count}"); shift 2 ;;
	--variant) VARIANT=${2:?--variant needs a name}; shift 2 ;;
	--force) FORCE=1; shift ;;
	--boot) BOOT=${2:?--boot needs a directory}; shift 2 ;;
	--record) RECORD=1; shift ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
need_number --cpus "${CPUS}" 1 $((MMCID_MAX_CPUS - 1))
need_number --seconds "${SECS}" 1 100
[ "${#POSSIBLE[@]}" = 0 ] || need_number --possible "${POSSIBLE[1]}" $((CPUS + 1)) "${MMCID_MAX_CPUS}"
# The names model/variant.rs gives Variant::name(), the module's one list.
[ -z "${BOOT}" ] || [ -f "${BOOT}/arch/x86/boot/bzImage" ] ||
	die "--boot: ${BOOT}/arch/x86/boot/bzImage does not exist"
variants=$(sed -n 's/^ *Variant::[A-Za-z0-9_]* => "\([a-z0-9.-]*\)",$/\1/p' "${MMCID_TOP}/model/variant.rs")
echo "${variants}" | grep -qxF -- "${VARIANT}" ||
	die "--variant: unknown variant '${VARIANT}' (want one of: $(echo ${variants} | sed 's/ /, /g'))"

t0=${SECONDS}
step "run: dependencies" "${MMCID_TOP}/scripts/setup-deps.sh"
if [ -n "${KDIR:-}" ]; then
	"${MMCID_TOP}/scripts/check-kdir.sh" "${KDIR}"
else
	step "run: kernel" "${MMCID_TOP}/scripts/build-kernel.sh" >/dev/null
	KDIR=$("${MMCID_TOP}/scripts/build-kernel.sh" --print-dir)
fi
step "run: module" make -s -C "${MMCID_TOP}" KDIR="${KDIR}" module >&2
step "run: test programs" make -s -C "${MMCID_TOP}/selftests/mmcid_rs" KSFT_DIR="${KDIR}/tools/testing/selftests" >&2
mkdir -p "${MMCID_CACHE}/logs"
tmp=$(mktemp -d)
# The widening's boot runs beside the main one in a process group of its
# own; a run that ends early takes it down (run-vng.sh then ends qemu).
widen_pid=
trap '[ -z "${widen_pid}" ] || kill -TERM -- "-${widen_pid}" 2>/dev/null; rm -rf "${tmp}"' EXIT

# boot NAME POSSIBLE [HARNESS ARGS...]: one guest running the kselftest
# (the harness arguments select tests) with the module loaded; its
# output in ${tmp}/NAME.out, the host's warnings in ${tmp}/NAME.err, the
# console in ${tmp}/NAME.console (a file under ${MMCID_CACHE}/logs).
# The kselftest is silent while a test runs (SECS each): a console
# silent for twice that and 20 s more is a hung guest, ended there; on
# more than 4 vCPUs that once more for each further 4, as the test's own
# grace: one host core runs every vCPU in turn (single-threaded TCG).
boot() {
	local name=$1 possible=$2 console
	shift 2
	console=$(mktemp "${MMCID_CACHE}/logs/run-${name}-$(date +%Y%m%d-%H%M%S)-XXXX.log")
	echo "${console}" >"${tmp}/${name}.console"
	# stdout to the terminal and NAME.out, stderr to both and NAME.err;
	# with pipefail the group's status is run-vng.sh's.
	{ "${MMCID_TOP}/scripts/run-vng.sh" --kernel "${BOOT:-${KDIR}}" --cpus "${CPUS}" \
		${possible:+--possible "${possible}"} ${MMCID_RS_GCOV_OUT:+--rwdir "${MMCID_RS_GCOV_OUT}"} \
		--log "${console}" --quiet-limit $(((2 * SECS + 20) * (CPUS > 4 ? (CPUS + 3) / 4 : 1))) -- \
		env MMCID_RS_SECONDS="${SECS}" ${FORCE:+MMCID_RS_FORCE=1} \
		${MMCID_RS_TEST:+MMCID_RS_TEST="${MMCID_RS_TEST}"} \
		${MMCID_RS_GCOV_OUT:+MMCID_RS_GCOV_OUT="${MMCID_RS_GCOV_OUT}/${name}"} \
		./scripts/guest-kselftest.sh "${VARIANT}" pass "$@" \
		2>&1 1>&3 3>&- | tee "${tmp}/${name}.err" >&2 3>&-; } 3>&1 | tee "${tmp}/${name}.out"
	return "${PIPESTATUS[0]}"
}

# The verdict line a boot's guest printed, if any.
verdict_of() {
	grep '^mmcid_rs: ' "${tmp}/$1.out" | tail -1 || true
}

# A failed boot ends the run with why: what the module said in the
# kernel log (a finding, a live lock, a refused load), what the host saw
# of the guest, and one FAIL line.
failed() {
	local name=$1 console said verdict
	console=$(cat "${tmp}/${name}.console")
	verdict=$(verdict_of "${name}")
	log "run: finished in $((SECONDS - t0)) s"
	echo "--- why the run failed (${name} boot; console log: ${console})"
	said=$(module_lines "${console}")
	[ -z "${said}" ] || echo "${said}"
	ksft_failures "${tmp}/${name}.out"
	# The host's warnings, each with the lines it quotes ("  ...").
	awk '/^warning: /{w=1; print; next} w && /^(  |\[)/{print; next} {w=0}' "${tmp}/${name}.err" | tail -8
	if [ -n "${verdict}" ]; then
		echo "${verdict}"
	elif [ -n "${said}" ]; then
		echo "mmcid_rs: FAIL: the guest did not finish; the module's last words are above"
	else
		echo "mmcid_rs: FAIL: the VM run failed before the module said anything (see the warnings above)"
	fi
	exit 1
}

# merge_paths: the paths the checks in agreement took over every boot of
# the run (the "# path_NAME N" lines each prints), leaving out those the
# main boot's status calls unreachable on 7.3: the verdict's figure, then
# the paths not checked and those checked fewer than 100 times.
merge_paths() {
	local unreach
	unreach=" $(sed -n 's/^[# ]*unreachable on 7.3 (model\/paths.rs)://p' "${tmp}/main.out" | tail -1) "
	cat "${tmp}"/*.out | sed -n 's/^# path_\([a-z0-9_]*\) \([0-9]*\)$/\1 \2/p' |
		awk -v unreach="${unreach}" '
		!($1 in n) { order[++k] = $1 }
		{ n[$1] += $2 }
		END {
			for (i = 1; i <= k; i++) {
				p = order[i]
				if (index(unreach, " " p " "))
					continue
				m++
				if (n[p] == 0)
					missing = missing " " p
				else if (n[p] < 100)
					rare = rare sprintf(" %s (%d)", p, n[p])
				c += n[p] > 0
				t += n[p] >= 100
			}
			printf "paths: %d of %d reachable branches of the mm_cid code checked, %d of them 100 times or more\n", c, m, t
			printf "mmcid_rs: paths not checked in either boot:%s\n", missing
			printf "mmcid_rs: paths checked fewer than 100 times:%s\n", rare
		}'
}

# The widening of an mm's affinity in per CPU mode needs 6 or more
# possible CPUs (docs/kselftest.md), more than are online: unless
# --possible gave them, a boot of its own runs it, with offline possible
# CPUs that would change the thresholds of the main boot's BPF CI shape.
# Each guest is single-threaded TCG, one host thread: the widening's
# runs beside the main one, its output shown when both are done.
if [ "${#POSSIBLE[@]}" = 0 ]; then
	wide=$((2 * CPUS > 8 ? 2 * CPUS : 8))
	[ "${wide}" -le "${MMCID_MAX_CPUS}" ] || wide=${MMCID_MAX_CPUS}
	log "run: the affinity widening, ${CPUS}+1 of ${wide} possible CPUs online, beside the main boot"
	set -m
	boot widen "${wide}" -v widen >/dev/null 2>&1 &
	widen_pid=$!
	set +m
fi
log "run: the kselftest, ${CPUS}+1 vCPUs"
if [ "${#POSSIBLE[@]}" = 0 ]; then
	boot main "" -V widen || failed main
	rc=0
	wait "${widen_pid}" || rc=$?
	widen_pid=
	cat "${tmp}/widen.err" >&2
	cat "${tmp}/widen.out"
	[ "${rc}" = 0 ] || failed widen
else
	boot main "${POSSIBLE[1]}" || failed main
fi
verdict=$(verdict_of main)
[ -n "${verdict}" ] || failed main
log "run: finished in $((SECONDS - t0)) s"
# The last lines: the widening's result, the paths over both boots (in
# the verdict's figure too), the verdict.
if [ "${#POSSIBLE[@]}" = 0 ]; then
	merged=$(merge_paths)
	verdict=$(echo "mmcid_rs: the affinity widening, ${wide} possible CPUs: $(grep -E '^(not )?ok [0-9]' "${tmp}/widen.out" | tail -1 | sed 's/^ok [0-9]* //')"
		echo "${merged}" | tail -n +2
		echo "${verdict}" | sed "s/paths: [^;]*/$(echo "${merged}" | head -1)/")
fi
echo "${verdict}"
if [ "${RECORD}" = 1 ]; then
	record_measurement "make run on ${CPUS} vCPUs" "scripts/run.sh ${ARGS}" \
		"$(cat "${tmp}"/*.out | grep -E '^#  RUN|^# .* rounds; |^# unsupported|^#   not compared|^(not )?ok [0-9]'; echo "${verdict}")"
fi
