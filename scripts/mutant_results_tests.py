#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Tests of scripts/mutant_results.py: reading a mutant's header, which
cached kernel and result still count, what each cell and the kill rates
say, and how the tables read."""

import hashlib
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mutant_results as mr  # noqa: E402

DIFF = "--- a/kernel/sched/core.c\n+++ b/kernel/sched/core.c\n@@ -1 +1 @@\n-a\n+b\n"
BASE = "v7.3@1"


class Tree(unittest.TestCase):
    """A patches directory and a cache in a temporary directory."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = os.path.join(self.tmp.name, "patches")
        self.cache = os.path.join(self.tmp.name, "cache")
        os.makedirs(self.dir)
        os.makedirs(os.path.join(self.cache, "results"))
        self.run_ = mr.Run(self.cache, BASE, [("aaaaaaaaaaaa", "current")], [4, 8], 6, True, "cccccccccccc")

    def tearDown(self):
        self.tmp.cleanup()

    def patch(self, name, head, diff=DIFF):
        p = os.path.join(self.dir, name + ".patch")
        with open(p, "w") as f:
            f.write(head + diff)
        return p

    def mutant(self, name, head="# f: breaks f\n", **built):
        m = mr.read_mutant(self.patch(name, head))
        self.build(m, **built)
        return m

    def build(self, m, state="ok", base=BASE, secs="30"):
        d = self.run_.mutant_dir(m)
        os.makedirs(os.path.join(d, "arch/x86/boot"), exist_ok=True)
        for f, v in (("base", base), ("build-seconds", secs)):
            with open(os.path.join(d, f), "w") as fh:
                fh.write(v + "\n")
        if state == "ok":
            open(os.path.join(d, "arch/x86/boot/bzImage"), "w").close()
        else:
            with open(os.path.join(d, "build-failed"), "w") as fh:
                fh.write(("does not apply" if state == "does not apply" else "make bzImage exited 2") + "\n")

    def result(self, name, patch, cpus, status, base=BASE, **kv):
        path = self.run_.result(name, patch, "aaaaaaaaaaaa", cpus)
        kv = {"status": status, "base": base, "boot_seconds": "40", **kv}
        with open(path, "w") as f:
            f.write("".join(f"{k}={v}\n" for k, v in kv.items()))
        return path


class ReadMutant(Tree):
    def test_header_needs_equivalent_and_files(self):
        p = self.patch("07-x", "# mm_cid_converge: keeps a CID: too long\n# needs: 8 cpus\n"
                       "# equivalent: 7.3 never gets there\n",
                       DIFF + "--- a/kernel/fork.c\n+++ b/kernel/fork.c\n")
        m = mr.read_mutant(p)
        self.assertEqual((m.name, m.func, m.what, m.needs, m.equiv),
                         ("07-x", "mm_cid_converge", "keeps a CID: too long", 8, "7.3 never gets there"))
        with open(p, "rb") as f:
            self.assertEqual(m.hash, hashlib.sha256(f.read()).hexdigest()[:12])
        self.assertEqual(mr.touched([m]), mr.TOUCHED + ["kernel/fork.c"])

    def test_bad_headers_are_refused(self):
        for head, why in (("", "no header"), ("# no colon here\n", "no header"),
                          ("# f: x\n# needs: eight cpus\n", "bad '# needs:'")):
            with self.subTest(head=head):
                with self.assertRaisesRegex(mr.Refused, why):
                    mr.read_mutant(self.patch("01-bad", head))
        with self.assertRaisesRegex(mr.Refused, "no unified diff"):
            mr.read_mutant(self.patch("02-nodiff", "# f: x\n", "just text\n"))

    def test_only_takes_a_stem_or_its_number(self):
        for n in ("01-a", "02-b", "10-c"):
            self.patch(n, "# f: x\n")
        ms, sel = mr.read_mutants(self.dir, ["02", "10-c"])
        self.assertEqual([ms[i].name for i in sel], ["02-b", "10-c"])
        self.assertEqual(mr.read_mutants(self.dir)[1], [0, 1, 2])
        with self.assertRaisesRegex(mr.Refused, "--only 99: no such mutant"):
            mr.read_mutants(self.dir, ["99"])
        with self.assertRaisesRegex(mr.Refused, "no mutants in"):
            mr.read_mutants(self.cache)

    def test_shell_vars_survive_bash(self):
        self.patch("01-a", "# f`b` $(x) 'c': it's \"quoted\"\n")
        ms, sel = mr.read_mutants(self.dir)
        out = subprocess.run(["bash", "-c", 'eval "$1"; printf "%s|" "${M_FUNC[0]}" "${M_NAME[@]}" "${SEL[@]}"',
                              "bash", mr.shell_vars(ms, sel)], capture_output=True, text=True, check=True).stdout
        self.assertEqual(out, "f`b` $(x) 'c'|01-a|0|")


