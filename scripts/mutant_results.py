#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The mutants, their cached kernels and results, and the tables
(scripts/mutants.sh).

mutants.sh builds and boots; everything it knows about what a mutant is,
which cached build or boot still counts, what killed a mutant and how the
tables read is here, in one place:

  shell-vars   the selected mutants as bash arrays, for mutants.sh to eval
  result       the path of one boot's result file
  valid        exit 0 if a result file still counts (made on this v7.3
               build, and with something to say)
  built        a mutant kernel's state: ok, build failed, does not apply,
               or nothing (not built from this v7.3 build)
  upstream     the path of the upstream rseq series' result on a mutant
  upstream-tally  how many of the selected mutants the series alone killed
  needs        the vCPUs a mutant needs (0: any number)
  table        the terminal table and its summary; --write-doc also
               writes docs/mutants.md

Cache layout (under --cache, ${MMCID_CACHE}/mutants):
  <name>-<patch sha256, 12>/         a mutant's kernel: base, build-seconds,
                                     arch/x86/boot/bzImage or build-failed
  results/<name>-<patch>-ko<module>-<N>cpus-<S>s[-stop]
                                     one boot, key=value (classify_boot.py)
  upstream/<name>-<patch>-series<h>  the upstream rseq series alone
Its tests: scripts/mutant_results_tests.py.
"""

import argparse
import glob
import hashlib
import os
import re
import shlex
import signal
import subprocess
import sys
from dataclasses import dataclass, field

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import classify_boot  # noqa: E402

# Statuses that kill a mutant, and those of them that the module names.
KILLING = ("module mismatch", "fixup violation", "live lock named",
           "kselftest ABI assertion", "hang", "splat", "kselftest failed")
BY_MODULE = ("module mismatch", "fixup violation", "live lock named")
# Statuses of the upstream series alone that kill a mutant, and those
# that count (upstream-rseq.sh; classify_boot.py decides them).
UPSTREAM_KILLING = classify_boot.UPSTREAM_KILLING
UPSTREAM_COUNTED = UPSTREAM_KILLING + ("survived",)
# Every mutant touches these; a patch may add others.
TOUCHED = ["kernel/sched/core.c", "kernel/sched/sched.h", "include/linux/rseq_types.h"]
BUILD_FAILED = ("build failed", "does not apply")


class Refused(Exception):
    """Bad input: the message says what and what is wanted."""


def sha12(data):
    return hashlib.sha256(data).hexdigest()[:12]


def file_sha12(path):
    with open(path, "rb") as f:
        return sha12(f.read())


def oneline(s, n):
    """The shell's `tr '\\n' ' ' | cut -c1-N` of printf '%s' S."""
    return s.replace("\n", " ")[:n]


def ratio(k, n):
    """"K/N (P%)"."""
    return f"{k}/{n} ({100 * k // n}%)" if n > 0 else f"{k}/{n}"


def read_kv(path):
    """A key=value file as a dict (the first value of each key); {} if absent.
    A console line's carriage returns are dropped: they are not text."""
    kv = {}
    try:
        with open(path, encoding="utf-8", errors="replace", newline="\n") as f:
            for line in f:
                k, sep, v = line.rstrip("\n").partition("=")
                if sep and k not in kv:
                    kv[k] = v.replace("\r", "")
    except FileNotFoundError:
        pass
    return kv


def read_text(path, default=""):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read().strip()
    except FileNotFoundError:
        return default


@dataclass
class Mutant:
    name: str
    file: str
    hash: str
    func: str
    what: str
    needs: int = 0
    equiv: str = ""
    touches: list = field(default_factory=list)

    @property
    def key(self):
        return f"{self.name}-{self.hash}"


