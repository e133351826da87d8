#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Tests of scripts/classify_boot.py: each status from a boot that shows
it, the order in which they apply, and the lines written for the table."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import classify_boot  # noqa: E402

SPLAT, HANG = classify_boot.splat_res()
REPORT = ["mismatches 0", "fork_exit_mismatches 0", "invariant_violations 0",
          "live_locks 0", "agreed 120", "agreed_fork_exit 30", "raced_max_cids 2",
          "op_too_many_users 1"]


def with_(**kv):
    """REPORT with the keys given set."""
    keys = [l.split()[0] for l in REPORT]
    return [f"{k} {kv.get(k, v.split()[1])}" for k, v in zip(keys, REPORT)]


def boot(kern=(), guest=(), report=REPORT, ksrc="0", insrc="0"):
    """A console log: kernel lines, the guest's lines, the report, the exits."""
    log = [f"[   12.{i:06d}] {l}" for i, l in enumerate(kern)]
    log += [f"guest| {l}" for l in guest]
    log += [f"guest| mutant-report: {l}" for l in report]
    if insrc is not None:
        log.append(f"guest| mutant-insmod-rc={insrc}")
    if ksrc is not None:
        log.append(f"guest| mutant-kselftest-rc={ksrc}")
    return log


def run(log, out=("==> booting bzImage on 4+1 (watcher) vCPUs under TCG (single-threaded) (limit 300 s)",)):
    lines = classify_boot.classify(log, list(out), "300", "56", SPLAT, HANG)
    return dict(l.split("=", 1) for l in lines), lines


class Status(unittest.TestCase):
    def status(self, log, out=None):
        got, _ = run(log, out) if out is not None else run(log)
        return got["status"], got["evidence"]

    def test_nothing_noticed_survives(self):
        self.assertEqual(self.status(boot()), ("survived", ""))

    def test_a_mismatch_in_the_report(self):
        log = boot(report=with_(mismatches=2), guest=["mutant-mismatch: switch on cpu 1: ..."])
        self.assertEqual(self.status(log), ("module mismatch", "switch on cpu 1: ..."))

    def test_a_violation_in_the_report(self):
        log = boot(report=with_(invariant_violations=1),
                   guest=["mutant-mismatch: fixup_violation: exit ..."])
        self.assertEqual(self.status(log)[0], "fixup violation")

    def test_a_traced_finding_whose_report_was_reset(self):
        self.assertEqual(self.status(boot(guest=["mutant-mismatch: fixup_violation: x"]))[0],
                         "fixup violation")
        self.assertEqual(self.status(boot(guest=["mutant-mismatch: mismatch: x"]))[0],
                         "module mismatch")

    def test_a_hung_guest_with_the_first_finding_printed(self):
        kern = ["mmcid_rs: first finding since load: exit (None) on cpu 2: invariant broken at return: Leaked(0)"]
        s, e = self.status(boot(kern=kern, report=[], ksrc=None))
        self.assertEqual(s, "fixup violation")
        self.assertTrue(e.startswith("mmcid_rs: first finding since load: exit"))
        kern = ["mmcid_rs: first finding since load: fork (Fork) on cpu 1: differs: Cpu(1) model 0x0 C 0x1"]
        self.assertEqual(self.status(boot(kern=kern, report=[], ksrc=None))[0], "module mismatch")

    def test_a_live_lock(self):
        kern = ["mmcid_rs: live lock: CPU3 has spun in the context switch to pid 792"]
        self.assertEqual(self.status(boot(kern=kern)), ("live lock named", kern[0]))
        self.assertEqual(self.status(boot(report=with_(live_locks=1)))[0], "live lock named")

    def test_an_abi_assertion_needs_a_failed_kselftest(self):
        guest = ["# mmcid_rs_test.c:700:x:CID 7 >= 5 possible CPUs"]
        self.assertEqual(self.status(boot(guest=guest, ksrc="1")),
                         ("kselftest ABI assertion", "CID 7 >= 5 possible CPUs"))
        self.assertEqual(self.status(boot(guest=guest, ksrc="0"))[0], "survived")

    def test_hangs(self):
        out = ["warning: guest did not finish within 300 s under TCG"]
        self.assertEqual(self.status(boot(ksrc=None), out),
                         ("hang", "no end within the 300 s limit"))
        out = ["warning: guest console silent for 56 s: no progress, stopped after 80 s"]
        self.assertEqual(self.status(boot(ksrc=None), out), ("hang", "console silent for 56 s"))
        kern = ["watchdog: BUG: soft lockup - CPU#0 stuck for 71s! [x:1]"]
        self.assertEqual(self.status(boot(kern=kern, ksrc=None)), ("hang", kern[0]))
        kern = ["Kernel panic - not syncing: hung_task: blocked tasks"]
        self.assertEqual(self.status(boot(kern=kern, ksrc=None)), ("hang", kern[0]))

    def test_a_panic_after_an_oops_is_the_oops(self):
        kern = ["Oops: general protection fault, probably for non-canonical address",
                "Kernel panic - not syncing: Fatal exception"]
        self.assertEqual(self.status(boot(kern=kern, ksrc=None)), ("splat", kern[0]))

    def test_user_space_warnings_are_no_splat(self):
        log = boot(guest=["WARNING: something in user space"])
        log.append("[    1.000000] virtme-ng-init: WARNING: cannot mount")
        self.assertEqual(self.status(log)[0], "survived")

    def test_a_module_that_did_not_load(self):
        log = boot(guest=["insmod: ERROR: could not insert module: Invalid parameters",
                          "mutant-dmesg: mmcid_rs: refused"], insrc="1", ksrc=None)
        self.assertEqual(self.status(log), ("module did not load",
                                            "insmod: ERROR: could not insert module: Invalid parameters mmcid_rs: refused"))

    def test_no_result_skipped_and_failed(self):
        self.assertEqual(self.status(boot(ksrc=None), ["warning: the guest command exited with 1"]),
                         ("no result", "warning: the guest command exited with 1"))
        self.assertEqual(self.status(boot(guest=["ok 1 x # SKIP no rseq"], ksrc="4")),
                         ("kselftest skipped", "ok 1 x # SKIP no rseq"))
        guest = ["# mmcid_rs_test.c:705:t:Expected p->compared (0) > 0 (0)", "# mmcid_rs_test.c:705:t:why",
                 "not ok 1 t"]
        self.assertEqual(self.status(boot(guest=guest, ksrc="1")),
                         ("kselftest failed",
                          "mmcid_rs_test.c:705:t:Expected p->compared (0) > 0 (0) mmcid_rs_test.c:705:t:why "))
        self.assertEqual(self.status(boot(guest=["not ok 1 t"], ksrc="1")),
                         ("kselftest failed", "not ok 1 t"))


