// SPDX-License-Identifier: GPL-2.0

//! What the module counted and found, for `/sys/kernel/debug/mmcid_rs/`
//! and the trace events: counters per kind of check since the last reset,
//! the mms seen, the watchdog's first report.  Writers run under a
//! runqueue lock: atomics only, fixed memory.  The lock-free parts are
//! counters.rs, mm_table.rs and once.rs, which cargo tests under loom.

use super::check::{Agreement, Mismatch, Path, SwitchKind, SwitchRace, SwitchVerdict};
use super::counters::Counters;
pub use super::counters::{Counter, Summary};
use super::ffi::bindings::{
    mmcid_rs_event as Event, mmcid_rs_trace, mmcid_rs_trace_enabled, MMCID_RS_TRACE_TEXT,
};
use super::ffi::{OpSnap, StallSnap, SwitchSnap, OP_USERS};
use super::mm_table::MmTable;
use super::model::invariants::Owner;
use super::model::{mode_name, FmtCid, MAX_CPUS};
use super::once::WriteOnce;
use super::op::{
    Accounting, Inconsistent, Op, OpCaller, OpCheck, OpDiff, OpKind, OpRace, OpVerdict,
};
use super::reach;
use super::stall::{describe, BufWriter};
use super::sync::{Atomic, Relaxed};
use core::fmt;

/// A row per CPU the model holds, and one for the rest.
static COUNTS: Counters<{ MAX_CPUS + 1 }> = Counters::new();

/// The row of `cpu` (any value: past the model's CPUs, the last row).
fn row(cpu: u32) -> usize {
    usize::try_from(cpu).unwrap_or(MAX_CPUS)
}

/// Count one `c` on `cpu`.
fn add(cpu: u32, c: Counter) {
    COUNTS.add(row(cpu), c, 1);
}

/// Count `n` of `c` on `cpu`.
fn add_n(cpu: u32, c: Counter, n: u32) {
    if n > 0 {
        COUNTS.add(row(cpu), c, i64::from(n));
    }
}

/// The shared row's CPU number, for counts of no particular CPU.
const ANY_CPU: u32 = u32::MAX;

fn count(c: Counter) -> i64 {
    COUNTS.count(c)
}

/// The watchdog's message, as `stall::describe()` wrote it.
struct LiveLockText {
    buf: [u8; 1536],
    len: usize,
}

impl LiveLockText {
    /// The text; `describe()` writes ASCII only.
    fn text(&self) -> &str {
        core::str::from_utf8(&self.buf[..self.len]).unwrap_or("(not ASCII)\n")
    }
}

static LIVE_LOCK: WriteOnce<LiveLockText> = WriteOnce::new(LiveLockText {
    buf: [0; 1536],
    len: 0,
});

/// Count a CPU stuck in a context switch; describe the first one since
/// load in `live_lock` and on the console.  Runs in the watchdog's timer,
/// where no runqueue lock is held, so it may print.
pub fn record_live_lock(s: &StallSnap) {
    add(ANY_CPU, Counter::LiveLock);
    // Only the first.
    LIVE_LOCK.write_once(|t| {
        let mut w = BufWriter::new(&mut t.buf);
        let _ = describe(s, &mut w);
        t.len = w.as_bytes().len();
        for line in t.text().lines() {
            kernel::pr_emerg!("{}\n", line);
        }
        trace_live_lock(s, t.text());
    });
}

/// The watchdog's message as `mmcid_rs:live_lock`, its lines joined by
/// " | ", if the event is on.
fn trace_live_lock(s: &StallSnap, text: &str) {
    let ev = Event::MMCID_RS_LIVE_LOCK;
    if !tracing(ev) {
        return;
    }
    let mut buf = [0u8; 1536];
    let mut w = BufWriter::new(&mut buf);
    for (i, line) in text.lines().enumerate() {
        let _ = fmt::Write::write_str(&mut w, if i == 0 { "" } else { " | " });
        let _ = fmt::Write::write_str(&mut w, line);
    }
    trace(ev, s.cpu, s.mm, s.next.pid, w.as_bytes());
}

