#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The main job, from nothing: install what is missing, build (or reuse)
# the kernel, build the module, boot a VM that loads it and runs the
# kselftest (the fork pattern, 10 s) while the module checks the C against
# the model, and print the verdict from the module's report.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<EOF
Usage: $0 [--cpus N] [--possible P] [--seconds S] [--variant V] [--force] [--record]

  --cpus N     guest vCPUs that run the kselftest (default 4; the guest
               has one more, the watcher: docs/design.md)
  --possible P boot P possible CPUs, the ones above online (the
               kselftest's affinity widening needs 6 or more; default: as
               many as are online)
  --seconds S  the kselftest's time per variant (default 10)
  --variant V  the model variant to check the C against (default v7.3;
               model/variant.rs, or the load's error, lists them)
  --force      load the module with force=1: check a kernel whose mm_cid
               code is not what the model mirrors (docs/version-guard.md)
  --record     append the verdict and the kselftest's counts to
               docs/measurements.md (command, date, commit, machine)

Environment: KDIR (a built Rust-enabled tree instead of the cached one),
MMCID_CACHE (default ~/.cache/mmcid-rs).
EOF
}

CPUS=4
SECS=10
RECORD=0
FORCE=
VARIANT=v7.3
POSSIBLE=()
ARGS="$*"
while [ $# -gt 0 ]; do
	case "$1" in
	--cpus) CPUS=${2:?}; shift 2 ;;
	--seconds) SECS=${2:?}; shift 2 ;;
	--possible) POSSIBLE=(--possible "${2:?--possible needs a count}"); shift 2 ;;
	--variant) VARIANT=${2:?--variant needs a name}; shift 2 ;;
	--force) FORCE=1; shift ;;
	--record) RECORD=1; shift ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
need_number --cpus "${CPUS}" 1 $((MMCID_MAX_CPUS - 1))
need_number --seconds "${SECS}" 1 100
[ "${#POSSIBLE[@]}" = 0 ] || need_number --possible "${POSSIBLE[1]}" $((CPUS + 1)) "${MMCID_MAX_CPUS}"
# The names model/variant.rs gives Variant::name(), the module's one list.
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
out=$(mktemp)
err=$(mktemp)
mkdir -p "${MMCID_CACHE}/logs"
console=$(mktemp "${MMCID_CACHE}/logs/run-$(date +%Y%m%d-%H%M%S)-XXXX.log")
trap 'rm -f "${out}" "${err}"' EXIT
rc=0
# The kselftest is silent while a test runs (SECS each): a console silent
# for twice that and 20 s more is a hung guest, ended there.
"${MMCID_TOP}/scripts/run-vng.sh" --kernel "${KDIR}" --cpus "${CPUS}" "${POSSIBLE[@]}" \
	--log "${console}" --quiet-limit $((2 * SECS + 20)) -- \
	env MMCID_RS_SECONDS="${SECS}" ${FORCE:+MMCID_RS_FORCE=1} ./scripts/guest-kselftest.sh "${VARIANT}" pass \
	2> >(tee "${err}" >&2) | tee "${out}" || rc=$?
wait
verdict=$(grep '^mmcid_rs: ' "${out}" | tail -1 || true)
log "run: finished in $((SECONDS - t0)) s"
if [ "${rc}" = 0 ] && [ -n "${verdict}" ]; then
	echo "${verdict}"
	if [ "${RECORD}" = 1 ]; then
		record_measurement "make run on ${CPUS} vCPUs" "scripts/run.sh ${ARGS}" \
			"$(grep -E '^#  RUN|^# .* rounds; |^# unsupported|^#   not compared|^(not )?ok [0-9]|^mmcid_rs: ' "${out}")"
	fi
	exit 0
fi
# A failed run ends with why: what the module said in the kernel log
# (a finding, a live lock, a refused load), what the host saw of the
# guest, and one FAIL line.
echo "--- why the run failed (console log: ${console})"
said=$(module_lines "${console}")
[ -z "${said}" ] || echo "${said}"
grep '^warning: ' "${err}" | tail -3 || true
if [ -n "${verdict}" ]; then
	echo "${verdict}"
elif [ -n "${said}" ]; then
	echo "mmcid_rs: FAIL: the guest did not finish; the module's last words are above"
else
	echo "mmcid_rs: FAIL: the VM run failed before the module said anything (see the warnings above)"
fi
exit 1
