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
        "MM_CID_TRANSIT), a window of one walk",
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
        "one: a task the walk to per CPU mode has not reached yet, migrated to a CPU it has",
    "from_task_drop_cpu":
        "a switch-in in per task mode of a task that holds a task-owned CID on a CPU that still "
        "owns one: a task the walk back to per task mode gave a CID, migrated to a CPU the walk "
        "has not reached yet (mutant 17's precondition)",
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
    rows, tot = [], [0, 0, 0, 0, 0, 0]
    for name, rel, first, last in section(tree):
        lines = files.get(rel, {})
        here = {n: v for n, v in lines.items() if first <= n <= last}
        ex = sum(1 for c, _ in here.values() if c > 0)
        br = sum(len(t) for _, t in here.values())
        tk = sum(sum(t) for _, t in here.values())
        missed = [str(n) for n, (c, t) in sorted(here.items()) if c == 0 or not all(t)]
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
    return out, summary, missing, rare, sorted(unreach)


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
    out, summary, missing, rare, unreach = table(a.tree, a.json, a.counts)
    if a.summary:
        print(summary)
        return 0
    print("\n".join(out))
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