/// Is `ev`'s trace event on?  Its text is formatted only then.
fn tracing(ev: Event) -> bool {
    // SAFETY: only reads the event's static key.
    unsafe { mmcid_rs_trace_enabled(ev) }
}

/// Emit `ev` with `text`.
fn trace(ev: Event, cpu: u32, mm: u64, pid: i32, text: &[u8]) {
    let len = u32::try_from(text.len()).unwrap_or(u32::MAX);
    // SAFETY: `text` is valid for `len` bytes during the call; the event
    // copies them into the trace buffer.
    unsafe { mmcid_rs_trace(ev, cpu, mm, pid, text.as_ptr().cast(), len) };
}

/// The watchdog's message (`live_lock`).
pub fn show_live_lock(f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match LIVE_LOCK.read(|t| f.write_str(t.text())) {
        Some(r) => r,
        None => writeln!(f, "no live lock seen since load"),
    }
}

/// What the check found of a fork or exit that it publishes.
#[derive(Clone, Copy)]
struct OpHead {
    op: Op,
    kind: Option<OpKind>,
    diff: Option<OpDiff>,
    broken: Option<(bool, Owner)>,
}

/// Count a fork, exit, affinity change or deferred work check; publish a
/// mismatch or violation.  Runs in a kretprobe handler, preemption
/// disabled.
pub fn record_op(op: Op, c: OpCheck, pre: &OpSnap, post: &OpSnap) {
    let cpu = post.cpu;
    MMS.note(pre.mm.mm);
    let mut diff = None;
    let mut kind = None;
    let v = match c.verdict {
        OpVerdict::Agree(k) => {
            kind = Some(k);
            reach::reach(cpu, c.paths);
            if let Some(c) = OpCaller::of(op, pre) {
                add(cpu, caller_counter(c));
            }
            if k.walked() {
                let to_cpu = matches!(k, OpKind::ForkToCpu);
                add(
                    cpu,
                    if to_cpu {
                        Counter::FixupToCpu
                    } else {
                        Counter::FixupToTask
                    },
                );
            }
            match k {
                OpKind::FirstUser => Counter::ForkFirst,
                OpKind::Fork => Counter::Fork,
                OpKind::ForkToCpu => Counter::ForkToCpu,
                OpKind::ForkToTask => Counter::ForkToTask,
                OpKind::Exit => Counter::Exit,
                OpKind::ExitToTask => Counter::ExitToTask,
                OpKind::LastExit => Counter::ExitLast,
                OpKind::AffinitySame => Counter::AffinitySame,
                OpKind::AffinityTaskMode => Counter::AffinityTaskMode,
                OpKind::AffinityStayCpu => Counter::AffinityStayCpu,
                OpKind::AffinitySwitchBack => Counter::AffinitySwitchBack,
                OpKind::WorkIdle => Counter::WorkIdle,
                OpKind::WorkToTask => Counter::WorkToTask,
            }
        }
        OpVerdict::Raced(OpRace::Overlap) if op == Op::Affinity => Counter::RacedAffinityCall,
        OpVerdict::Raced(OpRace::Overlap) => Counter::RacedOp,
        OpVerdict::Raced(OpRace::Affinity) => Counter::RacedAffinity,
        OpVerdict::Raced(OpRace::TooManyUsers) => Counter::OpTooManyUsers,
        OpVerdict::Unsupported => Counter::Unsupported,
        OpVerdict::Mismatch(k, d) => {
            kind = Some(k);
            diff = Some(d);
            Counter::OpMismatch
        }
    };
    add(cpu, v);
    add_n(cpu, Counter::OpCompared, c.compared);
    add_n(cpu, Counter::OpSwitched, c.skipped);
    let broken = match c.accounting {
        Accounting::Kept(n) => {
            add_n(cpu, Counter::Accounting, u32::from(n));
            add_n(
                cpu,
                Counter::AccountingBesideSwitch,
                u32::from(c.beside_switch),
            );
            None
        }
        Accounting::NotConsistent(why) => {
            add(cpu, Counter::AccountingNotConsistent);
            add(
                cpu,
                match why {
                    Inconsistent::OtherCall => Counter::NotConsistentOtherCall,
                    Inconsistent::Deferred => Counter::NotConsistentDeferred,
                    Inconsistent::Users => Counter::NotConsistentUsers,
                    Inconsistent::CpuInSwitch => Counter::NotConsistentCpuInSwitch,
                },
            );
            None
        }
        Accounting::Violation(at_return, o) => {
            add(cpu, Counter::InvariantViolation);
            Some((at_return, o))
        }
    };
    if diff.is_some() || broken.is_some() {
        let head = OpHead {
            op,
            kind,
            diff,
            broken,
        };
        let ev = if diff.is_some() {
            Event::MMCID_RS_OP_MISMATCH
        } else {
            Event::MMCID_RS_FIXUP_VIOLATION
        };
        publish(ev, cpu, pre.mm.mm, pre.t.pid, |f| {
            show_op(f, &head, pre, post)
        });
    }
}