class Lines(unittest.TestCase):
    def test_the_report_and_its_sums(self):
        got, lines = run(boot())
        self.assertEqual(got["not_decided"], "3")
        self.assertEqual(got["violations"], "0")
        self.assertEqual(got["agreed"], "120")
        self.assertEqual(got["report_raced_max_cids"], "2")
        self.assertEqual(got["accel"], "TCG (single-threaded)")
        self.assertEqual(lines[0], "status=survived")

    def test_no_report_no_sums(self):
        got, _ = run(boot(report=[], ksrc=None))
        self.assertNotIn("not_decided", got)
        self.assertNotIn("violations", got)

    def test_evidence_is_one_line_of_400_characters(self):
        long = "mutant-mismatch: " + "x" * 500
        got, _ = run(boot(report=with_(mismatches=1), guest=[long]))
        self.assertEqual(len(got["evidence"]), 400)


# The upstream series alone: a control on 7.3 and boots against it.
CONTROL = ["# # mm_cid_transition_test.c:120:per_cpu:CID 0x80000000 after a failed execve (3)",
           "# ok 1 mm_cid.fork_to_cpu", "# ok 2 mm_cid.failed_execve_during_transition",
           "# ok 3 mm_cid.widen # XFAIL per CPU mode stays", "# # Totals: pass:2 fail:0 xfail:1"]


def upstream(log, rc="0"):
    got = dict(l.split("=", 1) for l in classify_boot.classify_upstream(log, CONTROL, rc, SPLAT, HANG))
    return got["status"], got["evidence"], got["killed"]


class Upstream(unittest.TestCase):
    def test_the_control_itself_survives(self):
        self.assertEqual(upstream(CONTROL), ("survived", "", "0"))

    def test_an_assertion_the_control_prints_with_another_line_or_count_is_no_new_one(self):
        log = [CONTROL[0].replace(":120:", ":121:").replace("(3)", "(7)")] + CONTROL[1:]
        self.assertEqual(upstream(log)[0], "survived")

    def test_a_new_assertion_kills(self):
        log = ["# # mm_cid_transition_test.c:88:fork:CID 5 >= 4 possible CPUs"] + CONTROL
        self.assertEqual(upstream(log), ("rseq selftest failed", "fork:CID 5 >= 4 possible CPUs", "1"))

    def test_other_case_verdicts_kill_but_the_failed_execve_case_is_7_3s(self):
        flipped = [l.replace("# ok 2", "# not ok 2") for l in CONTROL]
        self.assertEqual(upstream(flipped)[0], "survived")
        widened = [l.replace(" # XFAIL per CPU mode stays", "") for l in CONTROL]
        self.assertEqual(upstream(widened),
                         ("rseq selftest failed",
                          "fork_to_cpu PASS, failed_execve_during_transition 7.3, widen PASS", "1"))

    def test_hang_no_result_and_splat_in_that_order(self):
        stall = "[   64.8] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:"
        self.assertEqual(upstream(CONTROL + [stall])[0:2], ("hang", stall))
        self.assertEqual(upstream(CONTROL[:-1], rc="124"),
                         ("hang", "no output for 90 s (run-vng exit 124)", "1"))
        self.assertEqual(upstream(CONTROL[:-1]), ("no result", "no TAP totals (run-vng exit 0)", "0"))
        splat = "[   15.4] ------------[ cut here ]------------"
        self.assertEqual(upstream(CONTROL + [splat, "guest-upstream-rseq: kernel splat"]),
                         ("splat", splat, "1"))

    def test_tap_cases(self):
        self.assertEqual(classify_boot.tap_cases(CONTROL),
                         "fork_to_cpu PASS, failed_execve_during_transition PASS, widen XFAIL")


if __name__ == "__main__":
    unittest.main(verbosity=1)