def read_mutant(path):
    """A patch's header ("# <C function>: <what it breaks>", optionally
    "# needs: N cpus" and "# equivalent: why") and the files it patches."""
    func = what = equiv = ""
    needs = "0"
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    for line in text.split("\n"):
        if line.startswith("# needs: "):
            needs = line[len("# needs: "):].split(" ", 1)[0]
        elif line.startswith("# equivalent: "):
            equiv = line[len("# equivalent: "):]
        elif line.startswith("#"):
            if not func:
                line = line[1:]
                line = line[1:] if line.startswith(" ") else line
                func, _, what = line.partition(":")
                what = what[1:] if what.startswith(" ") else what
                if not _:
                    what = func
        else:
            break
    if not func or func == what:
        raise Refused(f"{path}: no header; the first line must be '# <C function>: <what it breaks>'")
    if not re.fullmatch(r"[0-9]+", needs):
        raise Refused(f"{path}: bad '# needs:' line; want '# needs: 8 cpus'")
    touches = [m.split("/", 1)[1] if "/" in m else m
               for m in re.findall(r"^\+\+\+ ([^\t \n]*)", text, re.M)]
    if not touches:
        raise Refused(f"{path}: no unified diff after the header")
    name = os.path.basename(path)[:-len(".patch")]
    return Mutant(name, path, file_sha12(path), func, what,
                  int(needs), equiv, touches)


def read_mutants(directory, only=()):
    """Every NN-name.patch of DIRECTORY, and the indexes --only selects
    (a file stem or its number)."""
    ms = [read_mutant(p) for p in sorted(glob.glob(os.path.join(directory, "[0-9]*.patch")))]
    if not ms:
        raise Refused(f"no mutants in {directory} (want NN-name.patch files)")

    def picked(m, o):
        return o in (m.name, m.name.split("-", 1)[0])
    for o in only:
        if not any(picked(m, o) for m in ms):
            raise Refused(f"--only {o}: no such mutant in {directory}")
    sel = [i for i, m in enumerate(ms) if not only or any(picked(m, o) for o in only)]
    return ms, sel


def touched(ms):
    """What a mutant may leave applied in the scratch tree: TOUCHED and
    every file a patch names, once each."""
    out = list(TOUCHED)
    for m in ms:
        out += [t for t in m.touches if t not in out]
    return out


@dataclass
class Run:
    """One run's settings: where the cache is, which v7.3 build, the
    modules (hash, label), the vCPU counts, the seconds per boot."""
    cache: str
    base: str = ""
    kos: list = field(default_factory=list)
    cpus: list = field(default_factory=list)
    seconds: int = 10
    stop: bool = False
    control: str = ""

    def result(self, name, patch, ko, cpus):
        stop = "-stop" if self.stop else ""
        return os.path.join(self.cache, "results", f"{name}-{patch}-ko{ko}-{cpus}cpus-{self.seconds}s{stop}")

    def made_here(self, kv):
        return not self.base or kv.get("base") == self.base

    def valid(self, path):
        """A result counts when it was made on the current v7.3 build and
        ended with something to say; "no result" (the guest died early,
        for no reason the console shows) is tried again."""
        if not os.path.isfile(path):
            return False
        kv = read_kv(path)
        return kv.get("status") != "no result" and self.made_here(kv)

    def mutant_dir(self, m):
        return os.path.join(self.cache, m.key)

    def built(self, m):
        """"ok", "build failed" or "does not apply" for a kernel built from
        the current v7.3 build, else ""."""
        d = self.mutant_dir(m)
        if self.base and read_text(os.path.join(d, "base")) != self.base:
            return ""
        failed = os.path.join(d, "build-failed")
        if os.path.isfile(failed):
            return "does not apply" if read_text(failed) == "does not apply" else "build failed"
        return "ok" if os.path.isfile(os.path.join(d, "arch/x86/boot/bzImage")) else ""

    def cell(self, m, ko, cpus):
        """What killed mutant M with module KO on CPUS vCPUs, if anything."""
        b = self.built(m)
        if b and b != "ok":
            return b
        if cpus < m.needs:
            return f"needs {m.needs} cpus"
        res = self.result(m.name, m.hash, ko, cpus)
        if os.path.isfile(res):
            kv = read_kv(res)
            if self.made_here(kv):
                return kv.get("status", "")
        return "not run"

    def col_name(self, label, cpus):
        return f"{cpus} cpus" if len(self.kos) == 1 else f"{label}, {cpus} cpus"

    def columns(self):
        return [(ko, label, c) for ko, label in self.kos for c in self.cpus]