/// The counter of checks in agreement from `c`.
fn caller_counter(c: OpCaller) -> Counter {
    match c {
        OpCaller::Thread => Counter::CallerThread,
        OpCaller::SharedMm => Counter::CallerSharedMm,
        OpCaller::NewMm => Counter::CallerNewMm,
        OpCaller::AfterExec => Counter::CallerAfterExec,
        OpCaller::AfterFailedExec => Counter::CallerAfterFailedExec,
        OpCaller::BeforeExec => Counter::CallerBeforeExec,
        OpCaller::Exit => Counter::CallerExit,
    }
}

/// Distinct mm addresses seen since reset.
const MM_TABLE: usize = 64;
static MMS: MmTable<MM_TABLE> = MmTable::new();

/// Count a switch verdict; publish a mismatch.
pub fn record_switch(v: SwitchVerdict, pre: &SwitchSnap, post: &SwitchSnap) {
    MMS.note(pre.mm.mm);
    let c = match v {
        SwitchVerdict::Agree(a) => {
            record_agreement(pre.cpu, a);
            reach::reach(pre.cpu, a.paths);
            match a.kind {
                SwitchKind::TaskOwned => Counter::TaskOwned,
                SwitchKind::CpuOwned => Counter::CpuOwned,
                SwitchKind::Transit => Counter::Transit,
                SwitchKind::Out => Counter::Out,
            }
        }
        SwitchVerdict::Raced(SwitchRace::MaxCids) => Counter::RacedMaxCids,
        SwitchVerdict::Unsupported => Counter::Unsupported,
        SwitchVerdict::Mismatch(want) => {
            publish_switch(pre, post, want);
            Counter::Mismatch
        }
    };
    add(pre.cpu, c);
}

/// Count an agreement's path and each change by another CPU it needed.
/// Its kind is counted by [`record_switch`]; `Path::Out` is the kind `Out`.
fn record_agreement(cpu: u32, a: Agreement) {
    let path = match a.path {
        Path::Out => None,
        Path::Kept => Some(Counter::Kept),
        Path::Converged => Some(Counter::Converged),
        Path::NotConverged => Some(Counter::NotConverged),
        Path::HandOver => Some(Counter::HandOver),
        Path::Allocated => Some(Counter::Allocated),
        Path::Spun => Some(Counter::Spun),
        Path::GaveUp => Some(Counter::GaveUp),
    };
    let changes = [
        (a.mode_changed, Counter::ModeChanged),
        (a.max_cids_changed, Counter::MaxCidsChanged),
        (a.other_cid, Counter::OtherCid),
    ];
    let changes = changes.into_iter().filter_map(|(yes, c)| yes.then_some(c));
    for c in path.into_iter().chain(changes) {
        add(cpu, c);
    }
}

