#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# The mm_cid section's line and branch coverage from gcov, beside the
# model's branch table (scripts/coverage.sh runs it; docs/coverage.md is
# what it writes).  The section is every C function a "Mirrors `f()`" doc
# comment in model/ names (fingerprint.py's list, the version guard's),
# cut out of kernel/sched/core.c and kernel/sched/sched.h as the guard
# cuts it.  gcov's counts are by source line; an inline function of
# sched.h has one instance per caller, and a line or branch counts as
# reached when any instance reached it.

import argparse
import gzip
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fingerprint  # noqa: E402

SECTION_FILES = ["kernel/sched/sched.h", "kernel/sched/core.c"]

# The paths make run's workload does not time, each with the interleaving
# it needs, read off the C.  A path not checked and not here is printed
# as "not argued": a gap the doc must not hide.
RACES = {
    "fixup_cpu_curr_skip":
        "the walk back to per task mode (mm_cid_fixup_cpus_to_tasks()) finds a CPU that owns "
        "no CID running an active user whose CID is in transit: a user that switched in on that "
        "CPU after the mode flip and before the walk reached it (mm_cid_from_task() with "
        "MM_CID_TRANSIT).  The C takes it in make run (gcov: the in-transit side of the `cid != "
        "MM_CID_UNSET && !cid_in_transit(cid)` line), but a fork or exit check leaves out a CPU "
        "that switched during the call, so a check seldom decides it (once in a make run on 8 "
        "vCPUs, docs/measurements.md); the switch-in itself is checked by the switch check",
    "fixup_cpu_curr_unset":
        "the walk back to per task mode (mm_cid_fixup_cpus_to_tasks()) finds a CPU that owns "
        "no CID running an active user whose CID is MM_CID_UNSET: a user between "
        "sched_mm_cid_after_execve() in per CPU mode and its next schedule-in, on a CPU whose "
        "slot is empty, while another thread's exit switches the mm back (the walk-skip "
        "children build it)",
    "drop_on_cpu_none":
        "an exit that switches the mm back to per task mode on a CPU whose slot owns no CID: "
        "in per CPU mode a CPU running a user owns one from its schedule-in on, so the slot must "
        "have been emptied under the exiting task (the case 1e83ccd5921a fixed)",
    "get_cid_spin":
        "mm_get_cid() finds every CID below max_cids taken twice in a row: more holders than "
        "max_cids at once, the transient of a mode change under a fork storm (the live lock's "
        "precondition; on 7.3 the TRANSIT CIDs are given back within a walk)",
    "from_cpu_drop_task":
        "a switch-in in per CPU mode of a task that holds a task-owned CID on a CPU that owns "
        "one.  A walk to per CPU mode hands out CIDs in transit, so this needs a walk whose mode "
        "has no MM_CID_TRANSIT: the mm's last user exited in per CPU mode and left the mode at "
        "MM_CID_TRANSIT (sched_mm_cid_exit(): 'Ignore mode change'), a failed execve() made it "
        "a user again, and a later fork flips the mode to plain MM_CID_ONCPU while a task not "
        "walked yet switches in on a CPU a walked one owns (the explorer's random walks take "
        "it, explorer/tests/paths.rs)",
    "from_task_drop_cpu":
        "a switch-in in per task mode of a task that holds a task-owned CID on a CPU that still "
        "owns one: a task the walk back to per task mode gave a CID, migrated to a CPU the walk "
        "has not reached yet (mutant 17's precondition)",
}