def num(s):
    return int(s) if s and re.fullmatch(r"-?[0-9]+", s) else 0


def collect(run, ms, sel):
    """The table's rows (lists of fields) and its summary lines."""
    rows, summary = [], []
    nonequiv, kil, bymod = {}, {}, {}
    total = equiv = equiv_killed = failed = notrun = 0
    for i in sel:
        m = ms[i]
        d = run.mutant_dir(m)
        secs = num(read_text(os.path.join(d, "build-seconds"), "0"))
        first = evid = ""
        row = [m.name, m.func + (" (equivalent)" if m.equiv else "")]
        if run.built(m) in BUILD_FAILED:
            failed += 1
        nrun = 0
        for ko, _ in run.kos:
            killed = mod = n = 0
            for c in run.cpus:
                st = run.cell(m, ko, c)
                row.append(st)
                if st in KILLING or st == "survived":
                    kv = read_kv(run.result(m.name, m.hash, ko, c))
                    n = 1
                    secs += num(kv.get("boot_seconds"))
                    first = first or kv.get("first_mismatch", "")
                    evid = evid or kv.get("evidence", "")
                killed |= st in KILLING
                mod |= st in BY_MODULE
            nrun += n
            if m.equiv:
                equiv_killed += killed
            elif n:
                nonequiv[ko] = nonequiv.get(ko, 0) + 1
                kil[ko] = kil.get(ko, 0) + killed
                bymod[ko] = bymod.get(ko, 0) + mod
        equiv += bool(m.equiv)
        if nrun == 0 and not os.path.isfile(os.path.join(d, "build-failed")):
            notrun += 1
        total += secs
        row += [f"{secs} s", first or evid]
        rows.append(row)
    for ko, label in run.kos:
        ne, kk, bm = nonequiv.get(ko, 0), kil.get(ko, 0), bymod.get(ko, 0)
        summary.append(f"kill rate (module {label}): {ratio(kk, ne)} non-equivalent mutants killed, "
                       f"{ratio(bm, ne)} by the module itself (mismatch, violation or live lock named)")
    summary.append(f"equivalent (argued in their patch, not counted): {equiv}, killed anyway: {equiv_killed}; "
                   f"build failed or does not apply (not counted): {failed}; not run yet: {notrun}")
    ctl = 0
    if run.control:
        for ko, _, c in run.columns():
            res = run.result("control", run.control, ko, c)
            if run.valid(res):
                ctl += num(read_kv(res).get("boot_seconds"))
    summary.append(f"time: {total} s for these mutants and {ctl} s for the control, {total + ctl} s in all "
                   "(builds and boots, as recorded when each ran)")
    return rows, summary


def upstream_series_hash(top):
    """The key of the upstream rseq series' results: its patches, not
    its cover letter (lib.sh's upstream_result)."""
    data = b""
    series = os.path.join(top, "patches", "upstream-rseq")
    for p in sorted(glob.glob(os.path.join(series, "0[0-9][0-9][1-9]-*.patch"))):
        with open(p, "rb") as f:
            data += f.read()
    return sha12(data)


def upstream_result(cache, key, series):
    """The result of the upstream rseq series alone on mutant KEY
    (name-patch), which upstream-rseq.sh --mutants writes."""
    return os.path.join(cache, "upstream", f"{key}-series{series}")


