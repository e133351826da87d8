#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The module's overhead: boot guests that run scripts/guest-bench.sh
# (a workload without the module and with it in each setting, taking
# turns) and print the table of all their runs; --record appends it to
# docs/measurements.md.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ROUNDS=15
BOOTS=3
SECS=2
CPUS=4
TCG_THREAD=multi
BENCH=pingpong
RECORD=0
PROFILE=0
BEFORE=

usage() {
	cat <<EOF
Usage: $0 [--bench B] [--boots N] [--rounds N] [--seconds S] [--cpus N] [--tcg-thread T] [--before KO] [--profile] [--record] [SETTING...]

Builds (or reuses) the kernel, the module and selftests/mmcid_rs, boots
guests one after the other and runs scripts/guest-bench.sh in each: N
rounds in which the run without the module and each SETTING take turns,
S seconds each.  Each cell is the median of the runs of every boot; the
change against the unloaded kernel is also shown boot by boot, as one
boot's drift under TCG is wide.

  --bench B        the workload (default ${BENCH}):
                   pingpong   selftests/mmcid_rs/pingpong, two threads of
                              one process on one vCPU bounce a byte
                   pipe       perf bench sched pipe, two processes, one vCPU
                   pipe2      the same on two vCPUs
                   messaging  perf bench sched messaging (hackbench), 4
                              groups of 20 senders and 20 receivers
                   messaging_threads  the same with threads (-t)
                   forks      selftests/mmcid_rs/fork_pattern, the BPF CI
                              fork pattern's rounds on every vCPU
                   (pipe, pipe2 and messaging* install Debian's linux-perf)
  --boots N        guests, one after the other (default ${BOOTS})
  --rounds N       rounds per boot (default ${ROUNDS})
  --seconds S      seconds per run (default ${SECS})
  --cpus N         guest vCPUs (default ${CPUS})
  --tcg-thread T   single or multi (default ${TCG_THREAD}, as the figures in
                   docs/measurements.md were measured)
  --before KO      also each SETTING with the module KO (one built from an
                   earlier commit), in the same rounds: the change's cost
                   before and after, boot by boot (SETTING@before rows)
  --profile        instead: where vCPU 0's time goes while pingpong runs
                   there for S seconds, unloaded and in each SETTING
                   (default: all), by object and by symbol, from perf's
                   cpu-clock samples (scripts/guest-profile.sh; installs
                   Debian's linux-perf); one boot per --boots
  --record         append the table (or the profile) to
                   docs/measurements.md (command, date, commit, machine)
  SETTING          filtered, all, nowatch, filtered_nowatch (default: all four)

Environment: KDIR (a built Rust-enabled tree instead of the cached one),
MMCID_CACHE (default ~/.cache/mmcid-rs).
EOF
}

ARGS="$*"
SETTINGS=()
while [ $# -gt 0 ]; do
	case "$1" in
	--bench) BENCH=${2:?}; shift 2 ;;
	--rounds) ROUNDS=${2:?}; shift 2 ;;
	--boots) BOOTS=${2:?}; shift 2 ;;
	--seconds) SECS=${2:?}; shift 2 ;;
	--cpus) CPUS=${2:?}; shift 2 ;;
	--tcg-thread) TCG_THREAD=${2:?}; shift 2 ;;
	--record) RECORD=1; shift ;;
	--profile) PROFILE=1; shift ;;
	--before) BEFORE=${2:?--before needs a .ko}; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	-*) usage >&2; exit 2 ;;
	*) SETTINGS+=("$1"); shift ;;
	esac
done
need_number --rounds "${ROUNDS}" 1 1000
need_number --boots "${BOOTS}" 1 100
need_number --seconds "${SECS}" 1 3600
need_number --cpus "${CPUS}" 1 "${MMCID_MAX_CPUS}"
[ "${PROFILE}" = 0 ] || [ "${BENCH}" = pingpong ] || die "--profile profiles pingpong, not --bench ${BENCH}"
case "${BENCH}" in
pingpong|forks) DEPS=() ;;
pipe|pipe2|messaging|messaging_threads) DEPS=(--perf) ;;
*) die "unknown --bench '${BENCH}'; want pingpong, pipe, pipe2, messaging, messaging_threads or forks" ;;
esac
for s in "${SETTINGS[@]}"; do
	case "${s}" in
	filtered|all|nowatch|filtered_nowatch) ;;
	*) die "unknown setting '${s}'; want filtered, all, nowatch or filtered_nowatch" ;;
	esac
done

[ "${PROFILE}" = 0 ] || DEPS=(--perf)
if [ -n "${BEFORE}" ]; then
	[ -f "${BEFORE}" ] || die "--before ${BEFORE}: no such file"
	modinfo -F vermagic "${BEFORE}" >/dev/null 2>&1 || die "--before ${BEFORE}: not a kernel module"
	BEFORE=$(realpath "${BEFORE}")