class Cache(Tree):
    def test_a_result_counts_on_this_build_with_something_to_say(self):
        self.assertTrue(self.run_.valid(self.result("m", "p", 4, "survived")))
        self.assertFalse(self.run_.valid(self.result("m", "p", 4, "no result")))
        self.assertFalse(self.run_.valid(self.result("m", "p", 4, "survived", base="v7.3@2")))
        self.assertFalse(self.run_.valid(self.run_.result("m", "p", "aaaaaaaaaaaa", 16)))

    def test_result_paths_key_module_cpus_seconds_and_stop(self):
        self.assertTrue(self.run_.result("m", "p", "k", 4).endswith("/results/m-p-kok-4cpus-6s-stop"))
        self.run_.stop = False
        self.assertTrue(self.run_.result("m", "p", "k", 8).endswith("/results/m-p-kok-8cpus-6s"))

    def test_built(self):
        self.assertEqual(self.run_.built(self.mutant("01-a")), "ok")
        self.assertEqual(self.run_.built(self.mutant("02-b", state="fail")), "build failed")
        self.assertEqual(self.run_.built(self.mutant("03-c", state="does not apply")), "does not apply")
        self.assertEqual(self.run_.built(self.mutant("04-d", base="v7.3@0")), "")

    def test_cell(self):
        m = self.mutant("01-a", "# f: x\n# needs: 8 cpus\n")
        self.assertEqual(self.run_.cell(m, "aaaaaaaaaaaa", 4), "needs 8 cpus")
        self.assertEqual(self.run_.cell(m, "aaaaaaaaaaaa", 8), "not run")
        self.result(m.name, m.hash, 8, "splat")
        self.assertEqual(self.run_.cell(m, "aaaaaaaaaaaa", 8), "splat")
        self.result(m.name, m.hash, 8, "splat", base="old")
        self.assertEqual(self.run_.cell(m, "aaaaaaaaaaaa", 8), "not run")
        f = self.mutant("02-b", state="fail")
        self.assertEqual(self.run_.cell(f, "aaaaaaaaaaaa", 4), "build failed")

    def test_carriage_returns_are_not_kept(self):
        path = self.result("m", "p", 4, "splat", evidence="[ 1.0] cut here ]---\r")
        self.assertEqual(mr.read_kv(path)["evidence"], "[ 1.0] cut here ]---")


