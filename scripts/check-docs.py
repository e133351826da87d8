#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Docs that cannot go stale without make test noticing.

Checks README.md, docs/*.md and the comments and usage texts of scripts/:

- every repository path they name exists (globs and <placeholders> match
  at least one file);
- none speaks of the work process instead of the code ("this issue");
- the README's example verdict has exactly the fields of the newest
  verdict a script recorded in docs/measurements.md (numbers aside), and
  names a commit that is not -dirty;
- docs/coverage.md argues every line and model path today's make run
  leaves untaken (no "**not argued**" before its section of an older
  commit).

Exit 0 when all hold, 1 with a line per problem.  --self-test plants a
stale path, a work-process phrase and a wrong verdict, and checks that
each is caught.

--stale instead prints a warning for each recorded measurement older
than the last change to what it measures (docs/mutants.md,
docs/coverage.md, and the newest record of each kind in
docs/measurements.md that STALE_KINDS names), and always exits 0: a
measurement takes minutes to hours, so make test warns and the closing
note says why it was not rerun.
"""

import argparse
import fnmatch
import os
import re
import subprocess
import sys
import tempfile

TOP_DIRS = ("scripts", "module", "glue", "model", "explorer", "selftests",
            "patches", "docs", "include", ".ci")
PATH_RE = re.compile(r"(?<![\w./~\\-])((?:%s)/[\w./*<>-]*)" % "|".join(re.escape(d) for d in TOP_DIRS))
PROCESS_RE = re.compile(r"\b(this issue|the issue (?:asked|measured|says)|this session|another engineer)\b",
                        re.IGNORECASE)
# The verdict line run.sh prints and records; numbers and shares vary.
VERDICT_RE = re.compile(r"mmcid_rs: C and Rust \([^)]*\) agree on .*")
NUMBER_RE = re.compile(r"\d+(?:\.\d+)?%?")


# What a recorded measurement measures: the module as loaded (its tests
# are not built into it), with the kselftest that drove it, or the
# explorer.
MODULE = ["module", "glue", "model", "include", "mmcid_rs.rs", ":(exclude,glob)**/*tests.rs"]
KSELFTEST = MODULE + ["selftests/mmcid_rs"]
EXPLORER = ["explorer", "model", ":(exclude,glob)**/*tests.rs"]
# docs/measurements.md: the kinds of record whose newest one must be
# current, by title (a group in the pattern tells kinds apart), and what
# each measures.
STALE_KINDS = [
    (re.compile(r"^make run on (\d+) vCPUs$"), KSELFTEST),
    (re.compile(r"^Module overhead, (\w+), "), MODULE),
    (re.compile(r"^Module profile, (\w+), "), MODULE),
    (re.compile(r"^explorer benchmark\b"), EXPLORER),
]
# Whole documents written by one run, by the commit in their header.
STALE_DOCS = [
    ("docs/mutants.md", MODULE, "make mutants"),
    ("docs/coverage.md", KSELFTEST, "scripts/coverage.sh --write-doc"),
]
COMMIT_RE = re.compile(r"^- (?:date: [^\n]*?, )?commit: ([0-9a-f]{7,40})", re.MULTILINE)


def changed_since(top, commit, paths):
    """The newest commit after COMMIT that changed PATHS (short id), or
    None; COMMIT itself when git does not know it."""
    ok = subprocess.run(["git", "-C", top, "cat-file", "-e", commit + "^{commit}"],
                        capture_output=True).returncode == 0
    if not ok:
        return commit
    out = subprocess.run(["git", "-C", top, "log", "-1", "--format=%h", f"{commit}..HEAD", "--"] + paths,
                         capture_output=True, text=True, check=True).stdout.strip()
    return out or None


def newest_records(text):
    """{kind: (title, commit)} of the newest record of each STALE_KINDS kind
    in a docs/measurements.md text (records are appended, newest last)."""
    out = {}
    for block in re.split(r"^### ", text, flags=re.MULTILINE)[1:]:
        title = block.split("\n", 1)[0].strip()
        m = COMMIT_RE.search(block)
        for i, (kind, _) in enumerate(STALE_KINDS):
            k = kind.match(title)
            if k and m:
                out[(i, k.groups())] = (title, m.group(1))
    return out


