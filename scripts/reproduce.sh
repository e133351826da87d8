#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Reproduce the January 2026 live lock: boot 7.3 with the fix reverted
# (patches/pre-fix/), load mmcid_rs with its live lock watchdog, run the
# fork pattern, and report who named the hang first and when: the module
# (a CPU stuck in a context switch for stall_ms) or the kernel's RCU stall
# detector (timeout lowered to 3 s).  Then run the same on 7.3 as shipped,
# where the pattern must finish and nothing may be named.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

BOOTS=1
SECS=90
SECS_OK=20
STALL_MS=50
RCU_TIMEOUT=3
WATCHER=1
RECORD=0

usage() {
	cat <<EOF
Usage: $0 [--boots N] [--seconds S] [--stall-ms MS] [--no-watcher] [--record]

Per boot, a guest (multi-threaded TCG) runs selftests/mmcid_rs/fork_pattern
on 4 CPUs with mmcid_rs loaded, for at most S seconds on the pre-fix
kernel (default ${SECS}; it hangs within 25 s here) and ${SECS_OK} s on 7.3
(stall_ms=${STALL_MS}), and rcupdate.rcu_cpu_stall_timeout=${RCU_TIMEOUT}.
The guest has a fifth CPU, kept out of the pattern and of the scheduler's
domains (isolcpus=domain,4), whose timers still run when the live lock
has the four others spinning with interrupts off; --no-watcher boots 4.
A pre-fix boot is "reproduced" when the pattern stops making progress;
the guest is ended by the RCU stall panic, or after 15 s of console
silence when no CPU runs a detector any more.  --record appends every
boot's line and the summary to docs/measurements.md (command, date,
commit, machine).
EOF
}

ARGS="$*"
while [ $# -gt 0 ]; do
	case "$1" in
	--boots) BOOTS=${2:?}; shift 2 ;;
	--seconds) SECS=${2:?}; shift 2 ;;
	--stall-ms) STALL_MS=${2:?}; shift 2 ;;
	--no-watcher) WATCHER=0; shift ;;
	--record) RECORD=1; shift ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
need_number --boots "${BOOTS}" 1 1000
need_number --seconds "${SECS}" 1 3600
need_number --stall-ms "${STALL_MS}" 1 10000

t_start=${SECONDS}
"${MMCID_TOP}/scripts/setup-deps.sh"
"${MMCID_TOP}/scripts/build-kernel.sh" >/dev/null
"${MMCID_TOP}/scripts/build-kernel.sh" --flavour pre-fix >/dev/null
KDIR=$("${MMCID_TOP}/scripts/build-kernel.sh" --print-dir)
make -s -C "${MMCID_TOP}" KDIR="${KDIR}" module >/dev/null
make -s -C "${MMCID_TOP}/selftests/mmcid_rs" KSFT_DIR="${KDIR}/tools/testing/selftests"

# Kernel time stamp of the first console line matching $2 in log $1.
stamp() {
	sed -n "s/^\[ *\([0-9]*\.[0-9]*\)\] .*$2.*/\1/p" "$1" | head -1
}

# boot FLAVOUR VARIANT SECONDS: one line of "key=value" facts about the boot.
boot() {
	local out rc=0 log t0 named spun shape rcu soft rounds secs=$3
	local append="rcupdate.rcu_cpu_stall_timeout=${RCU_TIMEOUT}" vng=(--no-watcher)
	# Keep the guest after the live lock is named: the RCU stall and
	# soft lockup stamps below come later; silence or a panic ends it.
	[ "${WATCHER}" = 1 ] && vng=(--grace "$((secs + 60))")
	out=$("${MMCID_TOP}/scripts/run-vng.sh" --flavour "$1" --timeout $((secs + 60)) \
		--cpus 4 "${vng[@]}" --quiet-limit 15 --tcg-thread multi --append "${append}" -- \
		./scripts/guest-reproduce.sh --seconds "${secs}" --stall-ms "${STALL_MS}" \
		--variant "$2" 2>&1) || rc=$?
	log=$(echo "${out}" | sed -n 's/.*console log: //p' | tail -1)
	[ -f "${log}" ] || { echo "result=failed"; echo "${out}" | tail -5 >&2; return; }
	t0=$(stamp "${log}" 'mmcid_rs: the fork pattern starts')
	named=$(stamp "${log}" 'mmcid_rs: live lock:')
	spun=$(sed -n 's/.*mmcid_rs: live lock: .* for at least \([0-9]*\) ms .*/\1/p' "${log}" | head -1)
	shape=no
	grep -q 'mmcid_rs: .*shape: .*the live lock of the pre-fix variant' "${log}" && shape=yes
	rcu=$(stamp "${log}" 'rcu: INFO: .*detected stall')
	soft=$(stamp "${log}" 'soft lockup')
	rounds=$(echo "${out}" | sed -n 's/^fork_pattern: \([0-9]*\) rounds.*/\1/p' | tail -1)
	if [ "${rc}" = 0 ]; then
		echo "result=ok rounds=${rounds:-0} named=${named} log=${log}"
	elif [ -n "${t0}" ]; then
		echo "result=hung rounds=${rounds:-0} t0=${t0} named=${named} spun=${spun}" \
			"shape=${shape} rcu=${rcu} soft=${soft} log=${log}"
	else
		echo "result=failed log=${log}"
	fi
}

