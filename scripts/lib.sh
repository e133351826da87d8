# SPDX-License-Identifier: GPL-2.0
#
# Helpers shared by the mmcid-rs scripts: logging, the cache layout and the
# private apt configuration.  Source it; it runs nothing by itself.

MMCID_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MMCID_CACHE=${MMCID_CACHE:-${HOME}/.cache/mmcid-rs}
. "${MMCID_TOP}/scripts/splat.sh"

# Pinned versions: bump deliberately, the cache key follows.
KERNEL_SERIES=7.3
BINDGEN_VERSION=0.73.2
# The most CPUs the model and the module hold (include/mmcid_rs.h).
MMCID_MAX_CPUS=$(sed -n 's/^#define MMCID_MAX_CPUS[[:space:]]*//p' "${MMCID_TOP}/include/mmcid_rs.h")
VIRTME_NG_VERSION=1.42
LLVM_VERSION=19

TOOLS_DIR=${MMCID_CACHE}/tools
VENV_DIR=${MMCID_CACHE}/venv
APT_DIR=${MMCID_CACHE}/apt

export LIBCLANG_PATH=${LIBCLANG_PATH:-/usr/lib/llvm-${LLVM_VERSION}/lib}
export PATH=${TOOLS_DIR}/bin:${VENV_DIR}/bin:${HOME}/.cargo/bin:${PATH}

log() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Run a step and print how long it took.
step() {
	local what=$1 t0=$SECONDS
	shift
	log "${what}"
	"$@"
	log "${what}: done in $((SECONDS - t0)) s"
}

# This machine in one line: CPUs, memory, distribution.
machine_line() {
	local model mem
	model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
	mem=$(awk '/^MemTotal:/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)
	echo "$(nproc) CPUs (${model:-unknown}), ${mem} GiB, $(. /etc/os-release && echo "${PRETTY_NAME}")"
}

# need_number OPTION VALUE MIN MAX: die unless VALUE is a whole number
# from MIN to MAX, naming OPTION (every script's numeric arguments).
need_number() {
	[[ "$2" =~ ^(0|[1-9][0-9]{0,8})$ ]] && [ "$2" -ge "$3" ] && [ "$2" -le "$4" ] ||
		die "$1 wants a whole number from $3 to $4, not '$2'"
}

# must_fail PATTERN... -- CMD...: CMD fails and its output matches every
# PATTERN (the tests of scripts/test.sh and scripts/test-debug.sh).
must_fail() {
	local want=() out rc=0 p
	while [ "$1" != -- ]; do want+=("$1"); shift; done
	shift
	out=$("$@" 2>&1) || rc=$?
	echo "${out}"
	[ "${rc}" != 0 ] || { echo "it did not fail"; return 1; }
	for p in "${want[@]}"; do
		echo "${out}" | grep -q -- "${p}" || { echo "missing: ${p}"; return 1; }
	done
}

# commit_id: the checkout's commit, "-dirty" for changes outside docs/
# only: a record a script already wrote to docs/ is not what ran.
commit_id() {
	local commit
	commit=$(git -C "${MMCID_TOP}" describe --always --abbrev=12 2>/dev/null || echo unknown)
	git -C "${MMCID_TOP}" diff --quiet HEAD -- . ':(exclude)docs' 2>/dev/null || commit+=-dirty
	echo "${commit}"
}

# record_measurement TITLE COMMAND TEXT: append TEXT, what COMMAND
# measured, to docs/measurements.md with the date, the commit and the
# machine.  The scripts that measure call it; nobody retypes figures.
record_measurement() {
	local f=${MMCID_TOP}/docs/measurements.md
	{
		printf '\n### %s\n\n' "$1"
		printf -- '- command: `%s`\n' "$2"
		printf -- '- date: %s, commit: %s\n' "$(date -u '+%F %H:%M UTC')" "$(commit_id)"
		printf -- '- machine: %s\n\n' "$(machine_line)"
		printf '```\n%s\n```\n' "$3"
	} >>"${f}"
	log "recorded in ${f}"
}

# The URI of the Debian mirror this system already uses for its own release,
# as apt itself resolves it.  Nothing is hard-coded.
debian_mirror() {
	local codename uri
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME}")
	uri=$(apt-get indextargets --format '$(RELEASE) $(REPO_URI)' 2>/dev/null |
	      awk -v c="${codename}" '$1 == c { print $2; exit }')
	[ -n "${uri}" ] || die "no apt source for '${codename}' in the system's apt configuration"
	echo "${uri%/}"
}

