#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot a cached mmcid-rs kernel under virtme-ng, run one command in it, keep
# the whole console log, and fail when the guest oopses, warns, locks up,
# stalls or does not finish in time.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

CPUS=4
TIMEOUT=300
FLAVOUR=v7.3
KERNEL_DIR=
LOG=
ACCEL=auto
APPEND=
RWDIR=()
EXPECT_FAIL=0
TCG_THREAD=single
QUIET=0
IGNORE=
WATCHER=1
NAMED_GRACE=5
POSSIBLE=0

usage() {
	cat <<EOF
Usage: $0 [options] -- COMMAND...

Boots the cached kernel with vng (the repo is the guest's working
directory), runs COMMAND as root and powers off.

  --cpus N           guest vCPUs that run COMMAND (default ${CPUS}); with the
                     watcher the guest has one more
  --no-watcher       no watcher CPU.  By default the guest gets one more
                     vCPU, outside the scheduler's domains
                     (isolcpus=domain,N) and outside COMMAND's affinity
                     (taskset), whose timers run when a live lock has the
                     other CPUs spinning with interrupts off: the module's
                     watchdog names the live lock, or the RCU stall
                     detector panics, and the run ends ${NAMED_GRACE} s after
                     the module's "live lock" line instead of at --timeout.
  --possible P       boot P vCPUs but bring only the ones above online
                     (maxcpus=): num_possible_cpus() is P (x86's
                     possible_cpus= can only lower the firmware's count)
  --grace S          seconds the guest may go on after the module named a
                     live lock (default ${NAMED_GRACE})
  --timeout S        wall-clock limit in seconds (default ${TIMEOUT})
  --flavour F        cached kernel flavour: v7.3, pre-fix,
                     affinity-switchback, debug, kcsan or gcov
                     (default ${FLAVOUR})
  --kernel DIR       a built kernel tree instead of the cached one
  --log FILE         console log (default: a new file under \${MMCID_CACHE}/logs)
  --accel A          kvm, tcg or auto (default: KVM only if a probe boot
                     under KVM worked on this machine; the answer is cached)
  --append ARGS      extra kernel command line
  --rwdir DIR        a host directory the guest may write (vng --rwdir;
                     the rest of the host is read-only to it)
  --tcg-thread T     single (default) or multi: TCG with one host thread
                     for all vCPUs, or one each.  Multi-threaded TCG ran
                     stale code after text_poke_bp() here (Oops: int3 at
                     a just-patched kprobe or static branch) once in a few
                     hundred module loads; single-threaded TCG does not.
  --quiet-limit S    also end the guest once its console has been silent
                     for S seconds after the command started (a hung guest
                     whose CPUs all spin with interrupts off says nothing
                     more; default: off)
  --expect-splat     invert the splat check (for testing this script)
  --ignore-splat ERE leave console lines matching ERE out of the splat
                     check: the caller judges them from the log (the KCSAN
                     flavour's data races, scripts/kcsan-races.py)

Exit status: the command's, or 1 when the console shows an oops, BUG,
WARNING, lockdep report, soft/hard lockup, RCU stall or hung task, or the
guest did not finish within the limit.  The log path is printed either way.
EOF
}

while [ $# -gt 0 ]; do
	case "$1" in
	--cpus) CPUS=${2:?}; shift 2 ;;
	--no-watcher) WATCHER=0; shift ;;
	--grace) NAMED_GRACE=${2:?}; shift 2 ;;
	--possible) POSSIBLE=${2:?}; shift 2 ;;
	--timeout) TIMEOUT=${2:?}; shift 2 ;;
	--flavour) FLAVOUR=${2:?}; shift 2 ;;
	--kernel) KERNEL_DIR=${2:?}; shift 2 ;;
	--log) LOG=${2:?}; shift 2 ;;
	--accel) ACCEL=${2:?}; shift 2 ;;
	--append) APPEND=${2:?}; shift 2 ;;
	--rwdir) RWDIR=(--rwdir "${2:?--rwdir needs a directory}"); shift 2 ;;
	--tcg-thread) TCG_THREAD=${2:?}; shift 2 ;;
	--quiet-limit) QUIET=${2:?}; shift 2 ;;
	--expect-splat) EXPECT_FAIL=1; shift ;;
	--ignore-splat) IGNORE=${2:?}; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	--) shift; break ;;
	*) usage >&2; exit 2 ;;
	esac
