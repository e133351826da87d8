#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# The version guard's fingerprints (docs/version-guard.md): every C
# function, struct and define that a "Mirrors `x`" doc comment in model/
# names, cut out of a kernel tree, stripped of comments and layout, and
# hashed with sha256.  model/fingerprints/<set> holds them for the code the
# model mirrors: v7.3 for the source as shipped, and one set per kernel
# flavour of patches/ (pre-fix: patches/pre-fix/*.patch applied).

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(TOP, "model")
SETS = os.path.join(MODEL, "fingerprints")

# Where the mirrored code lives, searched in this order.  The first
# definition wins: the !CONFIG_SCHED_MM_CID stubs come after the real ones.
FILES = [
    "kernel/sched/sched.h",
    "kernel/sched/core.c",
    "include/linux/rseq_types.h",
    "include/linux/sched.h",
    "include/linux/list.h",
]

MIRRORS_RE = re.compile(r"^\s*//[/!]\s*Mirrors `([^`]+)`", re.M)


def usage_error(msg):
    print(f"error: {msg}", file=sys.stderr)
    sys.exit(2)


def model_names():
    """The names model/*.rs says it mirrors, in file order, each once."""
    names = []
    for rs in sorted(os.listdir(MODEL)):
        if not rs.endswith(".rs"):
            continue
        with open(os.path.join(MODEL, rs), encoding="utf-8") as f:
            for name in MIRRORS_RE.findall(f.read()):
                if name not in names:
                    names.append(name)
    return names


