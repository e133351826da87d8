#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Docs that cannot go stale without make test noticing.

Checks README.md, docs/*.md and the comments and usage texts of scripts/:

- every repository path they name exists (globs and <placeholders> match
  at least one file);
- none speaks of the work process instead of the code ("this issue");
- the README's example verdict has exactly the fields of the newest
  verdict a script recorded in docs/measurements.md (numbers aside), and
  names a commit that is not -dirty.

Exit 0 when all hold, 1 with a line per problem.  --self-test plants a
stale path, a work-process phrase and a wrong verdict, and checks that
each is caught.
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


def run(top):
    files = files_to_check(top)
    return (check_paths(files, top, tracked(top), kernel_source()) + check_process(files, top) +
            check_verdict(os.path.join(top, "README.md"), os.path.join(top, "docs", "measurements.md")))


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
    return failures


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--self-test", action="store_true",
                    help="show each check failing on planted bad input")
    args = ap.parse_args()
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    bad = self_test(top) if args.self_test else run(top)
    for b in bad:
        print(b)
    if not bad:
        print("check-docs: " + ("every check caught its planted error" if args.self_test
                                 else "paths, wording and the example verdict hold"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