fi
step "bench: dependencies" "${MMCID_TOP}/scripts/setup-deps.sh" "${DEPS[@]}"
if [ -n "${KDIR:-}" ]; then
	"${MMCID_TOP}/scripts/check-kdir.sh" "${KDIR}"
	KERNEL=(--kernel "${KDIR}")
else
	step "bench: kernel" "${MMCID_TOP}/scripts/build-kernel.sh" >/dev/null
	KDIR=$("${MMCID_TOP}/scripts/build-kernel.sh" --print-dir)
	KERNEL=()
fi
step "bench: module" make -s -C "${MMCID_TOP}" KDIR="${KDIR}" module >&2
if [ -n "${BEFORE}" ]; then
	[ "${#SETTINGS[@]}" -gt 0 ] || SETTINGS=(filtered all nowatch filtered_nowatch)
	for s in "${SETTINGS[@]}"; do
		SETTINGS+=("${s}@before")
	done
	# Where the guest sees it (the repo; *.ko is ignored by git).
	mkdir -p "${MMCID_TOP}/.bench"
	cp "${BEFORE}" "${MMCID_TOP}/.bench/before.ko"
	log "bench: the module before: ${BEFORE} (sha256 $(sha256sum "${BEFORE}" | cut -c1-12))"
fi
step "bench: test programs" make -s -C "${MMCID_TOP}/selftests/mmcid_rs" \
	KSFT_DIR="${KDIR}/tools/testing/selftests" >&2

out=$(mktemp -d)
trap 'rm -rf "${out}"' EXIT

if [ "${PROFILE}" = 1 ]; then
	[ "${#SETTINGS[@]}" -gt 0 ] || SETTINGS=(all)
	limit=$((120 + (${#SETTINGS[@]} + 1) * (SECS + 30)))
	for b in $(seq 1 "${BOOTS}"); do
		log "bench: profile, boot ${b} of ${BOOTS}: pingpong for ${SECS} s, unloaded and ${SETTINGS[*]} (limit ${limit} s)"
		"${MMCID_TOP}/scripts/run-vng.sh" "${KERNEL[@]}" --no-watcher --cpus "${CPUS}" --tcg-thread "${TCG_THREAD}" \
			--timeout "${limit}" -- ./scripts/guest-profile.sh "${SECS}" "${SETTINGS[@]}" |
			tee "${out}/${b}" || die "the profile guest of boot ${b} failed (see its console log above); nothing recorded"
		grep -q '^mmcid_rs: profile: none: dso ' "${out}/${b}" ||
			die "no profile in the output of boot ${b}; nothing recorded"
	done
	table=$(for b in $(seq 1 "${BOOTS}"); do
		sed -n "s/^mmcid_rs: profile: /boot ${b}: /p" "${out}/${b}"
	done)
	if [ "${RECORD}" = 1 ]; then
		record_measurement "Module profile, pingpong, ${BOOTS} boots of ${SECS} s on ${CPUS} vCPUs (${TCG_THREAD}-threaded TCG)" \
			"scripts/bench-module.sh ${ARGS}" "${table}"
	fi
	exit 0
fi
# Each run takes about S seconds (perf's loops are set from a run without
# the module, and the module slows them); insmod, rmmod and the boot take
# the rest.
runs=$((${#SETTINGS[@]} > 0 ? ${#SETTINGS[@]} + 1 : 5))
limit=$((120 + ROUNDS * runs * (2 * SECS + 3)))
for b in $(seq 1 "${BOOTS}"); do
	log "bench: ${BENCH}, boot ${b} of ${BOOTS}: ${ROUNDS} rounds of ${SECS} s on ${CPUS} vCPUs (limit ${limit} s)"
	"${MMCID_TOP}/scripts/run-vng.sh" "${KERNEL[@]}" --no-watcher --cpus "${CPUS}" --tcg-thread "${TCG_THREAD}" \
		--timeout "${limit}" -- env MMCID_RS_BENCH="${BENCH}" \
		./scripts/guest-bench.sh "${ROUNDS}" "${SECS}" "${SETTINGS[@]}" |
		tee "${out}/${b}" || die "the bench guest of boot ${b} failed (see its console log above); nothing recorded"
	grep -q '^mmcid_rs: bench: runs none ' "${out}/${b}" ||
		die "no runs in the output of boot ${b}; nothing recorded"
done
table=$("${MMCID_TOP}/scripts/bench-table.py" "${out}"/*) ||
	die "the runs of the boots make no table; nothing recorded"
printf '%s\n' "${table}"
if [ "${RECORD}" = 1 ]; then
	record_measurement "Module overhead, ${BENCH}, ${BOOTS} boots of ${ROUNDS} rounds of ${SECS} s on ${CPUS} vCPUs (${TCG_THREAD}-threaded TCG)" \
		"scripts/bench-module.sh ${ARGS}" "${table}"
fi