done
[ $# -gt 0 ] || { usage >&2; exit 2; }
[ "${#RWDIR[@]}" = 0 ] || [ -d "${RWDIR[1]}" ] || die "--rwdir ${RWDIR[1]}: not a directory"
need_number --cpus "${CPUS}" 1 $((MMCID_MAX_CPUS - WATCHER))
need_number --timeout "${TIMEOUT}" 1 86400
need_number --grace "${NAMED_GRACE}" 0 86400
[ "${POSSIBLE}" = 0 ] || need_number --possible "${POSSIBLE}" $((CPUS + WATCHER)) "${MMCID_MAX_CPUS}"
[[ "${QUIET}" =~ ^[0-9]+$ ]] || die "--quiet-limit wants seconds, not '${QUIET}'"
case "${ACCEL}" in kvm|tcg|auto) ;; *) die "--accel wants kvm, tcg or auto, not '${ACCEL}'" ;; esac
case "${TCG_THREAD}" in single|multi) ;; *) die "--tcg-thread wants single or multi, not '${TCG_THREAD}'" ;; esac

command -v vng >/dev/null || die "vng not found: run scripts/setup-deps.sh"
if [ -z "${KERNEL_DIR}" ]; then
	KERNEL_DIR=$(kernel_dir "${FLAVOUR}") ||
		die "no ${FLAVOUR} kernel in ${MMCID_CACHE}: run scripts/build-kernel.sh --flavour ${FLAVOUR}"
fi
BZIMAGE=${KERNEL_DIR}/arch/x86/boot/bzImage
[ -f "${BZIMAGE}" ] || die "${BZIMAGE} does not exist: build the kernel first"

mkdir -p "${MMCID_CACHE}/logs"
LOG=${LOG:-$(mktemp "${MMCID_CACHE}/logs/vng-$(date +%Y%m%d-%H%M%S)-XXXX.log")}

# Lockups end the run with a backtrace of every CPU, then a panic, which
# makes the guest reboot, which ends qemu (vng passes -no-reboot).
KARGS="softlockup_all_cpu_backtrace=1 hardlockup_all_cpu_backtrace=1"
KARGS+=" softlockup_panic=1 hung_task_panic=1 panic=-1 panic_on_oops=1"
KARGS+=" sysctl.kernel.panic_on_rcu_stall=1"
VCPUS=${CPUS}
[ "${WATCHER}" = 1 ] && { VCPUS=$((CPUS + 1)); KARGS+=" isolcpus=domain,${CPUS}"; }
# The CPUs above VCPUS are possible and offline; the watcher stays online.
[ "${POSSIBLE}" = 0 ] || { KARGS+=" maxcpus=${VCPUS}"; VCPUS=${POSSIBLE}; }
KARGS+=" ${APPEND}"

# Seconds a boot may take to reach user space (virtme-ng-init), some 5
# under TCG; MMCID_RS_BOOT_LIMIT overrides it (make test shows the
# retry with 1).
BOOT_LIMIT=${MMCID_RS_BOOT_LIMIT:-90}
need_number MMCID_RS_BOOT_LIMIT "${BOOT_LIMIT}" 1 3600

# udev runs only the rule that virtme-ng-init's script I/O needs
# (scripts/guest-udev/): settling the host's rules takes 10 s a boot.
UDEV_RULES=(--rodir "/usr/lib/udev/rules.d=${MMCID_TOP}/scripts/guest-udev")

