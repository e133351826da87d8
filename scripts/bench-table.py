#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The table of several boots of scripts/guest-bench.sh.

Usage: bench-table.py OUTPUT...

Each OUTPUT is one boot's output: its table (for the unit and the row
labels) and its "mmcid_rs: bench: runs SETTING RATE..." lines, in the
table's row order.  Prints one table: per setting, the median of every
run of every boot; its change against the unloaded kernel, the median of
each round's ratio to the unloaded run of the same round (they ran side by
side, so the drift of a boot under TCG cancels out), over every boot and
boot by boot; and the range of the runs.
"""
import re
import statistics
import sys

RUNS = re.compile(r"^mmcid_rs: bench: runs (\S+) ?(.*)$")
HEADER = re.compile(r"^\| module \| (.*) \(median of (\d+) x (\d+) s")


def boot(path):
    """(unit, [(label, setting, [rates])], other bench lines) of one boot."""
    unit, labels, runs, notes = None, [], [], []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            h = HEADER.match(line)
            if h:
                unit = h.group(1)
            elif line.startswith("| ") and not line.startswith("| module"):
                labels.append(line.split("|")[1].strip())
            r = RUNS.match(line)
            if r:
                runs.append((r.group(1), [float(x) for x in r.group(2).split()]))
            elif line.startswith("mmcid_rs: bench: "):
                notes.append(line)
    if unit is None or len(labels) != len(runs) or not runs or runs[0][0] != "none":
        sys.exit(f"bench-table.py: {path}: no table with one runs line per row")
    for _, rates in runs:
        if not rates:
            sys.exit(f"bench-table.py: {path}: a setting without runs")
    return unit, [(l, s, r) for l, (s, r) in zip(labels, runs)], notes


def change(ratios):
    return f"{(statistics.median(ratios) - 1) * 100:+.1f}%"


def main(paths):
    if not paths:
        sys.exit(__doc__.strip())
    boots = [boot(p) for p in paths]
    unit = boots[0][0]
    rows = [(l, s) for l, s, _ in boots[0][1]]
    for u, r, _ in boots[1:]:
        if u != unit or [(l, s) for l, s, _ in r] != rows:
            sys.exit("bench-table.py: the boots ran different workloads or settings")
    # runs[setting][boot]: that boot's runs, round by round
    runs = {s: [dict((t, r) for _, t, r in b[1])[s] for b in boots] for _, s in rows}
    for s, rb in runs.items():
        if [len(r) for r in rb] != [len(r) for r in runs["none"]]:
            sys.exit(f"bench-table.py: {s} has another number of runs than the unloaded kernel")
    ratios = {s: [[x / y for x, y in zip(rb, nb)] for rb, nb in zip(runs[s], runs["none"])]
              for _, s in rows}
    n = len(runs["none"][0])
    print(f"| module | {unit} (median of {len(boots)} boots x {n} runs, settings in turn) "
          "| vs. unloaded | each boot | runs (min-max) |")
    print("|---|---|---|---|---|")
    for label, s in rows:
        every = [x for rb in runs[s] for x in rb]
        if s == "none":
            vs, each = "", ", ".join(f"{statistics.median(rb):.0f}" for rb in runs[s])
        else:
            vs = change([q for rb in ratios[s] for q in rb])
            each = ", ".join(change(rb) for rb in ratios[s])
        print(f"| {label} | {statistics.median(every):.0f} | {vs} | {each} | "
              f"{min(every):.0f}-{max(every):.0f} |")
    for note in boots[-1][2]:
        print(note)


if __name__ == "__main__":
    main(sys.argv[1:])
