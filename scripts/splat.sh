# SPDX-License-Identifier: GPL-2.0
#
# What a kernel prints when something is wrong: the one definition every
# script uses, on the host (lib.sh) and in the guest (guest-lib.sh).
# POSIX sh; extended regular expressions (grep -E) for kernel log lines
# (each consumer keeps to the kernel's own lines: user space may print
# "WARNING:" too).

# A warning, an oops, a BUG (KFENCE's and KCSAN's reports begin "BUG:"),
# a lockdep report and the sanitizers' and debug objects' reports of the
# debug flavour (scripts/debug.config; none of them on another kernel).
SPLAT_RE='Oops|BUG:|kernel BUG at|WARNING:|cut here|general protection fault'
SPLAT_RE="${SPLAT_RE}|possible circular locking|possible recursive locking|inconsistent lock state"
SPLAT_RE="${SPLAT_RE}|locking correctness validator|lock held when returning|still has locks held"
SPLAT_RE="${SPLAT_RE}|DEBUG_LOCKS_WARN_ON|sleeping function called|scheduling while atomic"
SPLAT_RE="${SPLAT_RE}|UBSAN:|KASAN:|ODEBUG|kmemleak: .*suspected"

# The kernel's own hang detectors: the soft and hard lockup watchdogs,
# RCU's stall warnings, the hung task detector.
HANG_RE='soft lockup|hard LOCKUP|rcu_.*detected stall|rcu: INFO:|blocked for more than'
