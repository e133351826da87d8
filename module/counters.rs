// SPDX-License-Identifier: GPL-2.0

//! The names of what the module counts: each counter and each summary
//! line of `/sys/kernel/debug/mmcid_rs/report` is declared here once, with
//! the key `report` prints it under.  The kselftest and the scripts read
//! these keys; a test checks that every key they read is one of these.
//! [`Counters`] holds the counts.

use super::model::paths::Path;
use super::sync::{Atomic, Relaxed};

/// Declares an enum of report keys: the variants, their keys, `ALL`.
macro_rules! report_keys {
    ($(#[$meta:meta])* $vis:vis enum $ty:ident {
        $($(#[doc = $doc:literal])* $name:ident = $key:literal,)*
    }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(usize)]
        $vis enum $ty {
            $($(#[doc = $doc])* $name,)*
        }

        impl $ty {
            /// Every one, in the order `report` prints them.
            pub const ALL: &'static [$ty] = &[$($ty::$name,)*];

            /// The key `report` prints it under.
            pub const fn key(self) -> &'static str {
                match self {
                    $($ty::$name => $key,)*
                }
            }
        }
    };
}

report_keys! {
    /// Counters, kept per CPU and summed when read.
    pub enum Counter {
    /// Switches whose incoming task owns its CID.
    TaskOwned = "switch_task_owned",
    /// Switches whose incoming task uses its CPU's CID.
    CpuOwned = "switch_cpu_owned",
    /// Switches whose incoming task borrows a CID in transit.
    Transit = "switch_transit",
    /// Switches that only touched the outgoing task.
    Out = "switch_out_only",
    /// Not decided: several forks or exits changed max_cids meanwhile.
    RacedMaxCids = "raced_max_cids",
    /// More possible CPUs than the model holds.
    Unsupported = "unsupported",
    /// Switch checks whose snapshots repeated those of one of the last
    /// few on their CPU, which gave the verdict (memo.rs).
    Repeated = "switch_repeated",
    /// The C did something else than the model.
    Mismatch = "mismatches",
    /// Switches in agreement that kept the owner's CID (fast path).
    Kept = "switch_kept",
    /// Switches in agreement that converged into the optimal CID space.
    Converged = "switch_converged",
    /// Switches in agreement whose converge found no CID and kept the old.
    NotConverged = "switch_not_converged",
    /// Switches in agreement that handed a CID over or dropped one.
    HandOver = "switch_hand_over",
    /// Switches in agreement that allocated a CID.
    Allocated = "switch_allocated",
    /// Switches in agreement that allocated a CID from a pool the snapshot
    /// had empty.
    Spun = "switch_spun",
    /// Switches in agreement whose allocation gave up (a bounded wait):
    /// other CPUs took every CID meanwhile.
    GaveUp = "switch_gave_up",
    /// Switches in agreement whose C read a mode written meanwhile.
    ModeChanged = "switch_mode_changed",
    /// Switches in agreement whose C read a max_cids written meanwhile.
    MaxCidsChanged = "switch_max_cids_changed",
    /// Switches in agreement whose allocation got another CID than the
    /// lowest free in the snapshot.
    OtherCid = "switch_other_cid",
    /// Forks into a fresh mm (first user).
    ForkFirst = "fork_first_user",
    /// Forks without mode change.
    Fork = "fork",
    /// Forks that switched to per CPU mode.
    ForkToCpu = "fork_to_cpu",
    /// Forks that switched back to per task mode.
    ForkToTask = "fork_to_task",
    /// Exits without mode change.
    Exit = "exit",
    /// Exits that switched back to per task mode.
    ExitToTask = "exit_to_task",
    /// Exits of the last user.
    ExitLast = "exit_last_user",
    /// Forks in agreement of a thread (`CLONE_THREAD`).
    CallerThread = "caller_thread_fork",
    /// Forks in agreement of a process sharing the mm (`vfork()`,
    /// `clone(CLONE_VM)`).
    CallerSharedMm = "caller_shared_mm_fork",
    /// Forks in agreement of a process with a new mm, whose entry was the
    /// mm `mm_init_cid()` made.
    CallerNewMm = "caller_process_fork",
    /// `sched_mm_cid_after_execve()` in agreement with no other user.
    CallerAfterExec = "caller_after_execve",
    /// `sched_mm_cid_after_execve()` in agreement with other users: a
    /// failed `execve()` while other threads ran.
    CallerAfterFailedExec = "caller_after_failed_execve",
    /// `sched_mm_cid_before_execve()` in agreement.
    CallerBeforeExec = "caller_before_execve",
    /// `do_exit()` in agreement.
    CallerExit = "caller_exit",
    /// Forks and exits not decided: another one of the mm ran in between.
    RacedOp = "raced_fork_exit",
    /// Forks and exits where the C did something else than the model.
    OpMismatch = "fork_exit_mismatches",
    /// CPUs the watchdog found stuck in a context switch.
    LiveLock = "live_locks",
    /// Forks and exits whose walk to per CPU mode agreed user by user.
    FixupToCpu = "fixup_to_cpu",
    /// Forks, exits and deferred works whose walk to per task mode agreed
    /// user by user.
    FixupToTask = "fixup_to_task",
    /// Forks and exits not decided: an affinity change meanwhile.
    RacedAffinity = "raced_affinity",
    /// Forks and exits not compared: more users than a snapshot holds
    /// (`OP_USERS`).
    OpTooManyUsers = "op_too_many_users",
    /// Users and CPU slots a fork or exit check compared one by one.
    OpCompared = "op_compared",
    /// Users and CPU slots left out: a context switch touched them.
    OpSwitched = "op_switched",
    /// Consistent snapshots whose CID accounting and mode invariants held.
    Accounting = "accounting_checked",
    /// ... of them with a context switch of the mm in flight, its CPU, prev
    /// and next left out (up to two set bits each unseen).
    AccountingBesideSwitch = "accounting_beside_switch",
    /// Forks and exits with no consistent snapshot at either end.
    AccountingNotConsistent = "accounting_not_consistent",
    /// Of those, why the entry was not: another call held `mm_cid::mutex`.
    NotConsistentOtherCall = "not_consistent_other_call",
    /// ... the deferred work was queued.
    NotConsistentDeferred = "not_consistent_deferred",
    /// ... more users than a snapshot holds.
    NotConsistentUsers = "not_consistent_users",
    /// ... a CPU was inside a context switch of the mm.
    NotConsistentCpuInSwitch = "not_consistent_cpu_in_switch",
    /// Snapshots with a CID owned twice, leaked, out of range or with the
    /// wrong owner for the mode.
    InvariantViolation = "invariant_violations",
    /// Affinity changes in agreement that left the mm's mask weight as it
    /// was (a narrowing, or a mask the mm had).
    AffinitySame = "affinity_same",
    /// Affinity changes in agreement that widened the mm in per task mode.
    AffinityTaskMode = "affinity_task_mode",
    /// Affinity changes in agreement that widened the mm in per CPU mode
    /// and left it there.
    AffinityStayCpu = "affinity_stay_cpu",
    /// Affinity changes in agreement that widened the mm in per CPU mode
    /// and queued (or found queued) the switch back to per task mode.
    AffinitySwitchBack = "affinity_switch_back",
    /// Deferred works (`mm_cid_work_fn()`) in agreement with nothing to do.
    WorkIdle = "work_idle",
    /// Deferred works in agreement that switched back to per task mode.
    WorkToTask = "work_to_task",
    /// Affinity changes not decided: a fork, exit, deferred work or other
    /// affinity change of the mm overlapped.
    RacedAffinityCall = "raced_affinity_call",
    }
}

/// How many [`Counter`]s there are.
pub const NR_COUNTERS: usize = Counter::ALL.len();

report_keys! {
    /// Lines of `report` computed from the counters and the module's state,
    /// printed before the counters.
    pub enum Summary {
        /// Context switches in agreement, of every kind.
        Agreed = "agreed",
        /// 1: loaded with `force=1` on mm_cid code the variant does not mirror.
        Forced = "forced",
        /// Watchdog timers armed since load.
        WatchdogStarts = "watchdog_starts",
        /// Watchdog timers that stopped since load.
        WatchdogStops = "watchdog_stops",
        /// Forks and exits in agreement, of every kind.
        AgreedForkExit = "agreed_fork_exit",
        /// Affinity changes and deferred works in agreement, of every kind.
        AgreedAffinity = "agreed_affinity",
        /// Distinct mms seen since reset.
        Mms = "mms",
        /// Context switch checks, decided or not.
        CheckedSwitches = "checked_switches",
        /// Fork, exit, affinity change and deferred work checks, decided
        /// or not.
        CheckedForkExit = "checked_fork_exit",
        /// Checks not decided, of every kind.
        Undecided = "undecided",
        /// The most users a fork or exit snapshot holds (`MMCID_OP_USERS`).
        OpUsersMax = "op_users_max",
        /// Paths of the mm_cid code (model/paths.rs) reachable on 7.3 that
        /// a check in agreement took, since load (`path_<name>` each).
        PathsChecked = "paths_checked",
        /// ... of them, taken by `reach::TESTED` checks or more.
        PathsTested = "paths_tested",
        /// The paths 7.3 can take.
        PathsReachable = "paths_reachable",
    }
}

/// Is `key` a line of `report`?
pub fn is_report_key(key: &str) -> bool {
    Summary::ALL.iter().any(|s| s.key() == key)
        || Counter::ALL.iter().any(|c| c.key() == key)
        || key
            .strip_prefix("path_")
            .is_some_and(|n| Path::ALL.iter().any(|p| p.name() == n))
}

/// The counters of one CPU, on cache lines of their own.
#[repr(align(64))]
struct Row<const N: usize>([Atomic<i64>; N]);

/// A row of counters per CPU, where that CPU counts its switches, forks
/// and exits, so that CPUs do not pass one cache line around on every
/// switch; the last row for the rest (other CPUs, fixup walks, live
/// locks).  Lock free: relaxed atomic adds, summed when read.  `N`
/// counters a row: the [`Counter`]s, or the model's paths
/// (reach.rs, `REACHED`).
pub struct Counters<const ROWS: usize, const N: usize = NR_COUNTERS>([Row<N>; ROWS]);

impl<const ROWS: usize, const N: usize> Counters<ROWS, N> {
    /// Every counter zero.
    #[cfg(not(loom))]
    pub const fn new() -> Self {
        Self([const { Row([const { Atomic::<i64>::new(0) }; N]) }; ROWS])
    }

    /// Every counter zero.
    #[cfg(loom)]
    pub fn new() -> Self {
        Self(core::array::from_fn(|_| {
            Row(core::array::from_fn(|_| Atomic::<i64>::new(0)))
        }))
    }

    /// Count `n` of `c` in `row` (past the last row: the last).
    pub fn add(&self, row: usize, c: impl Into<usize>, n: i64) {
        self.0[row.min(ROWS - 1)].0[c.into()].add(n, Relaxed);
    }

    /// `c`, summed over the rows.
    pub fn count(&self, c: impl Into<usize>) -> i64 {
        let i = c.into();
        self.0.iter().map(|r| r.0[i].load(Relaxed)).sum()
    }

    /// Zero every counter.  Adds that run meanwhile may land on either side.
    pub fn reset(&self) {
        for c in self.0.iter().flat_map(|r| &r.0) {
            c.store(0, Relaxed);
        }
    }
}

impl From<Counter> for usize {
    fn from(c: Counter) -> usize {
        c as usize
    }
}

impl<const ROWS: usize, const N: usize> Default for Counters<ROWS, N> {
    fn default() -> Self {
        Self::new()
    }
}