def strip_comments(text):
    """Blank out comments, keeping newlines and string literals."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(" " + "\n" * text.count("\n", i, j))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            out.append(" ")
        elif c in "\"'":
            j = i + 1
            # A literal ends at its quote or, unterminated, at the line end.
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def closing(text, i):
    """Index of the bracket that closes the one at text[i]."""
    pair = {"(": ")", "{": "}", "[": "]"}[text[i]]
    depth = 0
    for j in range(i, len(text)):
        if text[j] == text[i]:
            depth += 1
        elif text[j] == pair:
            depth -= 1
            if depth == 0:
                return j
    return -1


def statement_start(text, pos):
    """Start of the declaration whose name is at pos: the lines above it
    that continue it (a return type on its own line)."""
    start = text.rfind("\n", 0, pos) + 1
    while start > 0:
        prev = text.rfind("\n", 0, start - 1) + 1
        line = text[prev:start - 1].strip()
        if not line or line.startswith("#") or line[-1] in ";{}":
            break
        start = prev
    return start


def function_span(text, name):
    """(start, end) of the definition of function name in text, or None."""
    for m in re.finditer(r"\b%s\s*\(" % re.escape(name), text):
        close = closing(text, m.end() - 1)
        if close < 0:
            continue
        k = close + 1
        # Attributes after the parameters: __acquires(x), __must_hold(x).
        while True:
            a = re.compile(r"\s*(__\w+)\s*").match(text, k)
            if not a:
                break
            k = a.end()
            if k < len(text) and text[k] == "(":
                k = closing(text, k) + 1
        k = re.compile(r"\s*").match(text, k).end()
        if k < len(text) and text[k] == "{":
            return statement_start(text, m.start()), closing(text, k) + 1
    return None


def find_function(text, name):
    span = function_span(text, name)
    return text[span[0]:span[1]] if span else None


def find_struct(text, name):
    m = re.search(r"\bstruct\s+%s\s*\{" % re.escape(name), text)
    if not m:
        return None
    end = closing(text, m.end() - 1)
    semi = text.find(";", end)
    return text[statement_start(text, m.start()):semi + 1]


def find_define(text, name):
    m = re.search(r"^[ \t]*#[ \t]*define[ \t]+%s\b" % re.escape(name), text, re.M)
    if not m:
        return None
    end = m.start()
    while True:
        nl = text.find("\n", end)
        if nl < 0:
            return text[m.start():]
        if text[nl - 1] != "\\":
            return text[m.start():nl]
        end = nl + 1


def find(text, name):
    """The C text of a "Mirrors" name: `f()`, `struct s` or `DEFINE`."""
    if name.endswith("()"):
        return find_function(text, name[:-2])
    if name.startswith("struct "):
        return find_struct(text, name[len("struct "):])
    return find_define(text, name)


def normalise(c):
    """Comments are gone already; drop layout: a space stays only between
    two word characters."""
    c = re.sub(r"\s+", " ", c).strip()
    return re.sub(r"(?<!\w) | (?!\w)", "", c)


class Tree:
    def __init__(self, root):
        self.root = root
        self.texts = {}

    def text(self, rel):
        if rel not in self.texts:
            path = os.path.join(self.root, rel)
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    self.texts[rel] = strip_comments(f.read())
            except OSError as e:
                sys.exit(f"error: {self.root} is not a kernel source tree ({e}); "
                         "pass the tree KDIR was built from")
        return self.texts[rel]

    def fingerprint(self, name, rel=None):
        """(file, sha256) of name, searched in rel or else FILES; None if absent."""
        for r in [rel] if rel else FILES:
            c = find(self.text(r), name)
            if c is not None:
                return r, hashlib.sha256(normalise(c).encode()).hexdigest()
        return None


def read_set(name):
    """[(name, file, hash)] of model/fingerprints/<name>."""
    rows = []
    with open(os.path.join(SETS, name), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            h, rel, item = line.rstrip("\n").split(" ", 2)
            rows.append((item, rel, h))
    return rows


def set_names():
    """The fingerprint sets, the base first: the one set without a
    patches/<set>/ directory is the version the model mirrors."""
    names = sorted(os.listdir(SETS))
    base = [n for n in names if not os.path.isdir(os.path.join(TOP, "patches", n))]
    if len(base) != 1:
        sys.exit(f"error: {SETS} must hold one set without patches/<set>/ (the version the "
                 f"model mirrors), not {base or 'none'}")
    return base + [n for n in names if n != base[0]]


def differs(tree, name):
    """The items of set `name` whose code in tree is not the one fingerprinted."""
    out = []
    for item, rel, h in read_set(name):
        fp = tree.fingerprint(item, rel)
        if fp is None or fp[1] != h:
            out.append(item)
    return out


def patched_copy(root, flavour, tmp):
    """A copy of FILES of root with patches/<flavour>/*.patch applied."""
    for rel in FILES:
        os.makedirs(os.path.dirname(os.path.join(tmp, rel)), exist_ok=True)
        shutil.copy(os.path.join(root, rel), os.path.join(tmp, rel))
    pdir = os.path.join(TOP, "patches", flavour)
    patches = sorted(p for p in os.listdir(pdir) if p.endswith(".patch"))
    if not patches:
        sys.exit(f"error: no patches in {pdir} for fingerprint set {flavour}")
    for p in patches:
        with open(os.path.join(pdir, p), "rb") as f:
            r = subprocess.run(["patch", "-d", tmp, "-p1", "--quiet", "--no-backup-if-mismatch"],
                               stdin=f, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"error: {p} does not apply to {root}'s {', '.join(FILES)}:\n{r.stdout}{r.stderr}")
    return tmp


def version(root):
    try:
        with open(os.path.join(root, "Makefile"), encoding="utf-8") as f:
            head = f.read(2000)
        v = [re.search(r"^%s = (\S*)" % k, head, re.M).group(1)
             for k in ("VERSION", "PATCHLEVEL", "SUBLEVEL")]
        return ".".join(v)
    except (OSError, AttributeError):
        return "unknown version"


def write_set(name, tree, names, origin):
    rows = []
    for item in names:
        fp = tree.fingerprint(item)
        if fp is None:
            sys.exit(f"error: model/ mirrors {item}, which is in none of "
                     f"{', '.join(FILES)} of {tree.root}")
        rows.append(f"{fp[1]} {fp[0]} {item}\n")
    with open(os.path.join(SETS, name), "w", encoding="utf-8") as f:
        f.write(f"# Fingerprints of the C that model/ mirrors, for {origin}.\n")
        f.write("# sha256 of the normalised C, file, name.  "
                "Written by scripts/fingerprint.py --update; do not edit.\n")
        f.writelines(rows)
    print(f"{SETS}/{name}: {len(rows)} items ({origin})", file=sys.stderr)


def update(root):
    names = model_names()
    ver = version(root)
    for s in set_names():
        if s == set_names()[0]:
            write_set(s, Tree(root), names, f"Linux {ver} as shipped")
        else:
            with tempfile.TemporaryDirectory() as tmp:
                write_set(s, Tree(patched_copy(root, s, tmp)), names,
                          f"Linux {ver} with patches/{s}/ applied")


def check_list():
    """Every "Mirrors" name of model/ is in every set, and nothing else."""
    want = set(model_names())
    bad = 0
    for s in set_names():
        have = {item for item, _, _ in read_set(s)}
        for item in sorted(want - have):
            print(f"model/ mirrors {item}, model/fingerprints/{s} lacks it", file=sys.stderr)
            bad += 1
        for item in sorted(have - want):
            print(f"model/fingerprints/{s} has {item}, which no \"Mirrors\" comment "
                  "of model/ names", file=sys.stderr)
            bad += 1
    if bad:
        print("fix: scripts/fingerprint.py --update <7.3 source tree>", file=sys.stderr)
        return 1
    print(f"{len(want)} mirrored items, all fingerprinted in {', '.join(set_names())}")
    return 0


def rust_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def check(root, emit_rust):
    """What in root differs from each set; one summary line on stderr and,
    with emit_rust, the Rust the module includes on stdout."""
    tree = Tree(root)
    result = [(s, differs(tree, s)) for s in set_names()]
    base, base_differs = result[0]
    same = [s for s, d in result if not d]
    if not base_differs:
        msg = f"mm_cid code matches the model ({base})"
    elif same:
        msg = (f"mm_cid code matches the model's {', '.join(same)} variant; it differs from "
               f"{base} in {', '.join(base_differs)}: load with variant={same[0]}")
    else:
        msg = (f"mm_cid code differs from the model ({base}) in {', '.join(base_differs)}: "
               "the module refuses to load without force=1 (docs/version-guard.md)")
    print(f"mmcid_rs: {msg}", file=sys.stderr)
    if emit_rust:
        print("// Generated by scripts/fingerprint.py --emit-rust from the tree the module is")
        print("// built against; do not edit.")
        print()
        print("/// The version the model mirrors: the set of model/fingerprints/ without patches.")
        print(f"pub(crate) const BASE: &str = {rust_str(base)};")
        print()
        print("/// For each set of model/fingerprints/, the mirrored items whose C differs.")
        print("pub(crate) const DIFFERS: &[(&str, &[&str])] = &[")
        for s, d in result:
            print(f"    ({rust_str(s)}, &[{', '.join(rust_str(x) for x in d)}]),")
        print("];")
    return 0


def main():
    p = argparse.ArgumentParser(
        description="Fingerprint the mm_cid C code that model/ mirrors (docs/version-guard.md).",
        epilog="Bring the model to a new version: edit model/, then "
               "'%(prog)s --update <new source tree>' and commit model/fingerprints/.")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--update", metavar="TREE",
                   help="rewrite every model/fingerprints/ set from TREE (v7.3: TREE as is; "
                        "<flavour>: TREE with patches/<flavour>/*.patch)")
    g.add_argument("--check", metavar="TREE",
                   help="print which mirrored items of TREE differ from the model")
    g.add_argument("--differs", nargs=2, metavar=("SET", "TREE"),
                   help="list the items of TREE that differ from SET, one a line")
    g.add_argument("--check-list", action="store_true",
                   help="fail unless the sets hold exactly what model/ says it mirrors")
    g.add_argument("--files", action="store_true",
                   help="list the files of a tree that the fingerprints cover")
    p.add_argument("--emit-rust", action="store_true",
                   help="with --check: print the module's generated Rust on stdout")
    a = p.parse_args()
    if a.emit_rust and not a.check:
        usage_error("--emit-rust goes with --check")
    if a.update:
        update(a.update)
        return 0
    if a.check:
        return check(a.check, a.emit_rust)
    if a.files:
        print("\n".join(FILES))
        return 0
    if a.differs:
        s, root = a.differs
        if s not in set_names():
            usage_error(f"no fingerprint set {s}; want one of {', '.join(set_names())}")
        for item in differs(Tree(root), s):
            print(item)
        return 0
    return check_list()


if __name__ == "__main__":
    sys.exit(main())