def collect_upstream(run, ms, sel, series):
    """The upstream rseq series alone on each mutant, beside whether the
    module itself killed it in any column: Markdown rows and a summary,
    both empty without results."""
    rows, by, n, seen = [], {(1, 1): 0, (1, 0): 0, (0, 1): 0, (0, 0): 0}, 0, False
    for i in sel:
        m = ms[i]
        res = upstream_result(run.cache, m.key, series)
        up, ev = "not run", ""
        if os.path.isfile(res):
            kv = read_kv(res)
            up = kv.get("status", "")
            ev = oneline(kv.get("evidence", "") + "\n", 120)
            ev = ev[:-1] if ev.endswith(" ") else ev
            seen = True
        mod = int(any(run.cell(m, ko, c) in BY_MODULE for ko, _, c in run.columns()))
        code = "`" + ev.replace("|", "\\|") + "`" if ev else ""
        rows.append(f"| {m.name} | {up} | {'yes' if mod else 'no'} | {code} |")
        if m.equiv or up not in UPSTREAM_COUNTED:
            continue
        n += 1
        by[(mod, int(up != "survived"))] += 1
    if not seen:
        return [], []
    return rows, [f"kill rate (the upstream rseq selftest alone, no module): "
                  f"{ratio(by[(1, 1)] + by[(0, 1)], n)} of the non-equivalent mutants it ran on; "
                  f"the module itself: {ratio(by[(1, 1)] + by[(1, 0)], n)}; both: {by[(1, 1)]}, "
                  f"only the module: {by[(1, 0)]}, only the selftest: {by[(0, 1)]}, neither: {by[(0, 0)]}"]


def upstream_tally(run, ms, sel, series):
    """How many of the selected mutants the upstream series alone killed."""
    killed = sum(read_kv(upstream_result(run.cache, ms[i].key, series)).get("status") in UPSTREAM_KILLING
                 for i in sel)
    return f"killed by the rseq selftest alone: {killed} of {len(sel)}"


def header(run):
    return (["mutant", "function"] + [run.col_name(label, c) for _, label, c in run.columns()]
            + ["time", "first mismatch (or evidence)"])


def terminal_table(run, rows, summary, up_summary):
    """Columns padded to their widest cell; the last cut to 100 characters."""
    h = header(run)
    w = [max(len(r[i]) for r in [h] + rows) for i in range(len(h) - 1)]
    out = []
    for r in [h] + rows:
        out.append("".join(f"{r[i]:<{w[i]}}  " for i in range(len(h) - 1)) + oneline(r[-1], 100))
    return out + summary + up_summary


def detail_row(name, kv):
    """A row of the per-boot table; "-" where the guest did not get as far
    as saying it."""
    def dv(k):
        return kv.get(k) or "-"
    return (f"| {name} | {dv('label')} | {dv('cpus')} | {dv('status')} | "
            f"{dv('mismatches')} / {dv('fork_exit_mismatches')} | {dv('violations')} | "
            f"{dv('live_locks')} | {dv('not_decided')} | {dv('agreed')} / {dv('agreed_fork_exit')} | "
            f"{dv('kselftest_rc')} | {dv('boot_seconds')} s |")


@dataclass
class DocInfo:
    """What docs/mutants.md says of the run beside the results."""
    command: str
    date: str
    commit: str
    machine: str
    kernel: str
    timeout: int
    quiet: int


