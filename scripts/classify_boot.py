#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""What noticed a mutant, from one boot (scripts/mutants.sh).

Reads the console log a run-vng.sh boot of scripts/guest-mutant.sh wrote
(LOG) and run-vng.sh's own output (OUT), and prints key=value lines: the
status, first that applies, then its evidence and the module's report.

  module mismatch          a report key ending in "mismatches" is > 0, or a
                           finding traced or printed (the guest hung)
  fixup violation          a report key ending in "violations" is > 0
  live lock named          live_locks > 0 or "mmcid_rs: live lock"
  kselftest ABI assertion  a duplicate or out-of-range CID seen from rseq
  hang                     time or quiet limit, a hang detector, a panic
  splat                    another kernel report (scripts/splat.sh)
  module did not load      insmod failed
  no result                the guest did not finish the kselftest
  kselftest skipped        the kselftest skipped (exit 4)
  kselftest failed         any other kselftest failure
  survived                 nothing noticed it

What a splat and a hang are is scripts/splat.sh's, read from there.
Its tests: scripts/classify_boot_tests.py.
"""

import argparse
import os
import re
import subprocess
import sys

# A duplicate or out-of-range CID, as the kselftest words it.
ABI_RE = r"CID [0-9]+ seen by two running threads|CID [0-9]+ >= [0-9]+ possible CPUs"
KERNEL_LINE = re.compile(r"^\[ *[0-9]+\.[0-9]+\] ")
# The accelerator run-vng.sh names: "TCG", "TCG (single-threaded)", ...
ACCEL = re.compile(r".* under ([A-Z]*(?: \([a-z]*-threaded\))?) \(limit.*")


def splat_res(path=None):
    """(SPLAT_RE, HANG_RE) as scripts/splat.sh defines them."""
    path = path or os.path.join(os.path.dirname(os.path.abspath(__file__)), "splat.sh")
    out = subprocess.run(["sh", "-c", '. "$1"; printf "%s\\n%s" "$SPLAT_RE" "$HANG_RE"', "sh", path],
                         check=True, capture_output=True, text=True).stdout
    splat, hang = out.split("\n", 1)
    return splat, hang


def number(s):
    """awk's value of a field: its leading number, else 0."""
    m = re.match(r"\s*[-+]?[0-9]+", s or "")
    return int(m.group(0)) if m else 0


def fields(lines):
    """(key, value) of each non-empty "key value" line."""
    for line in lines:
        parts = line.split(None, 1)
        if parts:
            yield parts[0], (parts[1].strip() if len(parts) > 1 else "")


def first(lines, pred):
    return next((l for l in lines if pred(l)), None)


def oneline(s, n=400):
    return s.replace("\n", " ")[:n]