# The lines of the section with a branch gcov saw not taken, or not run
# at all, each with why: keyed by function and the line's text (the
# version guard pins the C).  gcov lists an inline function's branches
# once per copy, and a macro's or bitop's own tests on the line they
# expand at; which edge was not taken was read off core.o (each gcov
# counter's `lock add` with the edge it counts) and the .gcno's blocks.
# "unreachable" cites the C that rules it out on 7.3, "compiler" is a
# test of a macro the compiler keeps but cannot take, "workload" is one a
# correct 7.3 can take and make run does not.  A line missing here is
# printed as **not argued**; ("f()", "*") argues every line of f().
LINES = {
    ("mm_update_cpus_allowed()", "if (mc->users >= mc->pcpu_thrs)"):
        "unreachable: its false side. pcpu_thrs was just computed <= min(nr_cpus_allowed, users) "
        "<= users (model path affinity_queue)",
    ("mm_update_cpus_allowed()", "if (mc->update_deferred)"):
        "unreachable: reached only by the false side of `users >= pcpu_thrs` (affinity_queued_twice)",
    ("mm_update_cpus_allowed()", "mc->update_deferred = true;"):
        "unreachable: as `if (mc->update_deferred)` (affinity_queue)",
    ("mm_update_cpus_allowed()", "irq_work_queue(&mc->irq_work);"):
        "unreachable: as `if (mc->update_deferred)` (affinity_queue)",
    ("mm_cid_transit_to_task()", "if (cid_on_cpu(t->mm_cid.cid)) {"):
        "unreachable: the copy inlined in sched_mm_cid_fork() never runs, a fork that switches "
        "the mm to per task mode (fork_to_task); the copies in the walk and the last user's exit "
        "take both sides",
    ("mm_cid_fixup_cpus_to_tasks()", "for_each_possible_cpu(cpu) {"):
        "compiler: find_next_bit()'s `bit < size` after `__ffs()` of a non-zero word, always "
        "below 64; the loop ends by its other edge",
    ("mm_cid_fixup_cpus_to_tasks()", "if (cid != MM_CID_UNSET && !cid_in_transit(cid)) {"):
        "unreachable: a plain task CID on a running user of a CPU that owns none in per CPU mode "
        "(fixup_cpu_curr_transit); both other sides, MM_CID_UNSET and in transit, are taken",
    ("mm_cid_fixup_cpus_to_tasks()", "rq->curr->mm_cid.cid = cid;"):
        "unreachable: as the `cid != MM_CID_UNSET` line (fixup_cpu_curr_transit)",
    ("mm_cid_fixup_cpus_to_tasks()", "pcp->cid = cid;"):
        "unreachable: as the `cid != MM_CID_UNSET` line (fixup_cpu_curr_transit)",
    ("mm_cid_fixup_tasks_to_cpus()", "static void mm_cid_fixup_tasks_to_cpus(void)"):
        "unreachable: the user list found empty at the loop's entry (gcov puts the block on the "
        "function's first line): its only caller, sched_mm_cid_fork(), has just added the child "
        "under mm_cid::mutex",
    ("mm_cid_fixup_tasks_to_cpus()", "hlist_for_each_entry(t, &mm->mm_cid.user_list, mm_cid.node) {"):
        "unreachable: as the function's first line, the list empty at the entry",
    ("sched_mm_cid_fork()", "WARN_ON_ONCE(t->mm_cid.cid != MM_CID_UNSET);"):
        "unreachable: the warning; dup_task_struct() and before_execve() leave MM_CID_UNSET "
        "(model path warn)",
    ("sched_mm_cid_fork()", "if (!percpu)"):
        "unreachable: a fork that switches the mm back to per task mode: adding a user never "
        "takes users below pcpu_thrs (fork_to_task)",
    ("sched_mm_cid_fork()", "if (percpu) {"):
        "unreachable: its else, as `if (!percpu)` (fork_to_task)",
    ("sched_mm_cid_fork()", "mm_cid_fixup_cpus_to_tasks(mm);"):
        "unreachable: as `if (!percpu)` (fork_to_task)",
    ("sched_mm_cid_fork()", "t->mm_cid.cid = mm_get_cid(mm);"):
        "unreachable: the line after the walk back, as `if (!percpu)` (fork_to_task)",
    ("__sched_mm_cid_exit()", "if (WARN_ON_ONCE(cid_on_cpu(mm->mm_cid.mode)))"):
        "unreachable: the warning; an exit that changes the mode lowers users, so it leaves per "
        "CPU mode (model path warn)",
    ("__sched_mm_cid_exit()", "if (WARN_ON_ONCE(current->mm != mm))"):
        "unreachable: the warning; both callers pass current, do_exit() and "
        "sched_mm_cid_before_execve(current)",
    ("__sched_mm_cid_exit()", "return false;"):
        "unreachable: the return after `WARN_ON_ONCE(current->mm != mm)`",
    ("sched_mm_cid_exit()", "if (!mm || !t->mm_cid.active)"):
        "`!t->mm_cid.active` unreachable: callers pass current, a user since sched_post_fork() "
        "or after_execve() (exit_inactive); `!mm` workload: a kernel thread's exit or "
        "kernel_execve(), outside the CID logic (the module's probes skip tasks without an mm)",
    ("sched_mm_cid_exit()", "if (t == current)"):
        "unreachable: its false side; both callers pass current",
    ("sched_mm_cid_after_execve()", "if (t->mm)"):
        "workload: its false side, a kernel thread's failed kernel_execve() (a usermode helper "
        "whose binary is missing), outside the CID logic",
    ("mm_cid_work_fn()", "*"):
        "unreachable: the work is scheduled only by the irq work that "
        "`irq_work_queue(&mc->irq_work)` queues, which does not run on 7.3 (work_nothing, "
        "work_to_task)",
    ("mm_init_cid()", "INIT_WORK(&mm->mm_cid.work, mm_cid_work_fn);"):
        "compiler: bitmap_zero()'s `small_const_nbits()` arm, in the same block; "
        "num_possible_cpus() is no constant (core.o calls memset())",
    ("mm_init_cid()", "INIT_HLIST_HEAD(&mm->mm_cid.user_list);"):
        "compiler: as the INIT_WORK() line",
    ("cid_on_cpu()", "return cid & MM_CID_ONCPU;"):
        "unreachable: the copies in mm_cid_work_fn() (never runs) and in __sched_mm_cid_exit()'s "
        "warning (true side); the copy in mm_update_max_cids() takes both",
    ("mm_drop_cid()", "clear_bit(cid, mm_cidmask(mm));"):
        "compiler: arch_clear_bit()'s `__builtin_constant_p(nr)` arm in each copy; one copy, the "
        "drop in mm_cid_from_cpu(), never runs: workload, as that function's "
        "`if (cid_on_cpu(cpu_cid))`",
    ("mm_unset_cid_on_task()", "t->mm_cid.cid = MM_CID_UNSET;"):
        "workload: the copy inlined in mm_cid_from_cpu()'s drop of a task CID, which never runs "
        "(as that function's `if (cid_on_cpu(cpu_cid))`)",
    ("mm_unset_cid_on_task()", "mm_drop_cid(t->mm, cid);"):
        "compiler: clear_bit()'s constant arm, as mm_drop_cid()",
    ("mm_drop_cid_on_cpu()", "pcp->cid = cpu_cid_to_cid(pcp->cid);"):
        "compiler: clear_bit()'s constant arm, as mm_drop_cid(); the `if` itself takes both "
        "sides",
    ("mm_drop_cid_on_cpu()", "if (cid_on_cpu(pcp->cid)) {"):
        "unreachable: the copy in mm_cid_from_task() re-reads the slot that was found ONCPU a "
        "line before, under the runqueue lock with interrupts off",
    ("__mm_get_cid()", "unsigned int cid = find_first_zero_bit(mm_cidmask(mm), max_cids);"):
        "compiler: find_first_zero_bit()'s `small_const_nbits()` arm; max_cids is no constant",
    ("__mm_get_cid()", "if (test_and_set_bit(cid, mm_cidmask(mm)))"):
        "workload: its true side, two CPUs' schedule-ins finding the same free bit at once; the "
        "model allocates atomically and does not count it",
    ("mm_cid_converge()", "if (likely(cid < max_cids))"):
        "unreachable: its true side; both callers call it after the same comparison with the "
        "same max_cids failed",
    ("mm_cid_from_cpu()", "if (cid_on_cpu(cpu_cid))"):
        "workload: its true side (model path from_cpu_drop_task, below)",
    ("mm_cid_from_task()", "mm_drop_cid_on_cpu(mm, this_cpu_ptr(mm->mm_cid.pcpu));"):
        "unreachable: the inlined `if` finding nothing to drop, as mm_drop_cid_on_cpu()'s",
}


