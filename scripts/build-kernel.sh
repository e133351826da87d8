#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Fetch Debian's linux-source-7.3, configure it for mmcid-rs and build what
# booting it under virtme-ng and building an out-of-tree Rust module need.
# The build is cached, keyed by source version, flavour and config hash.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

FLAVOUR=v7.3
PRINT_DIR=0

usage() {
	cat <<EOF
Usage: $0 [--flavour v7.3|pre-fix|affinity-switchback|failed-execve-fix|bounded-cid-wait|debug|kcsan|gcov] [--print-dir] [--help]

  --flavour F   v7.3: the source as shipped (default).
                pre-fix: with patches/pre-fix/*.patch applied, which revert
                the fix for the task-to-CPU live lock.
                affinity-switchback: with patches/affinity-switchback/*.patch
                applied, a candidate fix that lets an affinity widening
                switch back to per task mode (model variant of that name).
                failed-execve-fix: with patches/failed-execve-fix/*.patch
                applied, candidate fixes for a failed execve(): the CID it
                leaks (docs/failed-execve-leak.md) and the MM_CID_UNSET it
                shows user space (docs/failed-execve-unset.md); no model
                variant.
                bounded-cid-wait: with patches/bounded-cid-wait/*.patch
                applied, a patch under review that bounds mm_get_cid()'s
                busy wait (docs/patch-workflow.md); no model variant.
                debug: v7.3 with scripts/debug.config merged last (lockdep,
                atomic sleep, preempt, KFENCE, UBSAN, debugobjects,
                kmemleak, lkdtm; docs/debug.md).
                kcsan: v7.3 with scripts/kcsan.config merged last (KCSAN).
                gcov: v7.3 with scripts/gcov.config merged last and
                patches/gcov/*.patch applied: kernel/sched/core.o
                profiled (scripts/coverage.sh).
  --print-dir   only print the cached tree's path (fail if not built)

Builds into \${MMCID_CACHE}/kernel/<version>-<config hash>-<flavour>
(MMCID_CACHE=${MMCID_CACHE}).  A tree that finished building is reused as is.
A debug flavour starts from its last built tree of another fragment, or
else from the built v7.3 tree, and rebuilds what the fragment changes.
EOF
}

while [ $# -gt 0 ]; do
	case "$1" in
	--flavour) FLAVOUR=${2:?--flavour needs a value}; shift 2 ;;
	--flavour=*) FLAVOUR=${1#*=}; shift ;;
	--print-dir) PRINT_DIR=1; shift ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
case "${FLAVOUR}" in
v7.3|pre-fix|affinity-switchback|failed-execve-fix|bounded-cid-wait|debug|kcsan|gcov) ;;
*) die "unknown flavour '${FLAVOUR}' (want v7.3, pre-fix, affinity-switchback, failed-execve-fix, bounded-cid-wait, debug, kcsan or gcov)" ;;
esac

# What the guest does without (merged first), then what the module and
# the kselftest need (merged last: it wins).  lib.sh's kernel_tree() keys
# the cache by both.
TRIM=${MMCID_TOP}/scripts/trim.config
FRAGMENT=${MMCID_TOP}/selftests/mmcid_rs/config
SRC_DIR=${MMCID_CACHE}/src
FRAGMENT_LAST=$(flavour_fragment "${FLAVOUR}" || true)
PATCHES=$(flavour_patches "${FLAVOUR}")

if [ "${PRINT_DIR}" = 1 ]; then
	kernel_dir "${FLAVOUR}" || die "no ${FLAVOUR} kernel built yet: run $0 --flavour ${FLAVOUR}"
	exit 0
fi

# Download linux-source-7.3 (apt checks it against the signed Release file)
# and unpack its tarball once.
fetch_source() {
	local deb tarball
	mkdir -p "${SRC_DIR}"
	deb=$(ls "${SRC_DIR}"/linux-source-"${KERNEL_SERIES}"_*.deb 2>/dev/null | tail -1 || true)
	if [ -z "${deb}" ]; then
		apt_private_update
		(cd "${SRC_DIR}" && apt_private download -q "linux-source-${KERNEL_SERIES}" >&2) ||
			die "could not download linux-source-${KERNEL_SERIES} from trixie-backports"
		deb=$(ls "${SRC_DIR}"/linux-source-"${KERNEL_SERIES}"_*.deb | tail -1)
	fi
	SRC_VERSION=$(dpkg-deb -f "${deb}" Version)
	if [ ! -d "${SRC_DIR}/linux-source-${KERNEL_SERIES}" ]; then
		log "unpacking ${deb##*/}"
		rm -rf "${SRC_DIR}/pkg" && dpkg-deb -x "${deb}" "${SRC_DIR}/pkg"
		tarball=$(ls "${SRC_DIR}"/pkg/usr/src/linux-source-"${KERNEL_SERIES}".tar.*)
		tar -C "${SRC_DIR}" -xf "${tarball}"
		rm -rf "${SRC_DIR}/pkg"
	fi
}