fn publish_switch(pre: &SwitchSnap, post: &SwitchSnap, want: Mismatch) {
    let (cpu, mm, pid) = (pre.cpu, pre.mm.mm, pre.next.pid);
    publish(Event::MMCID_RS_MISMATCH, cpu, mm, pid, |f| {
        show_switch(f, pre, post, want)
    });
}

/// Most bytes of text a trace event carries.
const TRACE_TEXT: usize = MMCID_RS_TRACE_TEXT as usize;

/// The first mismatch or violation since load was printed.
static FIRST_PRINTED: Atomic<i32> = Atomic::new(0);

/// `show` as a `Display`.
struct Show<F>(F);

impl<F: Fn(&mut fmt::Formatter<'_>) -> fmt::Result> fmt::Display for Show<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (self.0)(f)
    }
}

/// Publish a finding: the first one since load goes to the kernel log, so
/// that a kernel that hangs right after it still shows what the module
/// saw first; each one goes to its trace event when that is on.  Out of
/// line and cold: findings are rare.
#[inline(never)]
#[cold]
fn publish(
    ev: Event,
    cpu: u32,
    mm: u64,
    pid: i32,
    show: impl Fn(&mut fmt::Formatter<'_>) -> fmt::Result,
) {
    let first = FIRST_PRINTED.cmpxchg(0, 1, Relaxed).is_ok();
    let traced = tracing(ev);
    if !first && !traced {
        return;
    }
    // The log line is the event's text behind this prefix: one buffer.
    const FIRST: &[u8] = b"first finding since load: ";
    let mut buf = [0u8; FIRST.len() + TRACE_TEXT];
    buf[..FIRST.len()].copy_from_slice(FIRST);
    let mut w = BufWriter::new(&mut buf[FIRST.len()..]);
    let _ = fmt::Write::write_fmt(&mut w, format_args!("{}", Show(show)));
    let n = FIRST.len() + w.as_bytes().len();
    // The formatters end their line.
    let line = buf[..n].strip_suffix(b"\n").unwrap_or(&buf[..n]);
    if traced {
        trace(ev, cpu, mm, pid, &line[FIRST.len()..]);
    }
    if first {
        crate::print_deferred(line);
    }
}

/// Zero every counter and forget the mms seen.  The watchdog's report
/// stays: it is the first since load.  Checks that run meanwhile may land
/// on either side of the reset.
pub fn reset() {
    COUNTS.reset();
    MMS.reset();
}

/// Switches checked and found in agreement.
pub fn agreed() -> i64 {
    [
        Counter::TaskOwned,
        Counter::CpuOwned,
        Counter::Transit,
        Counter::Out,
    ]
    .into_iter()
    .map(count)
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
        MMS.seen(),
        MM_TABLE,
        MMS.lost()
    )?;
    let all = checked_switches() + checked_ops();
    writeln!(
        f,
        "checked: {} context switches, {} forks, exits and affinity calls; not decided {} ({} of all checks)",
        checked_switches(),
        checked_ops(),
        undecided(),
        Percent(undecided(), all)
    )?;
    writeln!(f, "context switches in agreement: {}", agreed())?;
    writeln!(
        f,
        "  incoming task owns its CID:   {}",
        count(Counter::TaskOwned)
    )?;
    writeln!(
        f,
        "  incoming task uses CPU's CID: {}",
        count(Counter::CpuOwned)
    )?;
    writeln!(
        f,
        "  incoming CID in transit:      {}",
        count(Counter::Transit)
    )?;
    writeln!(f, "  outgoing task only:           {}", count(Counter::Out))?;
    writeln!(
        f,
        "  by path: kept {}, converged {}, not converged {}, hand-over {}, allocated {}, spun {}, gave up {}",
        count(Counter::Kept),
        count(Counter::Converged),
        count(Counter::NotConverged),
        count(Counter::HandOver),
        count(Counter::Allocated),
        count(Counter::Spun),
        count(Counter::GaveUp)
    )?;
    writeln!(
        f,
        "  explained by another CPU's change meanwhile: mode {}, max_cids {}, CID taken or freed {}",
        count(Counter::ModeChanged),
        count(Counter::MaxCidsChanged),
        count(Counter::OtherCid)
    )?;
    writeln!(
        f,
        "not decided (several forks or exits changed max_cids meanwhile): {} ({} of switches)",
        count(Counter::RacedMaxCids),
        Percent(count(Counter::RacedMaxCids), checked_switches())
    )?;
    writeln!(
        f,
        "forks and exits in agreement: {}; affinity changes and deferred works: {}",
        agreed_ops(),
        agreed_affinity()
    )?;
    writeln!(
        f,
        "  fork: first user {}, no mode change {}, to per CPU {}, to per task {}",
        count(Counter::ForkFirst),
        count(Counter::Fork),
        count(Counter::ForkToCpu),
        count(Counter::ForkToTask)
    )?;
    writeln!(
        f,
        "  exit: no mode change {}, to per task {}, last user {}",
        count(Counter::Exit),
        count(Counter::ExitToTask),
        count(Counter::ExitLast)
    )?;
    writeln!(
        f,
        "  by caller: thread {}, process sharing the mm {}, process with a new mm {}, execve() before {} after {} (failed, threads running {}), exit {}",
        count(Counter::CallerThread),
        count(Counter::CallerSharedMm),
        count(Counter::CallerNewMm),
        count(Counter::CallerBeforeExec),
        count(Counter::CallerAfterExec),
        count(Counter::CallerAfterFailedExec),
        count(Counter::CallerExit)
    )?;
    writeln!(
        f,
        "  affinity change: same weight {}, widened in per task mode {}, stays per CPU {}, switch back {}",
        count(Counter::AffinitySame),
        count(Counter::AffinityTaskMode),
        count(Counter::AffinityStayCpu),
        count(Counter::AffinitySwitchBack)
    )?;
    writeln!(
        f,
        "  deferred work: nothing to do {}, to per task {}",
        count(Counter::WorkIdle),
        count(Counter::WorkToTask)
    )?;
    writeln!(
        f,
        "  not decided: another fork or exit of the mm {} ({}), affinity change {} ({})",
        count(Counter::RacedOp),
        Percent(count(Counter::RacedOp), checked_ops()),
        count(Counter::RacedAffinity),
        Percent(count(Counter::RacedAffinity), checked_ops()),
    )?;
    writeln!(
        f,
        "  not decided: affinity change overlapped by another call of the mm {} ({} of affinity changes and works)",
        count(Counter::RacedAffinityCall),
        Percent(
            count(Counter::RacedAffinityCall),
            count(Counter::RacedAffinityCall) + agreed_affinity()
        ),
    )?;
    writeln!(
        f,
        "  not compared: mm with more than {} users (what a snapshot holds) {} ({})",
        OP_USERS,
        count(Counter::OpTooManyUsers),
        Percent(count(Counter::OpTooManyUsers), checked_ops())
    )?;
    writeln!(
        f,
        "unsupported (a CPU outside the possible mask the snapshot read): {}",
        count(Counter::Unsupported)
    )?;
    writeln!(
        f,
        "fixup walks that agreed user by user and CPU by CPU: to per CPU {}, to per task {}",
        count(Counter::FixupToCpu),
        count(Counter::FixupToTask)
    )?;
    writeln!(
        f,
        "  users and CPU slots compared {}, left out (a switch touched them) {} ({})",
        count(Counter::OpCompared),
        count(Counter::OpSwitched),
        Percent(
            count(Counter::OpSwitched),
            count(Counter::OpCompared) + count(Counter::OpSwitched)
        )
    )?;
    writeln!(
        f,
        "CID accounting and mode invariants: held in {} snapshots ({} beside a switch in flight), no consistent snapshot {}, violations {}",
        count(Counter::Accounting),
        count(Counter::AccountingBesideSwitch),
        count(Counter::AccountingNotConsistent),
        count(Counter::InvariantViolation)
    )?;
    writeln!(
        f,
        "  no consistent snapshot, why the entry was not: another call {}, deferred work {}, users {}, a CPU in a switch {}",
        count(Counter::NotConsistentOtherCall),
        count(Counter::NotConsistentDeferred),
        count(Counter::NotConsistentUsers),
        count(Counter::NotConsistentCpuInSwitch)
    )?;
    reach::show_status(f)?;
    writeln!(
        f,
        "live locks named by the watchdog: {}",
        count(Counter::LiveLock)
    )?;
    writeln!(
        f,
        "  its timers: armed {} times, stopped {} times (they run around checked forks and exits)",
        wd.starts, wd.stops
    )?;
    writeln!(
        f,
        "mismatches: {}",
        count(Counter::Mismatch) + count(Counter::OpMismatch)
    )?;
    writeln!(
        f,
        "  context switches {}, forks and exits {}",
        count(Counter::Mismatch),
        count(Counter::OpMismatch)
    )
}