# One vng boot: accel, log, command.  Runs in its own process group so a
# timeout can take qemu down with it.
vng_boot() {
	local accel=$1 log=$2 limit=$3 cmd=$4 kvmflag=() rc=0 pid
	[ "${accel}" = tcg ] && kvmflag=(--disable-kvm "--qemu-opts=-accel tcg,thread=${TCG_THREAD}")
	# Through a pipe: vng has qemu open /proc/self/fd/2 for the kernel's
	# console (a chardev file), a description of its own that writes
	# from offset 0 over what vng writes through fd 1 (kselftest TAP
	# lines were lost under the guest's).  A pipe keeps one stream; the
	# session's shell returns vng's status once cat has written it all.
	PYTHONUNBUFFERED=1 setsid bash -c 'l=$1; shift; "$@" 2>&1 | cat >"${l}"; exit "${PIPESTATUS[0]}"' \
		_ "${log}" vng "${kvmflag[@]}" --run "${BZIMAGE}" --cpus "${VCPUS}" --verbose \
		"${RWDIR[@]}" "${UDEV_RULES[@]}" --append "${KARGS}" --exec "${cmd}" </dev/null &
	pid=$!
	# A caller that ends the run (run.sh's failing boot beside this one)
	# takes the guest down with it.
	# shellcheck disable=SC2064
	trap "kill -KILL -- -${pid} 2>/dev/null; exit 143" TERM INT
	local waited=0 size= sum quiet=0 named=
	while kill -0 "${pid}" 2>/dev/null; do
		if [ "${waited}" -ge "${limit}" ]; then
			kill -KILL -- "-${pid}" 2>/dev/null || true
			wait "${pid}" 2>/dev/null || true
			return 124
		fi
		# No user space after BOOT_LIMIT: a boot that hung in the
		# kernel's own init (seen under TCG in ACPI's, about 1 boot in
		# 50), before any mm has a CID user.
		if [ "${waited}" = "${BOOT_LIMIT}" ] && ! grep -q 'virtme-ng-init:' "${log}"; then
			kill -KILL -- "-${pid}" 2>/dev/null || true
			wait "${pid}" 2>/dev/null || true
			return 127
		fi
		# The watchdog named a live lock: give the module the grace to
		# print its report, then end the guest, whose other CPUs spin.
		if [ -z "${named}" ] && grep -q 'mmcid_rs: live lock:' "${log}"; then
			named=${waited}
		elif [ -n "${named}" ] && [ $((waited - named)) -ge "${NAMED_GRACE}" ]; then
			kill -KILL -- "-${pid}" 2>/dev/null || true
			wait "${pid}" 2>/dev/null || true
			return 126
		fi
		if [ "${QUIET}" -gt 0 ] && grep -q '^guest| ' "${log}"; then
			sum=$(cksum <"${log}")
			if [ "${sum}" = "${size}" ]; then
				quiet=$((quiet + 1))
			else
				size=${sum}
				quiet=0
			fi
			if [ "${quiet}" -ge "${QUIET}" ]; then
				kill -KILL -- "-${pid}" 2>/dev/null || true
				wait "${pid}" 2>/dev/null || true
				return 125
			fi
		fi
		sleep 1
		waited=$((waited + 1))
	done
	wait "${pid}" || rc=$?
	return "${rc}"
}

# Does a KVM guest boot here?  Nested KVM on this class of machine dies on
# an MSR or hangs while decompressing; ask once per machine and qemu.
probe_kvm() {
	local key f
	[ -w /dev/kvm ] || { echo tcg; return; }
	key=$( { qemu-system-x86_64 --version | head -1; uname -r; grep -m1 'model name' /proc/cpuinfo; } |
	      sha256sum | cut -c1-12)
	f=${MMCID_CACHE}/kvm-probe-${key}
	if [ ! -f "${f}" ]; then
		log "probing KVM with a short boot (cached in ${f})"
		if vng_boot kvm "${f}.log" 60 'echo mmcid-kvm-probe-ok' &&
		   grep -q '^mmcid-kvm-probe-ok' "${f}.log"; then
			echo kvm >"${f}"
		else
			echo tcg >"${f}"
		fi
	fi
	cat "${f}"
}

[ "${ACCEL}" = auto ] && ACCEL=$(probe_kvm)