def section(tree):
    """[(function, file, first line, last line)] of the mirrored functions."""
    out = []
    t = fingerprint.Tree(tree)
    for name in fingerprint.model_names():
        if not name.endswith("()"):
            continue
        for rel in SECTION_FILES:
            span = fingerprint.function_span(t.text(rel), name[:-2])
            if span:
                text = t.text(rel)
                first = text.count("\n", 0, span[0]) + 1
                out.append((name, rel, first, first + text.count("\n", *span)))
                break
    return out


def gcov_lines(paths):
    """{file: {line: (count, [taken per branch])}} over gcov JSON files,
    instances of a line merged."""
    files = {}
    for p in paths:
        with gzip.open(p, "rt") as f:
            data = json.load(f)
        for fl in data["files"]:
            lines = files.setdefault(os.path.normpath(fl["file"]), {})
            for ln in fl["lines"]:
                count, taken = lines.get(ln["line_number"], (0, []))
                br = [b["count"] > 0 for b in ln["branches"]]
                if len(br) > len(taken):
                    taken = taken + [False] * (len(br) - len(taken))
                taken = [t or (i < len(br) and br[i]) for i, t in enumerate(taken)]
                lines[ln["line_number"]] = (count + ln["count"], taken)
    return files


def model_paths():
    """{path name: function} from model/paths.rs: each enum arm's doc
    comment starts with the function it is a branch of."""
    with open(os.path.join(fingerprint.MODEL, "paths.rs"), encoding="utf-8") as f:
        text = f.read()
    func, fn = {}, None
    for line in text[text.index("pub enum Path {"):].splitlines():
        m = re.match(r"^    /// (\w+\(\)): ", line)
        if m:
            fn = m[1]
        m = re.match(r"^    (\w+),$", line)
        if m:
            func[m[1]] = fn
        if line == "}":
            break
    names = dict(re.findall(r"Path::(\w+) => \"(\w+)\",", text))
    return {names[v]: fn for v, fn in func.items() if v in names}