/// Every context switch check, decided or not.
fn checked_switches() -> i64 {
    agreed() + count(Counter::RacedMaxCids) + count(Counter::Mismatch)
}

/// Every fork, exit, affinity change and deferred work check, decided or
/// not.
fn checked_ops() -> i64 {
    [
        Counter::RacedOp,
        Counter::RacedAffinity,
        Counter::RacedAffinityCall,
        Counter::OpTooManyUsers,
        Counter::OpMismatch,
    ]
    .into_iter()
    .map(count)
    .sum::<i64>()
        + agreed_ops()
        + agreed_affinity()
}

/// Checks not decided, of every kind, context switches and forks and
/// exits.  Forks and exits of mms too large to compare are counted apart.
fn undecided() -> i64 {
    [
        Counter::RacedMaxCids,
        Counter::RacedOp,
        Counter::RacedAffinity,
        Counter::RacedAffinityCall,
    ]
    .into_iter()
    .map(count)
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
pub fn agreed_ops() -> i64 {
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
    .map(count)
    .sum()
}

/// Affinity changes and deferred works checked and found in agreement.
pub fn agreed_affinity() -> i64 {
    [
        Counter::AffinitySame,
        Counter::AffinityTaskMode,
        Counter::AffinityStayCpu,
        Counter::AffinitySwitchBack,
        Counter::WorkIdle,
        Counter::WorkToTask,
    ]
    .into_iter()
    .map(count)
    .sum()
}

/// The value of a summary line of `report`.
fn summary(k: Summary, guard: super::guard::Status, wd: Watchdog) -> i64 {
    let big = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    match k {
        Summary::Agreed => agreed(),
        // Loaded with force=1 on mm_cid code the variant does not mirror;
        // the status table says which.
        Summary::Forced => i64::from(guard.0.is_err()),
        Summary::WatchdogStarts => big(wd.starts),
        Summary::WatchdogStops => big(wd.stops),
        Summary::AgreedForkExit => agreed_ops(),
        Summary::AgreedAffinity => agreed_affinity(),
        Summary::Mms => MMS.seen(),
        Summary::CheckedSwitches => checked_switches(),
        Summary::CheckedForkExit => checked_ops(),
        Summary::Undecided => undecided(),
        Summary::OpUsersMax => OP_USERS as i64,
        Summary::PathsChecked => reach::at_least(1) as i64,
        Summary::PathsTested => reach::at_least(reach::TESTED) as i64,
        Summary::PathsReachable => reach::reachable().count() as i64,
    }
}

/// `key value` lines for programs (`report`): the summary, then every
/// counter.
pub fn show_report(
    f: &mut fmt::Formatter<'_>,
    guard: super::guard::Status,
    wd: Watchdog,
) -> fmt::Result {
    for &k in Summary::ALL {
        writeln!(f, "{} {}", k.key(), summary(k, guard, wd))?;
    }
    for &c in Counter::ALL {
        writeln!(f, "{} {}", c.key(), count(c))?;
    }
    reach::show_report(f)
}

fn show_switch(
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

fn show_op(f: &mut fmt::Formatter<'_>, h: &OpHead, pre: &OpSnap, post: &OpSnap) -> fmt::Result {
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
