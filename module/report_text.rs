// SPDX-License-Identifier: GPL-2.0

//! The report's text, for `/sys/kernel/debug/mmcid_rs/` and the findings:
//! the status table, the `key value` report and the text of a mismatch or
//! violation.  Pure: what it shows comes in a [`Tally`] (report.rs reads
//! the live counters, the tests give numbers), and it writes nothing but
//! to its formatter.

use super::check::Mismatch;
pub use super::counters::{Counter, Summary};
use super::ffi::{OpSnap, SwitchSnap, OP_USERS};
use super::model::invariants::Owner;
use super::model::paths::Path;
use super::model::{mode_name, FmtCid};
use super::op::{Op, OpDiff, OpKind};
use core::fmt;

/// What the report counted since the last reset, as the text reads it.
pub trait Tally {
    /// `c`'s count.
    fn count(&self, c: Counter) -> i64;
    /// Checks in agreement that took `p`, since load.
    fn path(&self, p: Path) -> i64;
    /// The mms seen, and the checks of mms past the table's places.
    fn mms(&self) -> (i64, i64);
}

/// The places of the report's table of mms seen (report.rs).
pub const MM_TABLE: usize = 64;

/// A path needs this many checks in agreement to count as tested:
/// reached once says little about a boundary.
pub const TESTED: i64 = 100;

/// What the check found of a fork or exit that it publishes.
#[derive(Clone, Copy)]
pub struct OpHead {
    /// The call.
    pub op: Op,
    /// What the model made of it.
    pub kind: Option<OpKind>,
    /// The first field where the C differs from the model.
    pub diff: Option<OpDiff>,
    /// An invariant the C broke, at the return or at the entry.
    pub broken: Option<(bool, Owner)>,
}

/// Switches checked and found in agreement.
pub fn agreed(t: &impl Tally) -> i64 {
    [
        Counter::TaskOwned,
        Counter::CpuOwned,
        Counter::Transit,
        Counter::Out,
    ]
    .into_iter()
    .map(|c| t.count(c))
    .sum()
}

/// How often the live lock watchdog's timers were armed and stopped since
/// load: they run only around checked forks and exits.
#[derive(Clone, Copy)]
pub struct Watchdog {
    /// Timers armed by a fork or exit.
    pub starts: u64,
    /// Timers that stopped, none being in flight.
    pub stops: u64,
}