def check_stale(top, measurements=None):
    warn = []
    for rel, paths, how in STALE_DOCS:
        with open(os.path.join(top, rel), encoding="utf-8") as f:
            m = COMMIT_RE.search(f.read())
        if not m:
            warn.append(f"{rel}: no commit recorded")
            continue
        c = changed_since(top, m.group(1), paths)
        if c:
            warn.append(f"{rel} was recorded at {m.group(1)}, before {c} changed what it measures: rerun {how}")
    meas = measurements or os.path.join(top, "docs", "measurements.md")
    with open(meas, encoding="utf-8") as f:
        records = newest_records(f.read())
    for (i, _), (title, commit) in sorted(records.items()):
        c = changed_since(top, commit, STALE_KINDS[i][1])
        if c:
            warn.append(f"{os.path.relpath(meas, top)}: \"{title}\" was recorded at {commit}, "
                        f"before {c} changed what it measures")
    return warn


def files_to_check(top):
    out = [os.path.join(top, "README.md")]
    docs = os.path.join(top, "docs")
    out += sorted(os.path.join(docs, f) for f in os.listdir(docs) if f.endswith(".md"))
    scripts = os.path.join(top, "scripts")
    out += sorted(os.path.join(scripts, f) for f in os.listdir(scripts)
                  if f.endswith((".sh", ".py")))
    return out


def tracked(top):
    """Every file and directory of the work tree git knows, relative."""
    names = subprocess.run(["git", "-C", top, "ls-files", "--cached", "--others",
                            "--exclude-standard"], check=True, capture_output=True,
                           text=True).stdout.split("\n")
    paths = set()
    for n in filter(None, names):
        paths.add(n)
        d = os.path.dirname(n)
        while d:
            paths.add(d)
            d = os.path.dirname(d)
    return paths


def kernel_source():
    """The cached 7.3 source, whose paths docs name too, or None."""
    cache = os.environ.get("MMCID_CACHE", os.path.expanduser("~/.cache/mmcid-rs"))
    d = os.path.join(cache, "src", "linux-source-7.3")
    return d if os.path.isdir(d) else None


def path_exists(token, paths, kernel=None):
    """Does the path TOKEN name exist: in the repository (a glob or a
    placeholder: does anything match; a program: its .c; a prefix such as
    patches/x/0002: a file it begins), or in the kernel source?"""
    t = token.rstrip(".,:;)")
    if t.endswith("/"):
        t = t[:-1]
    if not t or t.endswith("..."):
        return True
    # <name>, NN-name and upper-case words (FLAVOUR) are placeholders.
    pattern = re.sub(r"<[^>]*>", "*", t)
    pattern = re.sub(r"NN-name", "*", pattern)
    pattern = re.sub(r"\b[A-Z]{2,}\b", "*", pattern)
    if any(c in pattern for c in "*?["):
        return any(fnmatch.fnmatchcase(p, pattern) for p in paths)
    if pattern in paths or pattern + ".c" in paths:
        return True
    if re.search(r"/\d{4}$", pattern) and any(p.startswith(pattern + "-") for p in paths):
        return True
    return bool(kernel) and os.path.exists(os.path.join(kernel, pattern))


def text_of(path):
    """What a file says to a reader: all of a Markdown file, the comments
    and quoted texts of a script (here documents included)."""
    with open(path, encoding="utf-8") as f:
        return f.read()


def check_paths(files, top, paths, kernel=None):
    bad = []
    for f in files:
        if f.endswith("check-docs.py"):
            continue
        for n, line in enumerate(text_of(f).split("\n"), 1):
            # A path inside a regular expression: model/paths\.rs.
            for m in PATH_RE.finditer(line.replace("\\.", ".")):
                if not path_exists(m.group(1), paths, kernel):
                    bad.append(f"{os.path.relpath(f, top)}:{n}: names {m.group(1)}, which does not exist")
    return bad


def check_process(files, top):
    bad = []
    for f in files:
        if f.endswith("check-docs.py"):
            continue
        for n, line in enumerate(text_of(f).split("\n"), 1):
            m = PROCESS_RE.search(line)
            if m:
                bad.append(f"{os.path.relpath(f, top)}:{n}: speaks of the work process: \"{m.group(1)}\"")
    return bad


def shape(verdict):
    """The verdict's fields: its words, every number and share as N."""
    return NUMBER_RE.sub("N", verdict.strip())


def check_verdict(readme, measurements):
    with open(readme, encoding="utf-8") as f:
        text = f.read()
    example = VERDICT_RE.search(text)
    if not example:
        return [f"{readme}: no example verdict"]
    with open(measurements, encoding="utf-8") as f:
        recorded = VERDICT_RE.findall(f.read())
    if not recorded:
        return [f"{measurements}: no recorded verdict to compare the README's with"]
    bad = []
    want, got = shape(recorded[-1]), shape(example.group(0))
    if want != got:
        bad.append(f"{readme}: the example verdict's fields differ from the newest recorded one:\n"
                   f"  README:   {got}\n  recorded: {want}")
    m = re.search(r"From a [^\n]*?commit ([0-9a-f]+(-dirty)?)", text)
    if m and m.group(2):
        bad.append(f"{readme}: the example verdict comes from a -dirty commit ({m.group(1)})")
    return bad


