// SPDX-License-Identifier: GPL-2.0

//! What the module counted and found, and every output of it to C: the
//! counters per kind of check since the last reset, the mms seen, the
//! watchdog's first report; the trace events, the kernel log and the
//! debugfs files' text (written by report_text.rs from [`Live`]).
//! Writers run under a runqueue lock: atomics only, fixed memory.  The
//! lock-free parts are counters.rs, mm_table.rs and once.rs, which cargo
//! tests under loom.

use super::check::{Agreement, Mismatch, Path, SwitchKind, SwitchRace, SwitchVerdict};
use super::counters::Counters;
pub use super::counters::{Counter, Summary};
use super::ffi::bindings::{
    mmcid_rs_event as Event, mmcid_rs_print_deferred, mmcid_rs_trace, mmcid_rs_trace_enabled,
    MMCID_RS_TRACE_TEXT,
};
use super::ffi::{OpSnap, StallSnap, SwitchSnap};
use super::mm_table::MmTable;
use super::model::paths;
use super::model::MAX_CPUS;
use super::once::WriteOnce;
use super::op::{Accounting, Inconsistent, Op, OpCaller, OpCheck, OpKind, OpRace, OpVerdict};
use super::reach;
pub use super::report_text::Watchdog;
use super::report_text::{self as text, show_op, show_switch, OpHead, Tally, MM_TABLE};
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
static MMS: MmTable<MM_TABLE> = MmTable::new();

/// Count a switch verdict; publish a mismatch.
pub fn record_switch(v: SwitchVerdict, repeated: bool, pre: &SwitchSnap, post: &SwitchSnap) {
    MMS.note(pre.mm.mm);
    if repeated {
        add(pre.cpu, Counter::Repeated);
    }
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
        print_deferred(line);
    }
}

/// Zero every counter and forget the mms seen.  The watchdog's report
/// stays: it is the first since load.  Checks that run meanwhile may land
/// on either side of the reset.
pub fn reset() {
    COUNTS.reset();
    MMS.reset();
}

/// Print `line` (at most 1000 bytes) with printk_deferred(), which takes
/// no console lock: safe in any context, a runqueue lock held included.
fn print_deferred(line: &[u8]) {
    let len = line.len().min(1000);
    // SAFETY: `line` is valid for `len` bytes during the call, which
    // prints at most that many and keeps no pointer.
    unsafe { mmcid_rs_print_deferred(line.as_ptr().cast(), len as u32) };
}

/// The live counters, as the text reads them.
pub struct Live;

impl Tally for Live {
    fn count(&self, c: Counter) -> i64 {
        count(c)
    }

    fn path(&self, p: paths::Path) -> i64 {
        reach::count(p)
    }

    fn mms(&self) -> (i64, i64) {
        (MMS.seen(), MMS.lost())
    }
}

/// Switches checked and found in agreement.
pub fn agreed() -> i64 {
    text::agreed(&Live)
}

/// Forks and exits checked and found in agreement.
pub fn agreed_ops() -> i64 {
    text::agreed_ops(&Live)
}

/// The human-readable table (`status`).
pub fn show_status(
    f: &mut fmt::Formatter<'_>,
    variant: &str,
    guard: super::guard::Status,
    pid: i32,
    wd: Watchdog,
) -> fmt::Result {
    text::show_status(f, &Live, variant, guard, pid, wd)
}

/// `key value` lines for programs (`report`).
pub fn show_report(
    f: &mut fmt::Formatter<'_>,
    guard: super::guard::Status,
    wd: Watchdog,
) -> fmt::Result {
    text::show_report(f, &Live, guard, wd)
}

/// The one-line verdict (`verdict`).
pub fn show_verdict(
    f: &mut fmt::Formatter<'_>,
    variant: &str,
    guard: super::guard::Status,
) -> fmt::Result {
    text::show_verdict(f, &Live, variant, guard)
}