/// The human-readable table (`status`).
pub fn show_status(
    f: &mut fmt::Formatter<'_>,
    t: &impl Tally,
    variant: &str,
    guard: super::guard::Status,
    pid: i32,
    wd: Watchdog,
) -> fmt::Result {
    let filter = if pid == 0 {
        "all processes"
    } else {
        "one process"
    };
    writeln!(f, "model variant: {}", variant)?;
    writeln!(f, "{}", guard)?;
    writeln!(f, "checking: {} (pid filter {})", filter, pid)?;
    writeln!(f, "model cpus max: {}", super::model::MAX_CPUS)?;
    writeln!(
        f,
        "mms observed: {} (checks of mms past the {}-entry table: {})",
        t.mms().0,
        MM_TABLE,
        t.mms().1
    )?;
    let all = checked_switches(t) + checked_ops(t);
    writeln!(
        f,
        "checked: {} context switches, {} forks, exits and affinity calls; not decided {} ({} of all checks)",
        checked_switches(t),
        checked_ops(t),
        undecided(t),
        Percent(undecided(t), all)
    )?;
    writeln!(f, "context switches in agreement: {}", agreed(t))?;
    writeln!(
        f,
        "  incoming task owns its CID:   {}",
        t.count(Counter::TaskOwned)
    )?;
    writeln!(
        f,
        "  incoming task uses CPU's CID: {}",
        t.count(Counter::CpuOwned)
    )?;
    writeln!(
        f,
        "  incoming CID in transit:      {}",
        t.count(Counter::Transit)
    )?;
    writeln!(
        f,
        "  outgoing task only:           {}",
        t.count(Counter::Out)
    )?;
    writeln!(
        f,
        "  by path: kept {}, converged {}, not converged {}, hand-over {}, allocated {}, spun {}, gave up {}",
        t.count(Counter::Kept),
        t.count(Counter::Converged),
        t.count(Counter::NotConverged),
        t.count(Counter::HandOver),
        t.count(Counter::Allocated),
        t.count(Counter::Spun),
        t.count(Counter::GaveUp)
    )?;
    writeln!(
        f,
        "  explained by another CPU's change meanwhile: mode {}, max_cids {}, CID taken or freed {}",
        t.count(Counter::ModeChanged),
        t.count(Counter::MaxCidsChanged),
        t.count(Counter::OtherCid)
    )?;
    writeln!(
        f,
        "  the same snapshots as one of the last {} checks on the CPU, its verdict taken: {} ({} of switches)",
        super::memo::WAYS,
        t.count(Counter::Repeated),
        Percent(t.count(Counter::Repeated), checked_switches(t))
    )?;
    writeln!(
        f,
        "not decided (several forks or exits changed max_cids meanwhile): {} ({} of switches)",
        t.count(Counter::RacedMaxCids),
        Percent(t.count(Counter::RacedMaxCids), checked_switches(t))
    )?;
    writeln!(
        f,
        "forks and exits in agreement: {}; affinity changes and deferred works: {}",
        agreed_ops(t),
        agreed_affinity(t)
    )?;
    writeln!(
        f,
        "  fork: first user {}, no mode change {}, to per CPU {}, to per task {}",
        t.count(Counter::ForkFirst),
        t.count(Counter::Fork),
        t.count(Counter::ForkToCpu),
        t.count(Counter::ForkToTask)
    )?;
    writeln!(
        f,
        "  exit: no mode change {}, to per task {}, last user {}",
        t.count(Counter::Exit),
        t.count(Counter::ExitToTask),
        t.count(Counter::ExitLast)
    )?;
    writeln!(
        f,
        "  by caller: thread {}, process sharing the mm {}, process with a new mm {}, execve() before {} after {} (failed, threads running {}), exit {}",
        t.count(Counter::CallerThread),
        t.count(Counter::CallerSharedMm),
        t.count(Counter::CallerNewMm),
        t.count(Counter::CallerBeforeExec),
        t.count(Counter::CallerAfterExec),
        t.count(Counter::CallerAfterFailedExec),
        t.count(Counter::CallerExit)
    )?;
    writeln!(
        f,
        "  affinity change: same weight {}, widened in per task mode {}, stays per CPU {}, switch back {}",
        t.count(Counter::AffinitySame),
        t.count(Counter::AffinityTaskMode),
        t.count(Counter::AffinityStayCpu),
        t.count(Counter::AffinitySwitchBack)
    )?;
    writeln!(
        f,
        "  deferred work: nothing to do {}, to per task {}",
        t.count(Counter::WorkIdle),
        t.count(Counter::WorkToTask)
    )?;
    writeln!(
        f,
        "  not decided: another fork or exit of the mm {} ({}), affinity change {} ({})",
        t.count(Counter::RacedOp),
        Percent(t.count(Counter::RacedOp), checked_ops(t)),
        t.count(Counter::RacedAffinity),
        Percent(t.count(Counter::RacedAffinity), checked_ops(t)),
    )?;
    writeln!(
        f,
        "  not decided: affinity change overlapped by another call of the mm {} ({} of affinity changes and works)",
        t.count(Counter::RacedAffinityCall),
        Percent(
            t.count(Counter::RacedAffinityCall),
            t.count(Counter::RacedAffinityCall) + agreed_affinity(t)
        ),
    )?;
    writeln!(
        f,
        "  not compared: mm with more than {} users (what a snapshot holds) {} ({})",
        OP_USERS,
        t.count(Counter::OpTooManyUsers),
        Percent(t.count(Counter::OpTooManyUsers), checked_ops(t))
    )?;
    writeln!(
        f,
        "unsupported (a CPU outside the possible mask the snapshot read): {}",
        t.count(Counter::Unsupported)
    )?;
    writeln!(
        f,
        "fixup walks that agreed user by user and CPU by CPU: to per CPU {}, to per task {}",
        t.count(Counter::FixupToCpu),
        t.count(Counter::FixupToTask)
    )?;
    writeln!(
        f,
        "  users and CPU slots compared {}, left out (a switch touched them) {} ({})",
        t.count(Counter::OpCompared),
        t.count(Counter::OpSwitched),
        Percent(
            t.count(Counter::OpSwitched),
            t.count(Counter::OpCompared) + t.count(Counter::OpSwitched)
        )
    )?;
    writeln!(
        f,
        "CID accounting and mode invariants: held in {} snapshots ({} beside a switch in flight), no consistent snapshot {}, violations {}",
        t.count(Counter::Accounting),
        t.count(Counter::AccountingBesideSwitch),
        t.count(Counter::AccountingNotConsistent),
        t.count(Counter::InvariantViolation)
    )?;
    writeln!(
        f,
        "  no consistent snapshot, why the entry was not: another call {}, deferred work {}, users {}, a CPU in a switch {}",
        t.count(Counter::NotConsistentOtherCall),
        t.count(Counter::NotConsistentDeferred),
        t.count(Counter::NotConsistentUsers),
        t.count(Counter::NotConsistentCpuInSwitch)
    )?;
    show_paths(f, t)?;
    writeln!(
        f,
        "live locks named by the watchdog: {}",
        t.count(Counter::LiveLock)
    )?;
    writeln!(
        f,
        "  its timers: armed {} times, stopped {} times (they run around checked forks and exits)",
        wd.starts, wd.stops
    )?;
    writeln!(
        f,
        "mismatches: {}",
        t.count(Counter::Mismatch) + t.count(Counter::OpMismatch)
    )?;
    writeln!(
        f,
        "  context switches {}, forks and exits {}",
        t.count(Counter::Mismatch),
        t.count(Counter::OpMismatch)
    )
}