# The guest tags the command's output and ends with its exit status, so
# both can be told apart from the console in the one log.
PIN=
[ "${WATCHER}" = 1 ] && PIN="taskset -c 0-$((CPUS - 1)) "
GUEST_CMD="( ${PIN}$(printf '%q ' "$@"); echo mmcid-guest-exit=\$? ) 2>&1 | sed -u 's/^/guest| /'"
tcg_note=
[ "${ACCEL}" = tcg ] && tcg_note=" (${TCG_THREAD}-threaded)"
watch_note=
[ "${WATCHER}" = 1 ] && watch_note="+1 (watcher)"
[ "${POSSIBLE}" = 0 ] || watch_note+=" of ${POSSIBLE} possible"
log "booting ${BZIMAGE#"${MMCID_CACHE}/"} on ${CPUS}${watch_note} vCPUs under ${ACCEL^^}${tcg_note} (limit ${TIMEOUT} s)"
t0=${SECONDS}
rc=0
vng_boot "${ACCEL}" "${LOG}" "${TIMEOUT}" "${GUEST_CMD}" || rc=$?
# vng once exited (255) while the kernel was still probing PCI, and a
# boot hangs now and then in the kernel's init (127, above), before the
# command started.  That says nothing about the command: boot once more,
# and keep the first log.
if [ "${rc}" != 0 ] && [ "${rc}" != 124 ] && [ "${rc}" != 125 ] && [ "${rc}" != 126 ] && ! grep -q '^guest| ' "${LOG}" &&
   ! grep -q 'virtme-ng-init: starting script' "${LOG}"; then
	if [ "${rc}" = 127 ]; then
		warn "the guest did not reach user space within ${BOOT_LIMIT} s (log: ${LOG}); booting once more"
	else
		warn "vng exited ${rc} before the guest command started (log: ${LOG}); booting once more"
	fi
	mv "${LOG}" "${LOG%.log}.first.log"
	rc=0
	vng_boot "${ACCEL}" "${LOG}" "${TIMEOUT}" "${GUEST_CMD}" || rc=$?
fi
elapsed=$((SECONDS - t0))

# Everything the kernel says when something is wrong (scripts/splat.sh),
# a panic, and the module's watchdog naming a live lock.
SPLAT="(${SPLAT_RE}|${HANG_RE}|Kernel panic|mmcid_rs: live lock)"
# Only the kernel's own console lines count: the guest's user space
# (virtme-ng-init, the command) may print "WARNING:" too.
splat=$(grep -E '^\[ *[0-9]+\.[0-9]+\] ' "${LOG}" | grep -v 'virtme-ng-init:' |
	grep -E "${SPLAT}" | grep -Ev "${IGNORE:-^$}" | head -5 || true)
status=$(sed -n 's/^guest| mmcid-guest-exit=\([0-9]*\).*/\1/p' "${LOG}" | tail -1)
sed -n '/^guest| mmcid-guest-exit=/d; s/^guest| //p' "${LOG}"

verdict=0
if [ "${rc}" = 124 ]; then
	warn "guest did not finish within ${TIMEOUT} s under ${ACCEL^^}"
	verdict=1
elif [ "${rc}" = 126 ]; then
	warn "the module's watchdog named a live lock after ${elapsed} s; guest ended:"
	grep -E '^\[ *[0-9]+\.[0-9]+\] mmcid_rs: live lock' "${LOG}" | head -3 | sed 's/^/  /' >&2
	verdict=1
elif [ "${rc}" = 125 ]; then
	warn "guest console silent for ${QUIET} s: no progress, stopped after ${elapsed} s"
	verdict=1
elif [ -n "${splat}" ]; then
	warn "the guest kernel reported a problem:"
	printf '  %s\n' "${splat}" >&2
	verdict=1
elif [ -z "${status}" ]; then
	warn "the guest ended without running the command to its end (vng exit ${rc})"
	verdict=1
elif [ "${status}" != 0 ]; then
	warn "the guest command exited with ${status}"
	verdict=${status}
fi
log "guest ran ${elapsed} s under ${ACCEL^^}; console log: ${LOG}"
if [ "${EXPECT_FAIL}" = 1 ]; then
	[ "${verdict}" != 0 ] || die "expected the guest to fail, it did not"
	log "failed as expected"
	exit 0
fi
exit "${verdict}"
