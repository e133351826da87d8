#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Sort the KCSAN data races of a guest's console log (scripts/run-vng.sh
--log) into the module's (a frame in [mmcid_rs]), the kernel's mm_cid
code's (a top frame in it) and the rest of the kernel's, one line per
distinct race with its stacks' top frames and the guest phase
(scripts/guest-debug.sh races) it was seen in.  Exit status 1 when any race
is the module's: those must be fixed (docs/debug.md)."""

import argparse
import re
import sys

STAMP = re.compile(r"^\[ *\d+\.\d+\] ")
TITLE = re.compile(r"BUG: KCSAN: (data-race|assert: race)[^ ]* in (.*)$")
ACCESS = re.compile(r"^(read|write|read-write)( \(marked\))? to (\S+) of (\d+) bytes by (task \d+|interrupt) on cpu (\d+):")
UNKNOWN = re.compile(r"^race at unknown origin, with (.*) to (\S+) of (\d+) bytes by (task \d+|interrupt) on cpu (\d+):")
FRAME = re.compile(r"^ ?([A-Za-z0-9_.]+)\+0x[0-9a-f]+/0x[0-9a-f]+( \[(\w+)\])?")
PHASE = re.compile(r"mmcid_rs: debug: phase (\w+)")
# The mm_cid code of kernel/sched (7.3): its functions and the inline
# helpers whose names survive in a stack.
MM_CID = re.compile(r"mm_cid|mm_get_cid|mm_drop_cid|mm_update_cpus_allowed|cid_to_|cid_from_|"
                    r"mm_cidmask|rseq_sched_switch|sched_mm_cid")
TOP = 3


def reports(lines):
    """Yield (phase, lines of one report) from a console log."""
    phase = "boot"
    cur = None
    for raw in lines:
        line = STAMP.sub("", raw.rstrip("\n"))
        if not STAMP.match(raw):
            continue
        m = PHASE.search(line)
        if m:
            phase = m.group(1)
        if line.startswith("=" * 20):
            if cur is not None and cur[1]:
                yield cur
                cur = None
            else:
                cur = (phase, [])
            continue
        if cur is not None:
            cur[1].append(line)
    if cur is not None and cur[1]:
        yield cur


def parse(phase, lines):
    title = None
    stacks = []
    change = ""
    for line in lines:
        m = TITLE.search(line)
        if m and title is None:
            title = m.group(2)
            continue
        m = ACCESS.match(line) or UNKNOWN.match(line)
        if m:
            stacks.append({"what": line.rstrip(":"), "frames": [], "mods": set()})
            continue
        if line.startswith("value changed:"):
            change = line
            continue
        if line.startswith("Reported by"):
            break
        m = FRAME.match(line)
        if m and stacks:
            stacks[-1]["frames"].append(m.group(1))
            if m.group(3):
                stacks[-1]["mods"].add(m.group(3))
    if title is None:
        return None
    mods = set().union(*(s["mods"] for s in stacks)) if stacks else set()
    if "mmcid_rs" in mods:
        kind = "mmcid_rs"
    elif any(MM_CID.search(f) for s in stacks for f in s["frames"][:TOP]) or MM_CID.search(title):
        kind = "mm_cid"
    else:
        kind = "kernel"
    return {"title": title, "kind": kind, "phase": phase, "stacks": stacks, "change": change}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("log", nargs="+", help="console logs of KCSAN guests")
    args = ap.parse_args()
    races = {}
    total = 0
    for path in args.log:
        with open(path, errors="replace") as f:
            for phase, lines in reports(f):
                r = parse(phase, lines)
                if r is None:
                    continue
                total += 1
                key = (r["kind"], r["title"])
                if key not in races:
                    r["count"] = 0
                    r["phases"] = []
                    races[key] = r
                races[key]["count"] += 1
                if r["phase"] not in races[key]["phases"]:
                    races[key]["phases"].append(r["phase"])
    by = {k: [r for r in races.values() if r["kind"] == k] for k in ("mmcid_rs", "mm_cid", "kernel")}
    print(f"kcsan: {total} reports, {len(races)} distinct races: {len(by['mmcid_rs'])} in mmcid_rs, "
          f"{len(by['mm_cid'])} in the kernel's mm_cid code, {len(by['kernel'])} elsewhere in the kernel")
    for kind in ("mmcid_rs", "mm_cid", "kernel"):
        for r in sorted(by[kind], key=lambda r: r["title"]):
            print(f"[{kind}] data-race in {r['title']} (x{r['count']}; phase {', '.join(r['phases'])})")
            for s in r["stacks"]:
                print(f"    {s['what']}")
                print(f"        {' < '.join(s['frames'][:6])}")
            if r["change"]:
                print(f"    {r['change']}")
    return 1 if by["mmcid_rs"] else 0


if __name__ == "__main__":
    sys.exit(main())