class Tables(Tree):
    def setUp(self):
        super().setUp()
        self.a = self.mutant("01-a")
        self.b = self.mutant("02-b", "# g: y\n# equivalent: unreachable\n")
        self.c = self.mutant("03-c", state="fail")
        self.d = self.mutant("04-d")
        self.e = self.mutant("05-e")
        self.result(self.a.name, self.a.hash, 4, "module mismatch", first_mismatch="switch: pid 1 | cid 2")
        self.result(self.a.name, self.a.hash, 8, "survived")
        self.result(self.b.name, self.b.hash, 4, "hang", evidence="RCU stall")
        self.result(self.b.name, self.b.hash, 8, "survived")
        self.result(self.d.name, self.d.hash, 4, "survived")
        self.result(self.d.name, self.d.hash, 8, "kselftest ABI assertion", evidence="CID 3 seen by two")
        self.result("control", "cccccccccccc", 4, "survived", boot_seconds="50", accel="TCG")
        self.result("control", "cccccccccccc", 8, "no result", boot_seconds="70")
        self.ms, self.sel = mr.read_mutants(self.dir)

    def test_rows_and_kill_rates(self):
        rows, summary = mr.collect(self.run_, self.ms, self.sel)
        self.assertEqual(rows[0], ["01-a", "f", "module mismatch", "survived", "110 s", "switch: pid 1 | cid 2"])
        self.assertEqual(rows[1][1], "g (equivalent)")
        self.assertEqual(rows[2][2:5], ["build failed", "build failed", "30 s"])
        self.assertEqual(rows[4][2:], ["not run", "not run", "30 s", ""])
        # a and d killed (d by the kselftest), e not run, b equivalent, c failed.
        self.assertIn("kill rate (module current): 2/2 (100%) non-equivalent mutants killed, "
                      "1/2 (50%) by the module itself", summary[0])
        self.assertEqual(summary[1], "equivalent (argued in their patch, not counted): 1, killed anyway: 1; "
                         "build failed or does not apply (not counted): 1; not run yet: 1")
        # 4 built × 30 s + 6 boots × 40 s, and the one control that counts.
        self.assertTrue(summary[2].startswith("time: 390 s for these mutants and 50 s for the control, 440 s"))

    def test_a_mutant_only_survived_is_not_killed(self):
        self.result(self.a.name, self.a.hash, 4, "survived")
        self.result(self.d.name, self.d.hash, 8, "survived")
        _, summary = mr.collect(self.run_, self.ms, self.sel)
        self.assertIn("0/2 (0%) non-equivalent mutants killed", summary[0])

    def test_terminal_table(self):
        rows, summary = mr.collect(self.run_, self.ms, self.sel)
        rows[0][-1] = "x" * 150
        out = mr.terminal_table(self.run_, rows, summary, [])
        self.assertEqual(out[0].split("  ")[0:2], ["mutant", "function      "[:len("function")]])
        self.assertEqual(out[1].index("module mismatch"), out[0].index("4 cpus"))
        self.assertTrue(out[1].endswith("x" * 100) and not out[1].endswith("x" * 101))
        self.assertEqual(out[-3:], summary)

    def test_two_modules_name_their_columns(self):
        self.run_.kos.append(("bbbbbbbbbbbb", "old"))
        self.assertEqual(mr.header(self.run_)[2:6], ["current, 4 cpus", "current, 8 cpus", "old, 4 cpus", "old, 8 cpus"])

    def test_upstream_rates(self):
        up = os.path.join(self.cache, "upstream")
        os.makedirs(up)
        for m, st in ((self.a, "survived"), (self.d, "rseq selftest failed"), (self.b, "hang")):
            with open(os.path.join(up, f"{m.key}-seriesSSS"), "w") as f:
                f.write(f"status={st}\nevidence=a|b\n")
        self.assertEqual(mr.collect_upstream(self.run_, self.ms, self.sel, "TTT"), ([], []))
        rows, summary = mr.collect_upstream(self.run_, self.ms, self.sel, "SSS")
        self.assertEqual(rows[0], "| 01-a | survived | yes | `a\\|b` |")
        self.assertEqual(rows[4], "| 05-e | not run | no |  |")
        self.assertEqual(summary[0], "kill rate (the upstream rseq selftest alone, no module): 1/2 (50%) of the "
                         "non-equivalent mutants it ran on; the module itself: 1/2 (50%); both: 0, "
                         "only the module: 1, only the selftest: 1, neither: 0")

    def test_doc(self):
        rows, summary = mr.collect(self.run_, self.ms, self.sel)
        info = mr.DocInfo("scripts/mutants.sh --cpus 4,8", "2026-12-08 04:00 UTC", "abc", "2 cores, 24 GiB",
                          "7.3-v7.3", 300, 56)
        out = mr.doc(self.run_, self.ms, self.sel, rows, summary, [], [], info)
        self.assertIn("- machine: 2 cores, 24 GiB, guests under TCG", out)
        self.assertIn("- per boot: the kselftest for 6 s, ended at the module's first finding "
                      "(--stop-at-finding); limits 300 s, console silent 56 s", out)
        self.assertIn("| 01-a | f | module mismatch | survived | 110 s | `switch: pid 1 \\| cid 2` |", out)
        self.assertIn("| 05-e | f | not run | not run | 30 s |  |", out)
        self.assertIn("  Equivalent: unreachable", out)
        self.assertNotIn("## The upstream rseq selftest alone", out)
        # The control that counts, then each boot; "-" where nothing was said.
        i = out.index("| v7.3 (control) | - | - | survived | - / - | - | - | - | - / - | - | 50 s |")
        self.assertEqual(out[i + 1], "| 01-a | - | - | module mismatch | - / - | - | - | - | - / - | - | 40 s |")
        self.assertEqual(len(out) - i, 7)


if __name__ == "__main__":
    unittest.main()
