#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Install what building a Rust-enabled 7.3 kernel and booting it under
# virtme-ng needs.  Idempotent: a second run only checks.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<EOF
Usage: $0 [--perf] [--help]

Installs, as root and only where missing:
  - Debian packages for a Rust kernel build (libclang-${LLVM_VERSION}, flex, bison, ...)
  - qemu-system-x86 from bookworm-backports (through a private apt list in
    ${APT_DIR}; /etc/apt is not touched)
  - rustup's rust-src component, bindgen-cli ${BINDGEN_VERSION} (into ${TOOLS_DIR})
  - virtme-ng ${VIRTME_NG_VERSION} in a venv (${VENV_DIR})
  - with --perf, also linux-perf (perf bench, for scripts/bench-module.sh
    --bench pipe or messaging; the guest runs the host's)

Environment: MMCID_CACHE (default ~/.cache/mmcid-rs).
EOF
}

PERF=0
case "${1:-}" in
-h|--help) usage; exit 0 ;;
--perf) PERF=1 ;;
"") ;;
*) usage >&2; exit 2 ;;
esac

DEB_PACKAGES=(
	build-essential bc bison flex cpio kmod rsync xz-utils zstd
	libelf-dev libssl-dev libncurses-dev dwarves
	"libclang-${LLVM_VERSION}-dev" "clang-${LLVM_VERSION}" "llvm-${LLVM_VERSION}"
	python3 python3-venv python3-pip
	busybox-static udev iproute2 procps ca-certificates
)
[ "${PERF}" = 0 ] || DEB_PACKAGES+=(linux-perf)

missing_debs() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
			grep -q '^install ok installed$' || echo "$p"
	done
}

install_debs() {
	local missing
	mapfile -t missing < <(missing_debs "${DEB_PACKAGES[@]}")
	if [ "${#missing[@]}" -gt 0 ]; then
		[ "$(id -u)" = 0 ] || die "need root to install: ${missing[*]}"
		apt_private_update
		DEBIAN_FRONTEND=noninteractive apt_private install -y -q \
			--no-install-recommends "${missing[@]}" >&2
	fi
	# qemu 7.2 in bookworm dies on nested KVM here and is older than vng
	# wants; bookworm-backports has 10.0.
	if ! dpkg --compare-versions \
	     "$(dpkg-query -W -f='${Version}' qemu-system-x86 2>/dev/null || echo 0)" ge 1:10; then
		apt_private_update
		DEBIAN_FRONTEND=noninteractive apt_private install -y -q \
			--no-install-recommends -t bookworm-backports \
			qemu-system-x86 qemu-utils >&2
	fi
}

install_rust() {
	command -v rustup >/dev/null ||
		die "rustup not found: install Rust with rustup (the kernel needs rustc >= 1.78 and rust-src)"
	rustup component list --installed | grep -q '^rust-src' ||
		rustup component add rust-src >&2
	rustup component list --installed | grep -q '^clippy' ||
		rustup component add clippy rustfmt >&2
	if [ "$("${TOOLS_DIR}/bin/bindgen" --version 2>/dev/null)" != "bindgen ${BINDGEN_VERSION}" ]; then
		cargo install --locked --root "${TOOLS_DIR}" \
			bindgen-cli --version "${BINDGEN_VERSION}" >&2
	fi
}

install_vng() {
	if [ "$("${VENV_DIR}/bin/vng" --version 2>/dev/null | awk '{print $2}')" != "${VIRTME_NG_VERSION}" ]; then
		/usr/bin/python3 -m venv "${VENV_DIR}"
		"${VENV_DIR}/bin/pip" install -q "virtme-ng==${VIRTME_NG_VERSION}" >&2
	fi
}

mkdir -p "${MMCID_CACHE}"
step "deps: Debian packages" install_debs
step "deps: Rust toolchain pieces" install_rust
step "deps: virtme-ng ${VIRTME_NG_VERSION}" install_vng
log "deps: rustc $(rustc --version | awk '{print $2}'), $(bindgen --version), vng $(vng --version | awk '{print $2}'), $(qemu-system-x86_64 --version | head -1)"
