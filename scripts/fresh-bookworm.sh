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

usage() {
	cat <<EOF
Usage: $0 --root DIR [--target run|test]

Creates DIR with debootstrap (once; reused when it exists), clones the
repository's HEAD into DIR/src/mmcid-rs and runs 'make TARGET' there as
root in a chroot, with /proc, /sys, /dev and /dev/kvm from the host.
EOF
}

while [ $# -gt 0 ]; do
	case "$1" in
	--root) ROOT=${2:?}; shift 2 ;;
	--target) TARGET=${2:?}; shift 2 ;;
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

log "fresh: make ${TARGET} in the bookworm root"
t0=${SECONDS}
rc=0
chroot "${ROOT}" /usr/bin/env -i HOME=/root TERM=dumb \
	PATH=/opt/host-cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	CARGO_HOME=/root/.cargo RUSTUP_HOME=/root/.rustup \
	bash -c "cd /src/mmcid-rs && make ${TARGET}" || rc=$?
log "fresh: make ${TARGET} exited ${rc} after $((SECONDS - t0)) s"
exit "${rc}"