/// Every context switch check, decided or not.
fn checked_switches(t: &impl Tally) -> i64 {
    agreed(t) + t.count(Counter::RacedMaxCids) + t.count(Counter::Mismatch)
}

/// Every fork, exit, affinity change and deferred work check, decided or
/// not.
fn checked_ops(t: &impl Tally) -> i64 {
    [
        Counter::RacedOp,
        Counter::RacedAffinity,
        Counter::RacedAffinityCall,
        Counter::OpTooManyUsers,
        Counter::OpMismatch,
    ]
    .into_iter()
    .map(|c| t.count(c))
    .sum::<i64>()
        + agreed_ops(t)
        + agreed_affinity(t)
}

/// Checks not decided, of every kind, context switches and forks and
/// exits.  Forks and exits of mms too large to compare are counted apart.
fn undecided(t: &impl Tally) -> i64 {
    [
        Counter::RacedMaxCids,
        Counter::RacedOp,
        Counter::RacedAffinity,
        Counter::RacedAffinityCall,
    ]
    .into_iter()
    .map(|c| t.count(c))
    .sum()
}

/// `n` of `total` as a percentage with two decimals, without floats.
struct Percent(i64, i64);

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bp = if self.1 > 0 {
            self.0 * 10_000 / self.1
        } else {
            0
        };
        write!(f, "{}.{:02}%", bp / 100, bp % 100)
    }
}

/// Forks and exits checked and found in agreement.
pub fn agreed_ops(t: &impl Tally) -> i64 {
    [
        Counter::ForkFirst,
        Counter::Fork,
        Counter::ForkToCpu,
        Counter::ForkToTask,
        Counter::Exit,
        Counter::ExitToTask,
        Counter::ExitLast,
    ]
    .into_iter()
    .map(|c| t.count(c))
    .sum()
}

/// Affinity changes and deferred works checked and found in agreement.
pub fn agreed_affinity(t: &impl Tally) -> i64 {
    [
        Counter::AffinitySame,
        Counter::AffinityTaskMode,
        Counter::AffinityStayCpu,
        Counter::AffinitySwitchBack,
        Counter::WorkIdle,
        Counter::WorkToTask,
    ]
    .into_iter()
    .map(|c| t.count(c))
    .sum()
}

/// The value of a summary line of `report`.
fn summary(t: &impl Tally, k: Summary, guard: super::guard::Status, wd: Watchdog) -> i64 {
    let big = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    match k {
        Summary::Agreed => agreed(t),
        // Loaded with force=1 on mm_cid code the variant does not mirror;
        // the status table says which.
        Summary::Forced => i64::from(guard.0.is_err()),
        Summary::WatchdogStarts => big(wd.starts),
        Summary::WatchdogStops => big(wd.stops),
        Summary::AgreedForkExit => agreed_ops(t),
        Summary::AgreedAffinity => agreed_affinity(t),
        Summary::Mms => t.mms().0,
        Summary::CheckedSwitches => checked_switches(t),
        Summary::CheckedForkExit => checked_ops(t),
        Summary::Undecided => undecided(t),
        Summary::OpUsersMax => OP_USERS as i64,
        Summary::PathsChecked => at_least(t, 1) as i64,
        Summary::PathsTested => at_least(t, TESTED) as i64,
        Summary::PathsReachable => reachable().count() as i64,
    }
}

/// `key value` lines for programs (`report`): the summary, then every
/// counter.
pub fn show_report(
    f: &mut fmt::Formatter<'_>,
    t: &impl Tally,
    guard: super::guard::Status,
    wd: Watchdog,
) -> fmt::Result {
    for &k in Summary::ALL {
        writeln!(f, "{} {}", k.key(), summary(t, k, guard, wd))?;
    }
    for &c in Counter::ALL {
        writeln!(f, "{} {}", c.key(), t.count(c))?;
    }
    report_paths(f, t)
}