def doc(run, ms, sel, rows, summary, up_rows, up_summary, info):
    """docs/mutants.md."""
    details, accels = [], []
    for ko, _, c in run.columns():
        res = run.result("control", run.control, ko, c)
        if run.valid(res):
            kv = read_kv(res)
            details.append(detail_row("v7.3 (control)", kv))
            accels.append(kv.get("accel", ""))
    for i in sel:
        for ko, _, c in run.columns():
            res = run.result(ms[i].name, ms[i].hash, ko, c)
            if run.valid(res):
                kv = read_kv(res)
                details.append(detail_row(ms[i].name, kv))
                accels.append(kv.get("accel", ""))
    accel = ",".join(sorted(set(a for a in accels if a)))
    stop = ", ended at the module's first finding (--stop-at-finding)" if run.stop else ""
    out = ["# Mutants of the 7.3 mm_cid code, and what noticed them", "",
           "Written by `scripts/mutants.sh`; do not edit by hand, run it again.", "",
           f"- command: `{info.command}`", f"- date: {info.date}", f"- commit: {info.commit}",
           f"- machine: {info.machine}, guests under {accel or '?'}",
           f"- kernel: {info.kernel} with each patch of `patches/mutants/` applied"]
    out += [f"- module {label}: sha256 {ko}, loaded with `variant=v7.3`" for ko, label in run.kos]
    out += [f"- per boot: the kselftest for {run.seconds} s{stop}; limits {info.timeout} s, "
            f"console silent {info.quiet} s", "",
            "Each boot is classified by the first that applies: module mismatch, fixup",
            "violation, live lock named (these three are the module's), kselftest ABI",
            "assertion (a duplicate or out-of-range CID seen from rseq), hang, splat,",
            "kselftest failed, survived.  The control, 7.3 as shipped, came out survived",
            "with no mismatch.", ""]
    h = header(run)
    out.append("|" + "".join(f" {x} |" for x in h))
    out.append("|" + "---|" * len(h))
    for r in rows:
        ev = oneline(r[-1], 160)
        last = " `" + ev.replace("|", "\\|") + "` |" if ev else "  |"
        out.append("|" + "".join(f" {x} |" for x in r[:-1]) + last)
    out.append("")
    for s in summary:
        out += [s, ""]
    out += ["What each mutant breaks, as its patch says:", ""]
    for i in sel:
        out.append(f"- `{ms[i].name}` (`{ms[i].func}`): {ms[i].what}")
        if ms[i].equiv:
            out.append(f"  Equivalent: {ms[i].equiv}")
    out.append("")
    if up_summary:
        out += ["## The upstream rseq selftest alone", "",
                "`scripts/upstream-rseq.sh --mutants`: each mutant's kernel booted with",
                "`mm_cid_transition_test` of `patches/upstream-rseq/` and no module (4 of 8",
                "possible vCPUs), killed when it hangs, splats, or prints an assertion or a",
                "case verdict that 7.3 itself does not; the module column says whether the",
                "module's mismatch, violation or live lock named it above.", ""]
        for s in up_summary:
            out += [s, ""]
        out += ["| mutant | rseq selftest alone | module | evidence |", "|---|---|---|---|"]
        out += up_rows
        out.append("")
    out += ["Every boot: mismatches (switches / forks and exits), invariant violations, live",
            "locks named, not decided, agreed (switches / forks and exits), the",
            "kselftest's exit status and the boot's wall time.", "",
            "| mutant | module | cpus | status | mismatches | violations | live locks | not decided | agreed | kselftest | boot |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    return out + details


def commit_id(top):
    """lib.sh's commit_id: the commit, "-dirty" for changes outside docs/."""
    try:
        c = subprocess.run(["git", "-C", top, "describe", "--always", "--abbrev=12"],
                           capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    clean = subprocess.run(["git", "-C", top, "diff", "--quiet", "HEAD", "--", ".", ":(exclude)docs"]).returncode
    return c if clean == 0 else c + "-dirty"


def machine():
    with open("/proc/meminfo") as f:
        kb = next(int(l.split()[1]) for l in f if l.startswith("MemTotal:"))
    return f"{len(os.sched_getaffinity(0))} cores, {kb / 1048576:.0f} GiB"


def shell_vars(ms, sel):
    """Bash assignments of the mutants' arrays, for mutants.sh to eval."""
    def arr(name, vals):
        return f"{name}=(" + " ".join(shlex.quote(str(v)) for v in vals) + ")"
    return "\n".join([
        arr("M_NAME", [m.name for m in ms]), arr("M_FILE", [m.file for m in ms]),
        arr("M_HASH", [m.hash for m in ms]), arr("M_FUNC", [m.func for m in ms]),
        arr("M_NEEDS", [m.needs for m in ms]),
        arr("TOUCHED", touched(ms)), arr("SEL", sel)])


def cpu_list(s):
    parts = s.split(",")
    if not all(re.fullmatch(r"[1-9][0-9]*", p) for p in parts):
        raise Refused(f"--cpus wants a comma-separated list of vCPU counts, not '{s}'")
    return [int(p) for p in parts]


def ko_pair(s):
    ko, sep, label = s.partition("=")
    if not sep or not re.fullmatch(r"[0-9a-f]{12}", ko):
        raise Refused(f"--ko wants HASH=LABEL (a 12-digit sha256 prefix), not '{s}'")
    return ko, label


def main(argv):
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", default=os.path.join(os.environ.get(
        "MMCID_CACHE", os.path.expanduser("~/.cache/mmcid-rs")), "mutants"))
    ap.add_argument("--dir", default=os.path.join(top, "patches/mutants"))
    ap.add_argument("--only", action="append", default=[])
    ap.add_argument("--base", default="", help="the v7.3 build's identity; results of another are stale")
    ap.add_argument("--ko", action="append", default=[], help="HASH=LABEL, one per module")
    ap.add_argument("--cpus", default="4")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--stop", type=int, default=0)
    ap.add_argument("--control", default="", help="the v7.3 bzImage's hash")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("shell-vars")
    r = sub.add_parser("result")
    r.add_argument("name")
    r.add_argument("patch")
    r.add_argument("result_ko")
    r.add_argument("result_cpus", type=int)
    sub.add_parser("valid").add_argument("path")
    sub.add_parser("built").add_argument("mutant")
    sub.add_parser("upstream").add_argument("key", metavar="NAME-PATCH")
    sub.add_parser("upstream-tally")
    sub.add_parser("needs").add_argument("mutant")
    t = sub.add_parser("table")
    t.add_argument("--write-doc", metavar="FILE")
    t.add_argument("--command", default="scripts/mutants.sh")
    t.add_argument("--kernel", default="?")
    t.add_argument("--timeout", type=int, default=300)
    t.add_argument("--quiet", type=int, default=60)
    a = ap.parse_args(argv)
    try:
        run = Run(a.cache, a.base, [ko_pair(k) for k in a.ko], cpu_list(a.cpus), a.seconds,
                  bool(a.stop), a.control)
        if a.cmd == "result":
            print(run.result(a.name, a.patch, a.result_ko, a.result_cpus))
            return 0
        if a.cmd == "valid":
            return 0 if run.valid(a.path) else 1
        if a.cmd == "upstream":
            print(upstream_result(run.cache, a.key, upstream_series_hash(top)))
            return 0
        ms, sel = read_mutants(a.dir, a.only)
        if a.cmd == "shell-vars":
            print(shell_vars(ms, sel))
        elif a.cmd in ("built", "needs"):
            m = next((m for m in ms if a.mutant in (m.name, m.key)), None)
            if m is None:
                raise Refused(f"no mutant {a.mutant} in {a.dir}")
            print(run.built(m) if a.cmd == "built" else m.needs)
        elif a.cmd == "upstream-tally":
            print(upstream_tally(run, ms, sel, upstream_series_hash(top)))
        else:
            rows, summary = collect(run, ms, sel)
            up_rows, up_summary = collect_upstream(run, ms, sel, upstream_series_hash(top))
            print("\n".join(terminal_table(run, rows, summary, up_summary)))
            if a.write_doc:
                date = subprocess.run(["date", "-u", "+%Y-%m-%d %H:%M UTC"], capture_output=True,
                                      text=True, check=True).stdout.strip()
                info = DocInfo(a.command, date, commit_id(top), machine(), a.kernel, a.timeout, a.quiet)
                text = "\n".join(doc(run, ms, sel, rows, summary, up_rows, up_summary, info)) + "\n"
                with open(a.write_doc + ".tmp", "w", encoding="utf-8") as f:
                    f.write(text)
                os.replace(a.write_doc + ".tmp", a.write_doc)
    except Refused as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