# apt-get with the private sources list and state directory in the cache.
# The system's /etc/apt and /var/lib/apt/lists are left alone.
apt_private() {
	apt-get -o Dir::Etc::SourceList="${APT_DIR}/sources.list" \
		-o Dir::Etc::SourceParts=/dev/null \
		-o Dir::State::Lists="${APT_DIR}/lists" \
		-o Dir::Cache="${APT_DIR}/cache" \
		-o APT::Get::List-Cleanup=0 \
		-o APT::Sandbox::User=root "$@"
}

# Write the private sources list (bookworm, bookworm-backports for qemu,
# trixie-backports for linux-source-7.3) and refresh it at most once a day.
apt_private_update() {
	local mirror list
	mirror=$(debian_mirror)
	mkdir -p "${APT_DIR}/lists/partial" "${APT_DIR}/cache/archives/partial"
	list=$(cat <<EOF
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${mirror} bookworm main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${mirror} bookworm-updates main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${mirror} bookworm-backports main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${mirror} trixie-backports main
EOF
)
	if [ "$(cat "${APT_DIR}/sources.list" 2>/dev/null)" != "${list}" ] ||
	   [ -z "$(find "${APT_DIR}/updated" -mmin -1440 2>/dev/null)" ]; then
		printf '%s\n' "${list}" >"${APT_DIR}/sources.list"
		log "apt: refreshing the private package lists in ${APT_DIR}"
		apt_private -q update >&2 || die "apt update failed (mirror ${mirror})"
		touch "${APT_DIR}/updated"
	fi
}

# The version of the fetched linux-source .deb (fails before the first
# fetch).
source_version() {
	local deb
	deb=$(ls "${MMCID_CACHE}/src"/linux-source-"${KERNEL_SERIES}"_*.deb 2>/dev/null | tail -1)
	[ -n "${deb}" ] && dpkg-deb -f "${deb}" Version
}

# kernel_tree FLAVOUR VERSION: where this checkout builds FLAVOUR ("v7.3",
# "pre-fix", "affinity-switchback", "failed-execve-fix", "bounded-cid-wait",
# "debug", "kcsan" or "gcov") of source VERSION, keyed by the version, the hash of what configures it (vng's
# version, scripts/trim.config and selftests/mmcid_rs/config) and, for
# another flavour, of its fragment (scripts/FLAVOUR.config) and its
# patches (patches/FLAVOUR/), whichever it has.
kernel_tree() {
	local key
	key=$({ echo "$2 v7.3 vng-${VIRTME_NG_VERSION}"
		cat "${MMCID_TOP}/scripts/trim.config" "${MMCID_TOP}/selftests/mmcid_rs/config"; } |
	      sha256sum | cut -c1-12)
	key=${MMCID_CACHE}/kernel/${2//[^A-Za-z0-9.+-]/_}-${key}
	if [ "$1" = v7.3 ]; then
		echo "${key}-v7.3"
		return
	fi
	echo "${key}-$({ flavour_fragment "$1" | xargs -r cat; flavour_patches "$1" | xargs -r cat; } |
		sha256sum | cut -c1-6)-$1"
}

# flavour_fragment FLAVOUR: the config fragment a debug flavour merges
# last (nothing for v7.3 and the patched flavours).
flavour_fragment() {
	case "$1" in
	debug|kcsan|gcov) echo "${MMCID_TOP}/scripts/$1.config" ;;
	*) return 1 ;;
	esac
}