/// The text of a switch mismatch: both snapshots' values and what the
/// model wanted (the trace event `mmcid_rs:mismatch`).
pub fn show_switch(
    f: &mut fmt::Formatter<'_>,
    pre: &SwitchSnap,
    post: &SwitchSnap,
    want: Mismatch,
) -> fmt::Result {
    write!(
        f,
        "switch on cpu {}: mm {:#x} mode {:#x} -> {:#x} max_cids {} -> {} bitmap {:#x} -> {:#x}; prev pid {} cid {:#x} -> {:#x}; next pid {} cid {:#x} -> {:#x}; pcpu {:#x} -> {:#x}; ",
        pre.cpu,
        pre.mm.mm,
        pre.mm.mode,
        post.mm.mode,
        pre.mm.max_cids,
        post.mm.max_cids,
        pre.mm.cidmask,
        post.mm.cidmask,
        pre.prev.pid,
        pre.prev.cid,
        post.prev.cid,
        pre.next.pid,
        pre.next.cid,
        post.next.cid,
        pre.mm.pcpu_cid,
        post.mm.pcpu_cid
    )?;
    if want.walk_behind {
        return writeln!(
            f,
            "the mode reads per task, but prev and this CPU still hold its CPU owned CID: the switch back completed before its walk reached this CPU"
        );
    }
    match (want.bit_clear, want.want) {
        (Some(cid), _) => writeln!(
            f,
            "the model explains these CIDs, but CID {} stays owned on this CPU with its bit clear",
            cid
        ),
        (None, Some(w)) => writeln!(
            f,
            "model (from the first snapshot): prev {:x?} next {:x?} pcpu {:#x}",
            w.prev_cid, w.next_cid, w.pcpu_cid
        ),
        (None, None) => writeln!(f, "model: no CID is free, nor can be freed meanwhile"),
    }
}

/// The text of a fork, exit, affinity or deferred work finding: both
/// snapshots' values, the first difference or the broken invariant, the
/// task's, each CPU's and each user's CID.
pub fn show_op(f: &mut fmt::Formatter<'_>, h: &OpHead, pre: &OpSnap, post: &OpSnap) -> fmt::Result {
    write!(
        f,
        "{} ({:?}) on cpu {}: pid {} mm {:#x}; mode {} -> {}, users {} -> {}, max_cids {} -> {}, pcpu_thrs {} -> {}, bitmap {:#x} -> {:#x}",
        h.op.name(),
        h.kind,
        pre.cpu,
        pre.t.pid,
        pre.mm.mm,
        mode_name(pre.mm.mode),
        mode_name(post.mm.mode),
        pre.mm.users,
        post.mm.users,
        pre.mm.max_cids,
        post.mm.max_cids,
        pre.pcpu_thrs,
        post.pcpu_thrs,
        pre.mm.cidmask,
        post.mm.cidmask,
    )?;
    if let Some(d) = h.diff {
        write!(
            f,
            "; differs: {:?} model {:#x} C {:#x}",
            d.field, d.want, d.got
        )?;
    }
    if let Some((at_return, o)) = h.broken {
        let at = if at_return { "return" } else { "entry" };
        write!(f, "; invariant broken at {}: {:?}", at, o)?;
    }
    write!(
        f,
        " | task tid {} {} -> {} |",
        pre.t.tid,
        FmtCid(pre.t.cid),
        FmtCid(post.t.cid)
    )?;
    for (c, a) in pre.possible_cpus() {
        let b = &post.cpus[c];
        write!(
            f,
            " CPU{}:{}->{}",
            c,
            FmtCid(a.pcpu_cid),
            FmtCid(b.pcpu_cid)
        )?;
    }
    write!(f, " |")?;
    for u in post.kept_users() {
        write!(f, " tid {}:{}", u.tid, FmtCid(u.cid))?;
    }
    writeln!(f)
}

/// The paths 7.3 can take.
pub fn reachable() -> impl Iterator<Item = Path> {
    Path::in_mask(Path::MASK & !Path::UNREACHABLE_ON_V7_3)
}

/// Reachable paths checked at least `min` times.
pub fn at_least(t: &impl Tally, min: i64) -> usize {
    reachable().filter(|&p| t.path(p) >= min).count()
}

/// `path_<name> <count>` for every path, for `report`.
fn report_paths(f: &mut fmt::Formatter<'_>, t: &impl Tally) -> fmt::Result {
    for p in Path::ALL {
        writeln!(f, "path_{} {}", p.name(), t.path(p))?;
    }
    Ok(())
}

