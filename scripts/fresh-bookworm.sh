#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Prove that the README's commands work on a fresh Debian 12: debootstrap a
# bookworm root, clone this repository into it and run one make target
# there, with nothing of this machine's but the Rust toolchain (rustup's,
# bind-mounted read-only: Debian 12 ships no rustc new enough for 7.3).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ROOT=
TARGET=run
REV=HEAD

usage() {
	cat <<EOF
Usage: $0 --root DIR [--target run|test] [--rev REV]

Creates DIR with debootstrap (once; reused when it exists), clones the
repository's HEAD (or REV, e.g. the commit before a change, to measure
both) into DIR/src/mmcid-rs and runs 'make TARGET' there as
root in a chroot, with /proc, /sys, /dev and /dev/kvm from the host.
Its output is kept in \${MMCID_CACHE}/logs/fresh-TARGET-<time>.log; a
'make run' that succeeds adds a row (cold or warm, total time, its
dependency and kernel steps, commit, machine) to docs/measurements.md of
this checkout.  A run in a root whose cache a run before filled is warm.
EOF
}

while [ $# -gt 0 ]; do
	case "$1" in
	--root) ROOT=${2:?}; shift 2 ;;
	--target) TARGET=${2:?}; shift 2 ;;
	--rev) REV=${2:?}; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
[ -n "${ROOT}" ] || { usage >&2; exit 2; }
[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot, mounts)"
command -v debootstrap >/dev/null || die "debootstrap not found: apt-get install debootstrap"
[ -d "${HOME}/.rustup" ] && [ -d "${HOME}/.cargo" ] ||
	die "no rustup toolchain in ${HOME}: the fresh root borrows it"

if [ ! -x "${ROOT}/usr/bin/apt-get" ]; then
	step "fresh: debootstrap bookworm into ${ROOT}" \
		debootstrap --variant=minbase --include=ca-certificates,git,make,sudo \
		bookworm "${ROOT}" "$(debian_mirror)"
fi

mounts=()
bind() {
	mkdir -p "${ROOT}$2"
	mount --bind "$1" "${ROOT}$2"
	[ "${3:-}" = ro ] && mount -o remount,bind,ro "${ROOT}$2"
	mounts=("${ROOT}$2" "${mounts[@]}")
}
cleanup() {
	local m
	for m in "${mounts[@]}"; do umount -l "$m" 2>/dev/null || true; done
}
trap cleanup EXIT

bind /proc /proc
bind /sys /sys
bind /dev /dev
bind /dev/pts /dev/pts
bind "${HOME}/.rustup" /root/.rustup ro
bind "${HOME}/.cargo" /opt/host-cargo ro
cp /etc/resolv.conf "${ROOT}/etc/resolv.conf" 2>/dev/null || true
# Local CAs of the machine (e.g. a TLS-inspecting egress proxy) belong to
# the machine, not to the project: give the fresh root the same trust.
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
	mkdir -p "${ROOT}/usr/local/share/ca-certificates"
	cp /usr/local/share/ca-certificates/*.crt "${ROOT}/usr/local/share/ca-certificates/"
	chroot "${ROOT}" update-ca-certificates >/dev/null
fi

rm -rf "${ROOT}/src/mmcid-rs"
git clone -q "${MMCID_TOP}" "${ROOT}/src/mmcid-rs"
git -C "${ROOT}/src/mmcid-rs" checkout -q "$(git -C "${MMCID_TOP}" rev-parse --verify "${REV}^{commit}")" ||
	die "cannot check out ${REV} in ${ROOT}/src/mmcid-rs"

mmss() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

# step_seconds LOG WHAT: how long step() said the step whose name starts
# with WHAT took (0 if it did not).
step_seconds() {
	awk -v w="==> $2" 'index($0, w) == 1 && match($0, /: done in [0-9]+ s$/) {
		s = substr($0, RSTART + 10) + 0 } END { print s + 0 }' "$1"
}

# record_run LOG SECONDS: add a row to the cold start table of
# docs/measurements.md, with the section's head the first time.  The row
# goes after the table's last row: other scripts append sections below.
record_run() {
	local logf=$1 total=$2 doc=${MMCID_TOP}/docs/measurements.md
	local deps kernel kmake row
	deps=$(step_seconds "${logf}" "run: dependencies")
	kernel=$(step_seconds "${logf}" "run: kernel")
	kmake=$(( $(step_seconds "${logf}" "kernel: make bzImage modules_prepare") +
		  $(step_seconds "${logf}" "kernel: make modules") ))
	row="| $(date -u +%F) | ${COMMIT} | ${CACHE_STATE} | $(mmss "${total}") | $(mmss "${deps}") | $(mmss "${kernel}") ($((100 * kernel / total))%) | $(mmss "${kmake}") | ${MACHINE} |"
	if ! grep -q '^## Cold start on a fresh root' "${doc}"; then
		cat >>"${doc}" <<-'EOF'

		## Cold start on a fresh root

		Written by `scripts/fresh-bookworm.sh --root DIR --target run` after a
		`make run` that succeeded in a debootstrapped Debian 12 root with
		nothing of the machine's but the Rust toolchain.  "cold" is the first
		run in a new root, every step from nothing; "warm" a later one in the
		same root, with its cache.  "deps" is the step `run: dependencies`
		(Debian packages, qemu, bindgen, virtme-ng), "kernel" is `run: kernel`
		(fetch, unpack, configure, build) with its share of the total, "make"
		the two make steps within it; "load" is the 1-minute load average at
		the start.

		| date | commit | cache | total | deps | kernel (share) | make | machine |
		|---|---|---|---|---|---|---|---|
		EOF
	fi
	awk -v row="${row}" '
		/^## / { sec = ($0 == "## Cold start on a fresh root") }
		{ lines[NR] = $0 }
		sec && /^\|/ { last = NR }
		END {
			for (i = 1; i <= NR; i++) {
				print lines[i]
				if (i == last) print row
			}
		}' "${doc}" >"${doc}.new" && mv "${doc}.new" "${doc}"
	log "fresh: added to ${doc}: ${row}"
}

CACHE_STATE=cold
[ -d "${ROOT}/root/.cache/mmcid-rs" ] && CACHE_STATE=warm
COMMIT=$(git -C "${ROOT}/src/mmcid-rs" log -1 --format='%h %s' | cut -c1-60)
MACHINE="$(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), $(free -g | awk '/^Mem:/ { print $2 }') GB, load $(cut -d' ' -f1 /proc/loadavg)"
mkdir -p "${MMCID_CACHE}/logs"
LOGF=${MMCID_CACHE}/logs/fresh-${TARGET}-$(date -u +%Y%m%dT%H%M%S).log

log "fresh: make ${TARGET} in the bookworm root (log: ${LOGF})"
t0=${SECONDS}
rc=0
chroot "${ROOT}" /usr/bin/env -i HOME=/root TERM=dumb \
	PATH=/opt/host-cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	CARGO_HOME=/root/.cargo RUSTUP_HOME=/root/.rustup \
	bash -c "cd /src/mmcid-rs && make ${TARGET}" 2>&1 | tee "${LOGF}" || rc=$?
total=$((SECONDS - t0))
log "fresh: make ${TARGET} exited ${rc} after ${total} s"
if [ "${rc}" = 0 ] && [ "${TARGET}" = run ]; then
	record_run "${LOGF}" "${total}"
fi
exit "${rc}"
