#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Bad input, with a count: every script argument, module parameter and
# debugfs write of docs/bad-input.md, each of which must end in a clear
# error (or, where the kernel decides, its own message) and leave nothing
# behind.  Prints the table and "N cases, N as expected"; fails if any
# case did not.  --record rewrites docs/bad-input.md from this run.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<EOF
Usage: $0 [--record] [--no-vm] [--case PATTERN CMD...]

  --record   rewrite docs/bad-input.md with this run's table
  --no-vm    only the host's cases (no guest boot)
  --case     try CMD alone: it must fail saying PATTERN (a test of this
             script: make test shows a command that succeeds is reported)
EOF
}

RECORD=0
VM=1
CASE=()
while [ $# -gt 0 ]; do
	case "$1" in
	--record) RECORD=1; shift ;;
	--no-vm) VM=0; shift ;;
	--case) shift; [ $# -ge 2 ] || die "--case wants PATTERN CMD..."; CASE=("$@"); break ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; die "unknown argument '$1'" ;;
	esac
done

ROWS=()
BAD=0
row() {
	ROWS+=("| $1 | $2 | $3 |")
	[ "$3" = ok ] || BAD=$((BAD + 1))
	printf '%-4s %s: %s\n' "$3" "$1" "$2" >&2
}

# refused PATTERN CMD...: CMD exits non-zero within 60 s, its first
# error line says PATTERN, and the tree has no new or changed file.
refused() {
	local want=$1 out rc=0 before after
	shift
	before=$(git -C "${MMCID_TOP}" status --porcelain --ignored | sort | md5sum)
	out=$(cd "${MMCID_TOP}" && timeout 60 "$@" </dev/null 2>&1) || rc=$?
	after=$(git -C "${MMCID_TOP}" status --porcelain --ignored | sort | md5sum)
	# The line that says it, else the first that looks like an error.
	out=$({ grep -m1 -- "${want}" <<<"${out}" ||
		grep -m1 -iE 'error|wants|unknown|not |usage|no such' <<<"${out}" ||
		tail -1 <<<"${out}"; } | cut -c1-150)
	local what="exit ${rc}: ${out//|/\\|}"
	if [ "${rc}" != 0 ] && [ "${rc}" != 124 ] && grep -q -- "${want}" <<<"${out}" &&
	   [ "${before}" = "${after}" ]; then
		row "\`$*\`" "${what}" ok
	else
		[ "${before}" = "${after}" ] || what+=" (changed the tree)"
		row "\`$*\`" "${what}" FAIL
	fi
}

if [ "${#CASE[@]}" -gt 0 ]; then
	refused "${CASE[@]}"
	[ "${BAD}" = 0 ]
	exit
fi

S=scripts
refused "from 1 to 63, not '0'" $S/run-vng.sh --cpus 0 -- true
refused "from 1 to 63, not '64'" $S/run-vng.sh --cpus 64 -- true
refused "from 1 to 64, not '65'" $S/run-vng.sh --no-watcher --cpus 65 -- true
refused "--grace wants a whole number" $S/run-vng.sh --grace soon -- true
refused "--possible wants a whole number from 5 to 64, not '4'" $S/run-vng.sh --possible 4 -- true
refused "not '4294967298'" $S/run-vng.sh --cpus 4294967298 -- true
refused "not 'zero'" $S/run-vng.sh --cpus zero -- true
refused "not '-3'" $S/run-vng.sh --timeout -3 -- true
refused "sage" $S/run-vng.sh --bogus
refused "nonexistent" $S/run-vng.sh --kernel /nonexistent -- true
# A kernel directory whose bzImage is not a kernel: the guest never boots.
NOT_A_KERNEL=${MMCID_CACHE}/bad-input/not-a-kernel
mkdir -p "${NOT_A_KERNEL}/arch/x86/boot"
head -c 4096 /dev/urandom >"${NOT_A_KERNEL}/arch/x86/boot/bzImage"
refused "without running the command" $S/run-vng.sh --kernel "${NOT_A_KERNEL}" --timeout 20 -- true
refused "not '0'" $S/run.sh --cpus 0
refused "from 1 to 100, not '101'" $S/run.sh --seconds 101
refused "not 'ten'" $S/run.sh --seconds ten
refused "sage" $S/run.sh --bogus
refused "unknown variant 'bogus' (want one of: v7.3, pre-fix" $S/run.sh --variant bogus
refused "from 1 to 63, not '64'" $S/run.sh --cpus 64
refused "--possible wants a whole number from 5 to 64, not '3'" $S/run.sh --possible 3
refused "--boot: /nonexistent/arch/x86/boot/bzImage does not exist" $S/run.sh --boot /nonexistent
refused "not '0'" $S/coverage.sh --cpus 0
refused "from 1 to 100, not '101'" $S/coverage.sh --seconds 101
refused "--before: 'nosuchrev' is not a commit" $S/coverage.sh --before nosuchrev
refused "sage" $S/coverage.sh --bogus
refused "--rwdir /nonexistent: not a directory" $S/run-vng.sh --rwdir /nonexistent -- true
refused "unknown flavour 'bogus'" $S/build-kernel.sh --flavour bogus
refused "needs a value" $S/build-kernel.sh --flavour
refused "not 'bogus'" $S/test.sh --only bogus
refused "not '0'" $S/reproduce.sh --boots 0
refused "not '0'" $S/reproduce.sh --stall-ms 0
refused "not '4,'" $S/mutants.sh --cpus 4,
refused "not ''" $S/mutants.sh --cpus 4,,8
refused "from 1 to 100, not '0'" $S/mutants.sh --seconds 0
refused "999" $S/mutants.sh --only 999
refused "not '0'" $S/bench-module.sh --rounds 0
refused "unknown --bench 'bogus'" $S/bench-module.sh --bench bogus
refused "--before /nonexistent.ko: no such file" $S/bench-module.sh --before /nonexistent.ko
refused "not a kernel module" $S/bench-module.sh --before $S/lib.sh
refused "--profile profiles pingpong, not --bench pipe" $S/bench-module.sh --profile --bench pipe
refused "Usage" $S/setup-deps.sh --bogus
refused "not 'x'" $S/bench-explorer.sh --runs x
refused "no such header" $S/bindgen.sh --header /nonexistent.h
refused "unknown argument" $S/bindgen.sh --bogus
refused "is not a directory" $S/check-kdir.sh /nonexistent/kernel
refused "is not a directory" make -s KDIR=/nonexistent/kernel module
refused "usage" $S/fingerprint.py --bogus

if [ "${VM}" = 1 ]; then
	KDIR=$("${MMCID_TOP}/scripts/build-kernel.sh" --print-dir) || die "no kernel built: run scripts/build-kernel.sh"
	[ -f "${MMCID_TOP}/mmcid-rs.ko" ] || make -s -C "${MMCID_TOP}" KDIR="${KDIR}" module || die "module build failed"
	make -s -C "${MMCID_TOP}/selftests/mmcid_rs" KSFT_DIR="${KDIR}/tools/testing/selftests" ||
		die "test programs failed to build"
	log "bad input: booting a guest for the module's parameters and debugfs files"
	guest=$(cd "${MMCID_TOP}" && scripts/run-vng.sh --kernel "${KDIR}" --timeout 300 -- ./scripts/guest-bad-input.sh 2>&1)
	n=0
	while IFS='|' read -r input got ok; do
		row "\`${input}\`" "${got}" "${ok}"
		n=$((n + 1))
	done < <(sed -n 's/^case|//p' <<<"${guest}")
	[ "${n}" -ge 30 ] || { tail -30 <<<"${guest}" >&2; row "guest cases" "only ${n} ran" FAIL; }
fi

TABLE=$(printf '| input | what happened | |\n|---|---|---|\n'; printf '%s\n' "${ROWS[@]}")
echo "${TABLE}"
SUMMARY="${#ROWS[@]} cases, $((${#ROWS[@]} - BAD)) as expected"
echo "${SUMMARY}"
if [ "${RECORD}" = 1 ]; then
	commit=$(commit_id)
	cat >"${MMCID_TOP}/docs/bad-input.md" <<EOF
# Bad input

Every input below was tried by \`scripts/bad-input.sh --record\`, which
wrote this file, on $(date -u '+%F %H:%M UTC'), commit ${commit},
$(machine_line).  Script arguments run on the host; module parameters
and debugfs writes in a guest (scripts/guest-bad-input.sh).  "ok": a
clear error (or the kernel's own message, for what the kernel parses),
nothing left behind (no module, no debugfs directory, no new or changed
file in the tree), no splat in dmesg.  \`make test\` runs the same cases.
The explorer's arguments are tested in explorer/tests/cli.rs.

${SUMMARY}.

${TABLE}

Not tried: a full disk during the kernel build.  A \`KDIR\` whose build
was interrupted is never handed out (build-kernel.sh marks a finished
tree with .mmcid-built); check-kdir.sh refuses a tree without a
Rust-enabled .config (a test of make test).
EOF
	log "wrote docs/bad-input.md"
fi
[ "${BAD}" = 0 ]
