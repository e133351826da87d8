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

With --upstream-rseq LOG --control CONTROL --rc RC instead: a boot of
the upstream rseq series alone (scripts/upstream-rseq.sh --mutants),
against the control boot of 7.3, first that applies:

  hang                     a panic or a hang detector, or run-vng.sh's time
                           or quiet limit (exit 124 or 125)
  no result                no TAP totals
  splat                    the guest saw a kernel report
  rseq selftest failed     an assertion line the control does not print,
                           or other case verdicts than the control's
  survived                 nothing noticed it

and killed=1 for the first three that count.  --tap-cases LOG prints the
series' case verdicts of one boot, "name RESULT, ...".

What a splat and a hang are is scripts/splat.sh's, read from there.
Its tests: scripts/classify_boot_tests.py.
"""

import argparse
import os
import re
import signal
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


# The upstream series' statuses that kill a mutant (mutant_results.py
# counts them beside "survived").
UPSTREAM_KILLING = ("rseq selftest failed", "hang", "splat")
TAP_CASE = re.compile(r"^# (ok|not ok) [0-9]+ mm_cid\.([a-z_]+)(?: # (XFAIL|SKIP))?")
ASSERT = re.compile(r"^# # mm_cid_transition_test\.c:[0-9]+:")


def tap_cases(log):
    """The series' case verdicts of a console log: "name RESULT, ..."."""
    out = []
    for l in log:
        m = TAP_CASE.match(l)
        if m:
            out.append(f"{m.group(2)} {m.group(3) or ('PASS' if m.group(1) == 'ok' else 'FAIL')}")
    return ", ".join(out)


def asserts(log):
    """The series' assertion lines, without line numbers and the counts
    that end some, sorted, once each."""
    return sorted({re.sub(r" \([0-9]+\)$", "", ASSERT.sub("", l)) for l in log if ASSERT.match(l)})


def verdicts(log):
    """tap_cases, with failed_execve_during_transition's PASS or FAIL as
    "7.3's": it fails on 7.3 when the window is hit."""
    return re.sub(r"failed_execve_during_transition (PASS|FAIL)", "failed_execve_during_transition 7.3",
                  tap_cases(log))


def classify_upstream(log, control, rc, splat, hang):
    """The key=value lines of one boot of the upstream series alone on a
    mutant's kernel, against the CONTROL boot's on 7.3; RC is run-vng.sh's
    exit status."""
    hung = first(log, lambda l: re.search("Kernel panic|" + hang, l))
    if hung or rc in ("124", "125"):
        status = "hang"
        evidence = hung[:160] if hung else f"no output for 90 s (run-vng exit {rc})"
    elif not any(l.startswith("# # Totals:") for l in log):
        status, evidence = "no result", f"no TAP totals (run-vng exit {rc})"
    elif any("guest-upstream-rseq: kernel splat" in l for l in log):
        status = "splat"
        evidence = (first(log, lambda l: re.search(splat, l)) or "")[:160]
    else:
        seen = set(asserts(control))
        new = [a for a in asserts(log) if a not in seen]
        if new:
            status, evidence = "rseq selftest failed", new[0]
        elif verdicts(log) != verdicts(control):
            status, evidence = "rseq selftest failed", verdicts(log)
        else:
            status, evidence = "survived", ""
    return [f"status={status}", f"evidence={oneline(evidence)}",
            f"killed={int(status in UPSTREAM_KILLING)}"]


def read_lines(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read().splitlines()


def main(argv):
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("log", nargs="?", help="the boot's console log (run-vng.sh --log)")
    ap.add_argument("out", nargs="?", help="run-vng.sh's output for the boot")
    ap.add_argument("--timeout", help="the boot's time limit, s")
    ap.add_argument("--quiet", help="the boot's quiet limit, s")
    ap.add_argument("--upstream-rseq", metavar="LOG", help="a boot of the upstream series alone")
    ap.add_argument("--control", metavar="LOG", help="with --upstream-rseq: the control boot on 7.3")
    ap.add_argument("--rc", default="0", help="with --upstream-rseq: run-vng.sh's exit status")
    ap.add_argument("--tap-cases", metavar="LOG", help="print the series' case verdicts of a boot")
    a = ap.parse_args(argv)
    splat, hang = splat_res()
    if a.tap_cases:
        print(tap_cases(read_lines(a.tap_cases)))
        return
    if a.upstream_rseq:
        if not a.control:
            ap.error("--upstream-rseq needs --control")
        for line in classify_upstream(read_lines(a.upstream_rseq), read_lines(a.control), a.rc, splat, hang):
            print(line)
        return
    if not (a.log and a.out and a.timeout and a.quiet):
        ap.error("a mutant boot needs LOG, OUT, --timeout and --quiet")
    for line in classify(read_lines(a.log), read_lines(a.out), a.timeout, a.quiet, splat, hang):
        print(line)


if __name__ == "__main__":
    main(sys.argv[1:])