def check_argued(coverage):
    """docs/coverage.md's section of today's make run: nothing not argued."""
    with open(coverage, encoding="utf-8") as f:
        today = f.read().split("\n## make run at ")[0]
    n = today.count(": **not argued**")
    return [f"{coverage}: {n} untaken line(s) or path(s) of today's make run not argued "
            "(scripts/coverage.py: LINES, RACES)"] if n else []


def run(top):
    files = files_to_check(top)
    return (check_paths(files, top, tracked(top), kernel_source()) + check_process(files, top) +
            check_verdict(os.path.join(top, "README.md"), os.path.join(top, "docs", "measurements.md")) +
            check_argued(os.path.join(top, "docs", "coverage.md")))


def self_test(top):
    """Each check fails on planted bad input, and passes on the good."""
    good = "mmcid_rs: C and Rust (v7.3) agree on 12 transitions (1 context switches); paths: 3 of 4"
    failures = []
    with tempfile.TemporaryDirectory() as d:
        readme, meas = os.path.join(d, "README.md"), os.path.join(d, "measurements.md")
        with open(meas, "w", encoding="utf-8") as f:
            f.write("```\n" + good + "\n```\n")
        for example, commit, want_bad in (
                (good.replace("12", "99"), "abc123", False),
                (good.replace("; paths", "; trails"), "abc123", True),
                (good.replace(" (1 context switches)", ""), "abc123", True),
                (good, "abc123-dirty", True)):
            with open(readme, "w", encoding="utf-8") as f:
                f.write(f"From a run (commit {commit}):\n\n    {example}\n")
            if bool(check_verdict(readme, meas)) != want_bad:
                failures.append(f"verdict {example!r} at {commit}: want {'a' if want_bad else 'no'} finding")
        paths = tracked(top)
        for token, want in (("scripts/run.sh", True), ("scripts/no-such-script.sh", False),
                            ("patches/mutants/NN-name.patch", True), ("model/<area>.rs", True),
                            ("docs/nowhere/*.md", False), ("model/fingerprints/", True)):
            if path_exists(token, paths) != want:
                failures.append(f"path {token}: want {'exists' if want else 'missing'}")
        planted = os.path.join(d, "planted.md")
        with open(planted, "w", encoding="utf-8") as f:
            f.write("See scripts/kcsan-races.sh, as this issue asked.\n")
        if len(check_paths([planted], d, paths)) != 1 or len(check_process([planted], d)) != 1:
            failures.append("a planted stale path and work-process phrase were not both caught")
        cov = os.path.join(d, "coverage.md")
        for text, want in (("## make run today\n\n- `x`: **not argued**\n", 1),
                           ("## make run today\n\n- `x`: unreachable\n\n"
                            "## make run at abc123\n\n- `y`: **not argued**\n", 0)):
            with open(cov, "w", encoding="utf-8") as f:
                f.write(text)
            if len(check_argued(cov)) != want:
                failures.append(f"coverage {text!r}: want {want} finding")
        # A record made at the first commit is older than the module; one
        # made at HEAD is not, and only the newest of a kind counts.
        first = subprocess.run(["git", "-C", top, "rev-list", "--max-parents=0", "HEAD"],
                               capture_output=True, text=True, check=True).stdout.split()[0]
        head = subprocess.run(["git", "-C", top, "rev-parse", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        for commits, want in (([first], 1), ([head], 0), ([first, head], 0), ([head, first], 1)):
            with open(meas, "w", encoding="utf-8") as f:
                for c in commits:
                    f.write(f"### make run on 4 vCPUs\n\n- date: 2026-12-07 17:46 UTC, commit: {c[:12]}\n\n")
            got = [w for w in check_stale(top, meas) if w.startswith(os.path.relpath(meas, top))]
            if len(got) != want:
                failures.append(f"records at {[c[:7] for c in commits]}: want {want} stale warning, got {got}")
    return failures


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--self-test", action="store_true",
                    help="show each check failing on planted bad input")
    ap.add_argument("--stale", action="store_true",
                    help="warn of each recorded measurement older than what it measures (exit 0)")
    args = ap.parse_args()
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if args.stale:
        for w in check_stale(top):
            print("warning: " + w)
        return 0
    bad = self_test(top) if args.self_test else run(top)
    for b in bad:
        print(b)
    if not bad:
        print("check-docs: " + ("every check caught its planted error" if args.self_test
                                 else "paths, wording and the example verdict hold"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