def read_counts(path):
    """{path name: count} and the unreachable names, from the lines a
    run printed ("# path_NAME N", the status's "unreachable on 7.3")."""
    counts, unreach = {}, set()
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = re.match(r"^# path_(\w+) (\d+)$", line)
            if m:
                counts[m[1]] = counts.get(m[1], 0) + int(m[2])
            m = re.match(r"^[# ]*unreachable on 7\.3 \(model/paths\.rs\):(.*)$", line)
            if m:
                unreach = set(m[1].split())
    return counts, unreach


def rate(n, of):
    return f"{n}/{of} ({100 * n // of}%)" if of else "0/0"


def table(tree, jsons, counts_file):
    files = gcov_lines(jsons)
    counts, unreach = read_counts(counts_file) if counts_file else ({}, set())
    paths = model_paths()
    rows, tot, argued = [], [0, 0, 0, 0, 0, 0], []
    src = fingerprint.Tree(tree)
    for name, rel, first, last in section(tree):
        lines = files.get(rel, {})
        here = {n: v for n, v in lines.items() if first <= n <= last}
        ex = sum(1 for c, _ in here.values() if c > 0)
        br = sum(len(t) for _, t in here.values())
        tk = sum(sum(t) for _, t in here.values())
        missed = [str(n) for n, (c, t) in sorted(here.items()) if c == 0 or not all(t)]
        text = src.text(rel).splitlines()
        for n in missed:
            line = text[int(n) - 1].strip()
            why = LINES.get((name, line)) or LINES.get((name, "*"))
            argued.append(f"`{rel.split('/')[-1]}:{n}` `{line}` ({name}): {why or '**not argued**'}")
        mine = [p for p, fn in paths.items() if fn == name and p not in unreach]
        mp = sum(1 for p in mine if counts.get(p, 0) > 0)
        m100 = sum(1 for p in mine if counts.get(p, 0) >= 100)
        for i, v in enumerate([ex, len(here), tk, br, mp, len(mine)]):
            tot[i] += v
        rows.append(f"| `{name}` | {rel.split('/')[-1]}:{first} | {rate(ex, len(here))} | "
                    f"{rate(tk, br)} | {rate(mp, len(mine)) if mine else '-'}"
                    f"{f', {m100} ≥100' if mine else ''} | {' '.join(missed)} |")
    out = ["| function | at | lines run | branches taken | model paths checked | "
           "lines with a branch not taken or not run |",
           "|---|---|---|---|---|---|"]
    out += rows
    out.append(f"| **all {len(rows)}** | | **{rate(tot[0], tot[1])}** | **{rate(tot[2], tot[3])}** | "
               f"**{rate(tot[4], tot[5])}** | |")
    missing = sorted(p for p in paths if p not in unreach and counts.get(p, 0) == 0)
    rare = sorted(f"{p} ({counts[p]})" for p in paths
                  if p not in unreach and 0 < counts.get(p, 0) < 100)
    summary = (f"lines {rate(tot[0], tot[1])}, branches {rate(tot[2], tot[3])}, "
               f"model paths {rate(tot[4], tot[5])}")
    return out, summary, missing, rare, sorted(unreach), argued


def main():
    p = argparse.ArgumentParser(description="The mm_cid section's gcov coverage beside the model's paths.")
    p.add_argument("--tree", required=True, help="the kernel tree the gcov JSON is of")
    p.add_argument("--counts", help="a run's output with its '# path_NAME N' lines")
    p.add_argument("--summary", action="store_true", help="print the one-line totals only")
    p.add_argument("json", nargs="+", help="gcov --json-format output (.gcov.json.gz)")
    a = p.parse_args()
    for j in a.json:
        if not os.path.isfile(j):
            fingerprint.usage_error(f"{j}: no such file")
    out, summary, missing, rare, unreach, argued = table(a.tree, a.json, a.counts)
    if a.summary:
        print(summary)
        return 0
    print("\n".join(out))
    print()
    print("- lines with a branch not taken or not run, each with why:")
    for line in argued:
        print(f"  - {line}")
    if a.counts:
        print()
        print(f"- model paths not checked: {', '.join(missing) or 'none'}")
        for m in missing:
            print(f"  - `{m}`: {RACES.get(m, '**not argued**')}")
        print(f"- model paths checked fewer than 100 times: {', '.join(rare) or 'none'}")
        print(f"- unreachable on 7.3 (argued in model/paths.rs): {', '.join(unreach) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