# A patched flavour starts from the built v7.3 tree of the same config
# when there is one, so that only what the patches touch is rebuilt.  A
# debug flavour starts from its newest built tree of the same base config
# (another version of its fragment) or else from that v7.3 tree; one
# with patches too always from the v7.3 tree, which has none applied.
SEEDED=0
prepare_tree() {
	local tmp=${TREE}.tmp p base
	base=$(kernel_tree v7.3 "${SRC_VERSION}")
	if [ -n "${FRAGMENT_LAST}" ] && [ -z "${PATCHES}" ]; then
		# Newest first; cache paths have no blanks.
		# shellcheck disable=SC2012
		for p in $(ls -dt "${base%-v7.3}"-*-"${FLAVOUR}" 2>/dev/null || true); do
			if [ -f "${p}/.mmcid-built" ]; then
				base=${p}
				break
			fi
		done
	fi
	mkdir -p "${TREE%/*}"
	rm -rf "${tmp}"
	if [ "${FLAVOUR}" != v7.3 ] && [ -f "${base}/.mmcid-built" ]; then
		log "copying the built ${base##*-} tree ${base##*/} to ${tmp}"
		cp -a "${base}" "${tmp}"
		rm -f "${tmp}/.mmcid-built"
		SEEDED=1
	else
		log "copying the source to ${tmp}"
		cp -a "${SRC_DIR}/linux-source-${KERNEL_SERIES}" "${tmp}"
	fi
	for p in ${PATCHES}; do
		log "applying ${p##*/}"
		apply_patch "${tmp}" "${p}" >&2 || die "${p} does not apply to ${SRC_VERSION}"
	done
	mv "${tmp}" "${TREE}"
}

# check_fragment FILE: every option of FILE survived olddefconfig.
check_fragment() {
	local opt want got bad=0 line
	while IFS= read -r line; do
		case "${line}" in
		CONFIG_*=*) opt=${line%%=*}; want=${line#*=} ;;
		"# CONFIG_"*" is not set") opt=${line#\# }; opt=${opt%% *}; want=n ;;
		*) continue ;;
		esac
		got=$("${TREE}/scripts/config" --file "${TREE}/.config" --state "${opt#CONFIG_}")
		[ "${got}" = undef ] && got=n
		if [ "${got}" != "${want}" ]; then
			warn "${opt}: wanted ${want}, config has ${got}"
			bad=1
		fi
	done <"$1"
	[ "${bad}" = 0 ] || die "the config fragment $1 did not apply; fix it or its dependencies"
}

# merge FRAGMENT...: merge the fragments into TREE's .config, let
# olddefconfig settle it, and check that the Rust toolchain suits it and
# that the module's fragment and each merged one survived.
merge() {
	local clog=${TREE}/.mmcid-config.log f
	(cd "${TREE}" && scripts/kconfig/merge_config.sh -m .config "$@") >>"${clog}" 2>&1 ||
		die "merging $* failed; log: ${clog}"
	make -C "${TREE}" -s olddefconfig
	make -C "${TREE}" -s rustavailable >&2 ||
		die "the Rust toolchain is not usable for this kernel (see above); run scripts/setup-deps.sh"
	for f in "${FRAGMENT}" "$@"; do
		check_fragment "${f}"
	done
}

# vng's configuration, what the guest does without, what the module and
# the kselftest need.
configure() {
	local clog=${TREE}/.mmcid-config.log
	(cd "${TREE}" && vng --kconfig) >"${clog}" 2>&1 ||
		die "vng --kconfig failed in ${TREE}; log: ${clog}"
	merge "${TRIM}" "${FRAGMENT}"
}

# A debug flavour's fragment goes on top of the seed's configuration
# (vng's, trim.config's and the module's, or an older fragment's, whose
# options the new one sets again or olddefconfig keeps).
configure_last() {
	merge "${FRAGMENT_LAST}"
}

# make TARGETs with lib.sh's kernel_make; on failure, the log's end.
make_logged() {
	local logf=${TREE}/.mmcid-build.log
	: >"${logf}"
	if ! kernel_make "${TREE}" "${logf}" "$@"; then
		tail -40 "${logf}" >&2
		die "make $* failed; full log: ${logf}"
	fi
}

step "kernel: fetching linux-source-${KERNEL_SERIES}" fetch_source
TREE=$(kernel_tree "${FLAVOUR}" "${SRC_VERSION}")
if [ -f "${TREE}/.mmcid-built" ]; then
	log "kernel: ${FLAVOUR} ${SRC_VERSION} already built in ${TREE}"
	echo "${TREE}"
	exit 0
fi
[ -d "${TREE}" ] || step "kernel: preparing ${TREE##*/}" prepare_tree
# A seeded tree has the v7.3 tree's configuration, which has the same key.
[ "${SEEDED}" = 1 ] || step "kernel: configuring" configure
[ -z "${FRAGMENT_LAST}" ] || step "kernel: merging ${FRAGMENT_LAST##*/}" configure_last
t_make=${SECONDS}
step "kernel: make bzImage modules_prepare (cold: about 8 min on 2 cores)" make_logged bzImage modules_prepare
t_modules=${SECONDS}
step "kernel: make modules (for Module.symvers)" make_logged modules
# How long this tree took, for the scripts that record (test-debug.sh).
echo "make bzImage modules_prepare: $((t_modules - t_make)) s, make modules: $((SECONDS - t_modules)) s," \
	"$([ "${SEEDED}" = 1 ] && echo "from a built tree" || echo "from the source")" >"${TREE}/.mmcid-build-times"
touch "${TREE}/.mmcid-built"
echo "${TREE}"