# field KEY LINE
field() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
# after T0 T: "+X.XXX s"
after() { awk -v a="$1" -v b="$2" 'BEGIN { printf "+%.3f s", b - a }'; }
# delay T0 T: T - T0 in seconds
delay() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
# median_worst UNIT VALUE...: "| median | worst |" cells of the values
median_worst() {
	local unit=$1
	shift
	printf '%s\n' "$@" | sort -g | awk -v u="${unit}" '{ a[NR] = $1 }
		END { printf "| %s %s | %s %s |", a[int((NR + 1) / 2)], u, a[NR], u }'
}

# boot_once FLAVOUR VARIANT: boot, and once more if the guest never got
# as far as the pattern (multi-threaded TCG rarely hangs early in boot).
boot_once() {
	local r
	r=$(boot "$@")
	if [ "$(field result "${r}")" = failed ]; then
		warn "$1 boot never started the pattern ($(field log "${r}")); booting once more"
		r=$(boot "$@")
	fi
	echo "${r}"
}

reproduced=0 named=0 confirmed=0 spins=() lines=() to_named=() to_rcu=()
for ((i = 1; i <= BOOTS; i++)); do
	r=$(boot_once pre-fix pre-fix "${SECS}")
	log "pre-fix boot ${i}: ${r}"
	if [ "$(field result "${r}")" != hung ]; then
		lines+=("not reproduced: pre-fix boot ${i}: ${r}")
		echo "${lines[-1]}"
		continue
	fi
	reproduced=$((reproduced + 1))
	t0=$(field t0 "${r}")
	msg="reproduced: pre-fix boot ${i} hung after $(field rounds "${r}") rounds"
	if [ -n "$(field named "${r}")" ]; then
		named=$((named + 1))
		spins+=("$(field spun "${r}")")
		to_named+=("$(delay "${t0}" "$(field named "${r}")")")
		msg+="; mmcid_rs named the live lock at $(after "${t0}" "$(field named "${r}")")"
		msg+=" (CPU had spun at least $(field spun "${r}") ms; pre-fix shape: $(field shape "${r}"))"
	else
		msg+="; mmcid_rs named nothing"
	fi
	if [ -n "$(field rcu "${r}")" ]; then
		confirmed=$((confirmed + 1))
		msg+="; RCU stall detector at $(after "${t0}" "$(field rcu "${r}")")"
		if [ -n "$(field named "${r}")" ]; then
			to_rcu+=("$(delay "$(field named "${r}")" "$(field rcu "${r}")")")
		fi
	else
		msg+="; RCU stall detector silent (no CPU took interrupts)"
	fi
	if [ -n "$(field soft "${r}")" ]; then
		msg+="; soft lockup at $(after "${t0}" "$(field soft "${r}")")"
	fi
	lines+=("${msg}")
	echo "${msg}"
done

r=$(boot_once v7.3 v7.3 "${SECS_OK}")
log "v7.3 boot: ${r}"
ok=no
[ "$(field result "${r}")" = ok ] && [ -z "$(field named "${r}")" ] && ok=yes
stats=
if [ "${#spins[@]}" -gt 0 ]; then
	stats=$(printf '%s\n' "${spins[@]}" | sort -n | awk '{ a[NR] = $1 }
		END { printf " (spin when named: median %d ms, worst %d ms)", a[int((NR + 1) / 2)], a[NR] }')
fi
lines+=("mmcid_rs: live lock reproduced in ${reproduced}/${BOOTS} pre-fix boots, named by mmcid_rs in ${named}${stats}, confirmed by the RCU stall detector in ${confirmed}; 7.3: $(field result "${r}") after $(field rounds "${r}") rounds, nothing named: ${ok}")
echo "${lines[-1]}"
lines+=("wall time: $((SECONDS - t_start)) s, setup and builds included")
echo "${lines[-1]}"
if [ "${#spins[@]}" -gt 0 ]; then
	first=${#lines[@]}
	lines+=("" "| pre-fix boots where mmcid_rs named the live lock | median | worst |" "|---|---|---|")
	lines+=("| the watchdog's first sight of the spinning switch to its report (\"at least\") $(median_worst ms "${spins[@]}")")
	lines+=("| pattern start to the module's report $(median_worst s "${to_named[@]}")")
	if [ "${#to_rcu[@]}" -gt 0 ]; then
		lines+=("| the module's report to the RCU stall report (timeout ${RCU_TIMEOUT} s) $(median_worst s "${to_rcu[@]}")")
	fi
	printf '%s\n' "${lines[@]:first}"
fi
if [ "${RECORD}" = 1 ]; then
	record_measurement "The live lock reproduced, ${BOOTS} pre-fix boots and one of 7.3" \
		"scripts/reproduce.sh ${ARGS}" "$(printf '%s\n' "${lines[@]}")"
fi
[ "${reproduced}" = "${BOOTS}" ] && [ "${named}" = "${BOOTS}" ] && [ "${ok}" = yes ]