/// The lines of `status`: how many paths, which are missing, which were
/// checked fewer than [`TESTED`] times.
fn show_paths(f: &mut fmt::Formatter<'_>, t: &impl Tally) -> fmt::Result {
    writeln!(
        f,
        "paths of the mm_cid code checked since load: {} of {} reachable on 7.3, {} of them {} times or more",
        at_least(t, 1),
        reachable().count(),
        at_least(t, TESTED),
        TESTED
    )?;
    write!(f, "  not checked:")?;
    for p in reachable().filter(|&p| t.path(p) == 0) {
        write!(f, " {}", p.name())?;
    }
    write!(f, "\n  checked fewer than {} times:", TESTED)?;
    for p in reachable().filter(|&p| (1..TESTED).contains(&t.path(p))) {
        write!(f, " {} ({})", p.name(), t.path(p))?;
    }
    write!(f, "\n  unreachable on 7.3 (model/paths.rs):")?;
    for p in Path::in_mask(Path::UNREACHABLE_ON_V7_3) {
        write!(f, " {}", p.name())?;
    }
    writeln!(f)
}

/// `n` of `of` as a percentage with one decimal, rounded, without floats.
struct Percent1(i64, i64);

impl fmt::Display for Percent1 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pm = if self.1 > 0 {
            (self.0 * 2000 + self.1) / (2 * self.1)
        } else {
            0
        };
        write!(f, "{}.{}%", pm / 10, pm % 10)
    }
}

/// The one-line verdict (`verdict`): agreement on the checked transitions
/// of both mode directions, no mismatch or broken invariant, no live lock;
/// else `mmcid_rs: FAIL: ` and why.  A load with force=1 on code the
/// variant does not mirror says so at the end.
pub fn show_verdict(
    f: &mut fmt::Formatter<'_>,
    t: &impl Tally,
    variant: &str,
    guard: super::guard::Status,
) -> fmt::Result {
    let mism = t.count(Counter::Mismatch)
        + t.count(Counter::OpMismatch)
        + t.count(Counter::InvariantViolation);
    let (agreed, to_cpu, to_task) = (
        agreed(t),
        t.count(Counter::ForkToCpu),
        t.count(Counter::ExitToTask),
    );
    let walks = t.count(Counter::FixupToCpu) + t.count(Counter::FixupToTask);
    if mism != 0 {
        write!(
            f,
            "mmcid_rs: FAIL: C and Rust ({}) disagree on {} transitions (trace events mmcid_rs:*, the first ones above)",
            variant, mism
        )?;
    } else if t.count(Counter::LiveLock) != 0 {
        write!(
            f,
            "mmcid_rs: FAIL: the watchdog named a live lock (see /sys/kernel/debug/mmcid_rs/live_lock)"
        )?;
    } else if agreed <= 0 || to_cpu <= 0 || to_task <= 0 || walks <= 0 {
        write!(
            f,
            "mmcid_rs: FAIL: too little checked: {} switches, {} forks to per CPU mode, {} exits to per task mode, {} fixup walks",
            agreed, to_cpu, to_task, walks
        )?;
    } else {
        let (ops, aff) = (agreed_ops(t), agreed_affinity(t));
        let (sw, cmp) = (t.count(Counter::OpSwitched), t.count(Counter::OpCompared));
        write!(
            f,
            "mmcid_rs: C and Rust ({}) agree on {} transitions ({} context switches, {} forks and exits, {} affinity changes and deferred works, {} switches to per CPU mode, {} back, {} fixup walks agreed user by user; {} not decided; ",
            variant,
            agreed + ops + aff,
            agreed,
            ops,
            aff,
            to_cpu,
            to_task,
            walks,
            undecided(t)
        )?;
        write!(
            f,
            "partly checked: CID accounting skipped on {} of fork and exit snapshots, {} of users and CPU slots left out; {} forks and exits of mms over {} users not compared); ",
            Percent1(t.count(Counter::AccountingNotConsistent), checked_ops(t)),
            Percent1(sw, sw + cmp),
            t.count(Counter::OpTooManyUsers),
            OP_USERS
        )?;
        write!(
            f,
            "paths: {} of {} reachable branches of the mm_cid code checked, {} of them {} times or more",
            at_least(t, 1),
            reachable().count(),
            at_least(t, TESTED),
            TESTED
        )?;
    }
    if guard.0.is_err() {
        write!(f, "; {}", guard)?;
    }
    writeln!(f)
}