# flavour_patches FLAVOUR: the patches FLAVOUR applies to the source, a
# path a line (nothing for v7.3, debug and kcsan).
flavour_patches() {
	[ "$1" != v7.3 ] && [ -d "${MMCID_TOP}/patches/$1" ] || return 0
	ls "${MMCID_TOP}/patches/$1"/*.patch
}

# kernel_dir FLAVOUR: this checkout's cached build of FLAVOUR (default
# v7.3), if it finished building.  Trees of other configurations in the
# cache (another checkout's) are never picked.
kernel_dir() {
	local v d
	v=$(source_version) || return 1
	d=$(kernel_tree "${1:-v7.3}" "${v}")
	[ -f "${d}/.mmcid-built" ] || return 1
	echo "${d}"
}

# How a patched kernel is built, by every script that builds one
# (build-kernel.sh's flavours, mutants.sh's mutants): in a copy of the
# built v7.3 tree, so that make rebuilds only what the patches touch, each
# patch applied with apply_patch, then kernel_make.  A flavour keeps its
# copy (the module is built against it); the mutants share one scratch
# copy and keep only a bzImage each (the module built against v7.3 loads
# on them): 56 copies of the 2.4 GiB tree would take 134 GiB.

# apply_patch TREE PATCH: apply PATCH to TREE if it applies cleanly (tried
# with --dry-run first: 1 and TREE unchanged when it does not), patch's
# words on stdout.
apply_patch() {
	patch -d "$1" -p1 --dry-run --quiet <"$2" || return 1
	patch -d "$1" -p1 --quiet --no-backup-if-mismatch <"$2" ||
		die "$2 applied with --dry-run but not for real to $1"
}

# kernel_make TREE LOG TARGET...: make TARGETs in TREE on every core with
# the output appended to LOG, and a progress line every 30 s; make's exit
# status.  KERNEL_MAKE_TICKER is the progress loop's pid while it runs,
# for a caller's exit trap.
KERNEL_MAKE_TICKER=
kernel_make() {
	local tree=$1 logf=$2 rc=0 t0=${SECONDS}
	shift 2
	(
		# A lock the caller holds stays with it, not with a stray sleep.
		[ -z "${HEAVY_FD:-}" ] || exec {HEAVY_FD}>&-
		while sleep 30; do
			log "  ... $((SECONDS - t0)) s, $(grep -c '^  [A-Z]' "${logf}" 2>/dev/null || true) build steps, last: $(grep '^  [A-Z]' "${logf}" | tail -1 | awk '{print $2}')"
		done
	) &
	KERNEL_MAKE_TICKER=$!
	make -C "${tree}" -j"$(nproc)" "$@" >>"${logf}" 2>&1 || rc=$?
	kill "${KERNEL_MAKE_TICKER}" 2>/dev/null || true
	wait "${KERNEL_MAKE_TICKER}" 2>/dev/null || true
	KERNEL_MAKE_TICKER=
	return "${rc}"
}

# upstream_result MUTANT_DIR_NAME: the result of the upstream rseq series
# (patches/upstream-rseq/) alone on one mutant's kernel, which
# scripts/upstream-rseq.sh --mutants writes and scripts/mutants.sh reads
# (scripts/mutant_results.py keys it).
upstream_result() {
	python3 "${MMCID_TOP}/scripts/mutant_results.py" --cache "${MMCID_CACHE}/mutants" upstream "$1"
}

# module_lines LOG: the module's kernel lines of a guest console log that
# say something is wrong (a finding, a live lock, a refused load), the
# last eight, each cut to 300 characters.
module_lines() {
	grep -aE '^\[ *[0-9]+\.[0-9]+\] mmcid_rs: ' "$1" | grep -avE '\] mmcid_rs: (loaded|unloaded|loading out-of-tree)' |
		tail -8 | cut -c1-300 || true
}

# ksft_failures OUT: each kselftest case of a harness output that failed,
# after what it printed on why (the harness's "# FILE.c:LINE:" lines, a
# timeout, a child's own words), the last twelve lines.
ksft_failures() {
	awk '/^#  RUN /{n=0; next}
	     /^# ([a-z_]+\.c:[0-9]+:|.*Test terminated|[a-z -]+ child: )/{why[++n]=$0; next}
	     /^not ok /{for (i = 1; i <= n; i++) print why[i]; print; n=0}' "$1" | tail -12
}
