#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Check that a kernel tree can build the mmcid_rs module: configured with
# Rust, built, with Module.symvers.  Says what is missing and how to fix it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

usage() {
	echo "Usage: $0 KDIR"
}

[ $# = 1 ] || { usage >&2; exit 2; }
KDIR=$1

[ -n "${KDIR}" ] ||
	die "no kernel tree: run scripts/build-kernel.sh (or 'make run'), or pass KDIR=/path/to/built/tree"
[ -d "${KDIR}" ] || die "KDIR=${KDIR} is not a directory"
[ -f "${KDIR}/Makefile" ] || die "KDIR=${KDIR} is not a kernel tree (no Makefile)"
[ -f "${KDIR}/.config" ] ||
	die "KDIR=${KDIR} is not configured (no .config): configure it, e.g. make defconfig, then merge selftests/mmcid_rs/config"
grep -q '^CONFIG_RUST=y' "${KDIR}/.config" ||
	die "KDIR=${KDIR} is not Rust-enabled (CONFIG_RUST is not set). Fix: 'make -C ${KDIR} rustavailable' must say yes; then merge selftests/mmcid_rs/config (CONFIG_RUST=y, MODVERSIONS and DEBUG_INFO_BTF off) with scripts/kconfig/merge_config.sh, and rebuild; or drop KDIR= to use the kernel scripts/build-kernel.sh caches"
for opt in KPROBES DEBUG_FS SCHED_MM_CID; do
	grep -q "^CONFIG_${opt}=y" "${KDIR}/.config" ||
		die "KDIR=${KDIR} lacks CONFIG_${opt}=y, which mmcid_rs needs: merge selftests/mmcid_rs/config and rebuild"
done
[ -f "${KDIR}/rust/libkernel.rmeta" ] ||
	die "KDIR=${KDIR} has CONFIG_RUST=y but its Rust crates are not built: run 'make -C ${KDIR} bzImage modules_prepare'"
[ -f "${KDIR}/Module.symvers" ] ||
	die "KDIR=${KDIR} has no Module.symvers: run 'make -C ${KDIR} modules' once"