def classify(log, out, timeout, quiet, splat, hang):
    """The key=value lines of one boot, as a list."""
    guest = [l[len("guest| "):] for l in log if l.startswith("guest| ")]
    kern = [KERNEL_LINE.sub("", l, count=1) for l in log
            if KERNEL_LINE.match(l) and "virtme-ng-init:" not in l]
    report = [l[len("mutant-report: "):] for l in guest if l.startswith("mutant-report: ")]
    kv = list(fields(report))
    mism = sum(number(v) for k, v in kv if k.endswith("mismatches"))
    viol = sum(number(v) for k, v in kv if k.endswith("violations"))
    locks = next((v for k, v in kv if k == "live_locks"), "")
    tagged = lambda tag: [l[len(tag):] for l in guest if l.startswith(tag)]
    ksrc = (tagged("mutant-kselftest-rc=") or [""])[-1]
    insrc = (tagged("mutant-insmod-rc=") or [""])[-1]
    found = (tagged("mutant-mismatch: ") or [""])[0]
    search = lambda rx, lines: first(lines, lambda l: re.search(rx, l))
    printed = search(r"mmcid_rs: first finding since load: ", kern)

    if mism > 0:
        status, evidence = "module mismatch", found
    elif viol > 0:
        status, evidence = "fixup violation", found
    elif found:
        # The module traced findings in a test whose report a later test
        # reset: the trace instance kept them.
        status = "fixup violation" if found.startswith("fixup_violation:") else "module mismatch"
        evidence = found
    elif printed:
        # The guest hung before it could read the report; the module had
        # printed its first finding (deferred) before.
        evidence = printed[printed.index("mmcid_rs: first finding since load: "):]
        status = "module mismatch"
        if "invariant broken" in evidence and "differs:" not in evidence:
            status = "fixup violation"
    elif number(locks) > 0 or search(r"mmcid_rs: live lock", kern):
        status = "live lock named"
        evidence = search(r"mmcid_rs: live lock", kern) or (tagged("mutant-live-lock: ") or [""])[0]
    elif ksrc not in ("", "0") and search(ABI_RE, guest):
        status = "kselftest ABI assertion"
        evidence = "\n".join(m.group(0) for m in re.finditer(ABI_RE, search(ABI_RE, guest)))
    elif any("did not finish within" in l for l in out):
        status, evidence = "hang", f"no end within the {timeout} s limit"
    elif any("console silent" in l for l in out):
        status, evidence = "hang", f"console silent for {quiet} s"
    elif search(hang, kern):
        status, evidence = "hang", search(hang, kern)
    elif search(r"Kernel panic", kern) and not search(splat, kern):
        status, evidence = "hang", search(r"Kernel panic", kern)
    elif search(splat, kern):
        # A panic after an Oops (panic_on_oops=1) is the Oops's.
        status, evidence = "splat", search(splat, kern)
    elif insrc not in ("", "0"):
        status = "module did not load"
        evidence = (first(guest, lambda l: l.startswith("insmod: ")) or "") + " " + \
            (tagged("mutant-dmesg: ") or [""])[-1]
    elif ksrc == "":
        status = "no result"
        evidence = first(out, lambda l: l.startswith("warning: ")) or \
            "the guest did not finish the kselftest"
    elif ksrc == "4":
        status, evidence = "kselftest skipped", search(r"SKIP", guest) or ""
    elif ksrc != "0":
        status = "kselftest failed"
        # The harness's "file:line:test:Expected ..." and its TH_LOG line.
        i = next((i for i, l in enumerate(guest) if ":Expected " in l), None)
        evidence = ""
        if i is not None:
            evidence = "".join(re.sub(r"^# ", "", l) + " " for l in guest[i:i + 2])
        evidence = evidence or search(r"^not ok", guest) or ""
    else:
        status, evidence = "survived", ""

    lines = [f"status={status}", f"evidence={oneline(evidence)}",
             f"first_mismatch={oneline(found)}", f"insmod_rc={insrc}",
             f"kselftest_rc={ksrc}", f"live_locks={locks}"]
    for key in ("mismatches", "fork_exit_mismatches", "agreed", "agreed_fork_exit"):
        lines.append(f"{key}={next((v for k, v in kv if k == key), '')}")
    if report:
        lines.append(f"violations={viol}")
        nd = sum(number(v) for k, v in kv if k.startswith("raced_") or k == "op_too_many_users")
        lines.append(f"not_decided={nd}")
    lines += [f"report_{k}={v}" for k, v in kv]
    accel = [ACCEL.sub(r"\1", l) for l in out if ACCEL.match(l)]
    lines.append(f"accel={accel[-1] if accel else ''}")
    return lines


def read_lines(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read().splitlines()


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("log", help="the boot's console log (run-vng.sh --log)")
    ap.add_argument("out", help="run-vng.sh's output for the boot")
    ap.add_argument("--timeout", required=True, help="the boot's time limit, s")
    ap.add_argument("--quiet", required=True, help="the boot's quiet limit, s")
    a = ap.parse_args(argv)
    splat, hang = splat_res()
    for line in classify(read_lines(a.log), read_lines(a.out), a.timeout, a.quiet, splat, hang):
        print(line)


if __name__ == "__main__":
    main(sys.argv[1:])
