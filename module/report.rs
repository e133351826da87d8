// SPDX-License-Identifier: GPL-2.0

//! What the module counted, for `/sys/kernel/debug/mmcid_rs/`: counters per
//! kind of check since the last reset, and the first mismatches since load
//! with their context.  Writers run under a runqueue lock: atomics only, fixed memory.

use super::check::{OpKind, OpPrediction, OpVerdict, Prediction, Race, SwitchKind, Verdict};
use super::ffi::{OpSnap, StallSnap, SwitchSnap, TaskSnap};
use super::stall::{describe, BufWriter};
use core::cell::UnsafeCell;
use core::fmt;
use kernel::sync::atomic::{Acquire, Atomic, Relaxed, Release};

/// Counters, in the order `report` prints them.
#[derive(Clone, Copy)]
#[repr(usize)]
pub enum Counter {
    /// Switches whose incoming task owns its CID.
    TaskOwned,
    /// Switches whose incoming task uses its CPU's CID.
    CpuOwned,
    /// Switches whose incoming task borrows a CID in transit.
    Transit,
    /// Switches that only touched the outgoing task.
    Out,
    /// Not decided: the mode changed meanwhile.
    RacedMode,
    /// Not decided: max_cids changed meanwhile.
    RacedMaxCids,
    /// Not decided: another CPU allocated or freed a CID meanwhile.
    RacedAlloc,
    /// Not decided: the pool was empty in the snapshot.
    RacedSpun,
    /// More possible CPUs than the model holds.
    Unsupported,
    /// The C did something else than the model.
    Mismatch,
    /// Forks into a fresh mm (first user).
    ForkFirst,
    /// Forks without mode change.
    Fork,
    /// Forks that switched to per CPU mode.
    ForkToCpu,
    /// Forks that switched back to per task mode.
    ForkToTask,
    /// Exits without mode change.
    Exit,
    /// Exits that switched back to per task mode.
    ExitToTask,
    /// Exits of the last user.
    ExitLast,
    /// Forks and exits not decided: another one ran in between.
    RacedOp,
    /// Forks and exits where the C did something else than the model.
    OpMismatch,
    /// CPUs the watchdog found stuck in a context switch.
    LiveLock,
}

const NR_COUNTERS: usize = Counter::LiveLock as usize + 1;
const NAMES: [&str; NR_COUNTERS] = [
    "switch_task_owned",
    "switch_cpu_owned",
    "switch_transit",
    "switch_out_only",
    "raced_mode",
    "raced_max_cids",
    "raced_allocation",
    "raced_pool_empty",
    "unsupported",
    "mismatches",
    "fork_first_user",
    "fork",
    "fork_to_cpu",
    "fork_to_task",
    "exit",
    "exit_to_task",
    "exit_last_user",
    "raced_fork_exit",
    "fork_exit_mismatches",
    "live_locks",
];

static COUNTS: [Atomic<i64>; NR_COUNTERS] = [const { Atomic::new(0) }; NR_COUNTERS];

fn count(c: Counter) -> i64 {
    COUNTS[c as usize].load(Relaxed)
}

/// Mismatches kept with their context.
pub const KEPT: usize = 16;

struct Entry {
    pre: SwitchSnap,
    post: SwitchSnap,
    want: Prediction,
}

/// A slot written once after it is reserved, then published by `ready`.
///
/// # Invariants
///
/// `entry` is written only by the one writer that reserved the slot
/// through `NEXT` while `ready` is false, and read only while `ready` is
/// true.
struct Slot<T> {
    ready: Atomic<i32>,
    entry: UnsafeCell<T>,
}

// SAFETY: access to `entry` is ordered by `ready` (see the invariants):
// the writer publishes with a release store, readers check it with an
// acquire load.
unsafe impl<T: Send> Sync for Slot<T> {}

impl<T> Slot<T> {
    /// The entry, once published.
    fn get(&self) -> Option<&T> {
        if self.ready.load(Acquire) == 0 {
            return None;
        }
        // SAFETY: `ready` is set, so the writer is done and nobody writes
        // it again (type invariant).
        Some(unsafe { &*self.entry.get() })
    }
}

/// Reserve the next free slot of `slots` through `next`, fill it in place
/// with `fill` and publish it.  Returns the slot, or `None` when all are
/// taken.
fn keep_with<'a, T>(
    slots: &'a [Slot<T>],
    next: &Atomic<i64>,
    fill: impl FnOnce(&mut T),
) -> Option<&'a T> {
    let i = next.fetch_add(1, Relaxed);
    let slot = slots.get(usize::try_from(i).ok()?)?;
    // SAFETY: this writer alone reserved slot `i` and `ready` is still
    // false, so nobody reads `entry` (type invariant).
    fill(unsafe { &mut *slot.entry.get() });
    // INVARIANT: published after the write, never written again.
    slot.ready.store(1, Release);
    slot.get()
}

/// Reserve the next free slot of `slots` through `next` and publish `e`.
fn keep_in<T>(slots: &[Slot<T>], next: &Atomic<i64>, e: T) {
    keep_with(slots, next, |slot| *slot = e);
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

static LIVE_LOCK: [Slot<LiveLockText>; 1] = [Slot {
    ready: Atomic::new(0),
    entry: UnsafeCell::new(LiveLockText {
        buf: [0; 1536],
        len: 0,
    }),
}];
static LIVE_LOCK_NEXT: Atomic<i64> = Atomic::new(0);

/// Count a CPU stuck in a context switch; describe the first one since
/// load in `live_lock` and on the console.  Runs in the watchdog's hard
/// interrupt, where no runqueue lock is held, so it may print.
pub fn record_live_lock(s: &StallSnap) {
    COUNTS[Counter::LiveLock as usize].add(1, Relaxed);
    let kept = keep_with(&LIVE_LOCK, &LIVE_LOCK_NEXT, |t| {
        let mut w = BufWriter::new(&mut t.buf);
        let _ = describe(s, &mut w);
        t.len = w.as_bytes().len();
    });
    let Some(t) = kept else { return };
    for line in t.text().lines() {
        kernel::pr_emerg!("{}\n", line);
    }
}

/// The watchdog's message (`live_lock`).
pub fn show_live_lock(f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match LIVE_LOCK[0].get() {
        Some(t) => f.write_str(t.text()),
        None => writeln!(f, "no live lock seen since load"),
    }
}

struct OpEntry {
    exit: bool,
    kind: OpKind,
    pre: OpSnap,
    post: OpSnap,
    want: OpPrediction,
}

const EMPTY_OP: OpSnap = OpSnap {
    cpu: 0,
    nr_possible: 0,
    cur: EMPTY_TASK,
    t: EMPTY_TASK,
    mm: EMPTY.mm,
    pcpu_thrs: 0,
    nr_cpus_allowed: 0,
    switches: 0,
};

const OP_KEPT: usize = 8;

static OP_SLOTS: [Slot<OpEntry>; OP_KEPT] = [const {
    Slot {
        ready: Atomic::new(0),
        entry: UnsafeCell::new(OpEntry {
            exit: false,
            kind: OpKind::Fork,
            pre: EMPTY_OP,
            post: EMPTY_OP,
            want: OpPrediction {
                mode: 0,
                users: 0,
                max_cids: 0,
                pcpu_thrs: 0,
                cur_cid: None,
                t_cid_flags: 0,
            },
        }),
    }
}; OP_KEPT];
static OP_NEXT: Atomic<i64> = Atomic::new(0);

/// Count a fork or exit verdict; keep a mismatch if there is room.
pub fn record_op(exit: bool, v: OpVerdict, pre: &OpSnap, post: &OpSnap) {
    note_mm(pre.mm.mm);
    let c = match v {
        OpVerdict::Agree(k) => match k {
            OpKind::FirstUser => Counter::ForkFirst,
            OpKind::Fork => Counter::Fork,
            OpKind::ForkToCpu => Counter::ForkToCpu,
            OpKind::ForkToTask => Counter::ForkToTask,
            OpKind::Exit => Counter::Exit,
            OpKind::ExitToTask => Counter::ExitToTask,
            OpKind::LastExit => Counter::ExitLast,
        },
        OpVerdict::Raced => Counter::RacedOp,
        OpVerdict::Unsupported => Counter::Unsupported,
        OpVerdict::Mismatch(kind, want) => {
            let e = OpEntry {
                exit,
                kind,
                pre: *pre,
                post: *post,
                want,
            };
            keep_in(&OP_SLOTS, &OP_NEXT, e);
            Counter::OpMismatch
        }
    };
    COUNTS[c as usize].add(1, Relaxed);
}

const EMPTY_TASK: TaskSnap = TaskSnap {
    task: 0,
    mm: 0,
    cid: 0,
    active: 0,
    pid: 0,
    tid: 0,
};

const EMPTY: SwitchSnap = SwitchSnap {
    cpu: 0,
    nr_possible: 0,
    prev: EMPTY_TASK,
    next: EMPTY_TASK,
    mm: super::ffi::MmSnap {
        mm: 0,
        mode: 0,
        max_cids: 0,
        users: 0,
        pcpu_cid: 0,
        cidmask: 0,
    },
};

static SLOTS: [Slot<Entry>; KEPT] = [const {
    Slot {
        ready: Atomic::new(0),
        entry: UnsafeCell::new(Entry {
            pre: EMPTY,
            post: EMPTY,
            want: Prediction {
                prev_cid: None,
                next_cid: None,
                pcpu_cid: 0,
            },
        }),
    }
}; KEPT];
static NEXT: Atomic<i64> = Atomic::new(0);

/// Distinct mm addresses seen since reset, in an open-addressed table.
const MM_TABLE: usize = 64;
/// How far an insertion probes before it gives up.
const MM_PROBES: usize = 8;
static MMS: [Atomic<u64>; MM_TABLE] = [const { Atomic::new(0) }; MM_TABLE];
static MMS_SEEN: Atomic<i64> = Atomic::new(0);
static MMS_LOST: Atomic<i64> = Atomic::new(0);

/// Remember `mm` once (lock free, bounded).  A freed mm whose address is
/// reused counts once.
fn note_mm(mm: u64) {
    if mm == 0 {
        return;
    }
    // Fibonacci hashing of the address, cache-line bits dropped.
    let h = (mm >> 6).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 58;
    let h = usize::try_from(h).unwrap_or(0);
    for k in 0..MM_PROBES {
        let slot = &MMS[(h + k) % MM_TABLE];
        match slot.cmpxchg(0, mm, Relaxed) {
            Ok(_) => {
                MMS_SEEN.add(1, Relaxed);
                return;
            }
            Err(old) if old == mm => return,
            Err(_) => {}
        }
    }
    MMS_LOST.add(1, Relaxed);
}

/// Count a verdict; keep a mismatch if there is room.
pub fn record(v: Verdict, pre: &SwitchSnap, post: &SwitchSnap) {
    note_mm(pre.mm.mm);
    let c = match v {
        Verdict::Agree(SwitchKind::TaskOwned) => Counter::TaskOwned,
        Verdict::Agree(SwitchKind::CpuOwned) => Counter::CpuOwned,
        Verdict::Agree(SwitchKind::Transit) => Counter::Transit,
        Verdict::Agree(SwitchKind::Out) => Counter::Out,
        Verdict::Raced(Race::Mode) => Counter::RacedMode,
        Verdict::Raced(Race::MaxCids) => Counter::RacedMaxCids,
        Verdict::Raced(Race::Allocation) => Counter::RacedAlloc,
        Verdict::Raced(Race::Spun) => Counter::RacedSpun,
        Verdict::Unsupported => Counter::Unsupported,
        Verdict::Mismatch(want) => {
            keep(pre, post, want);
            Counter::Mismatch
        }
    };
    COUNTS[c as usize].add(1, Relaxed);
}

fn keep(pre: &SwitchSnap, post: &SwitchSnap, want: Prediction) {
    let e = Entry {
        pre: *pre,
        post: *post,
        want,
    };
    keep_in(&SLOTS, &NEXT, e);
}

/// Zero every counter.  The kept mismatches stay: each slot is written
/// once in the module's life.  Checks that run meanwhile may land on
/// either side of the reset.
pub fn reset() {
    for c in &COUNTS {
        c.store(0, Relaxed);
    }
    for m in &MMS {
        m.store(0, Relaxed);
    }
    MMS_SEEN.store(0, Relaxed);
    MMS_LOST.store(0, Relaxed);
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

/// The human-readable table (`status`).
pub fn show_status(f: &mut fmt::Formatter<'_>, variant: &str, pid: i32) -> fmt::Result {
    let filter = if pid == 0 {
        "all processes"
    } else {
        "one process"
    };
    writeln!(f, "model variant: {}", variant)?;
    writeln!(f, "checking: {} (pid filter {})", filter, pid)?;
    writeln!(f, "model cpus max: {}", super::model::MAX_CPUS)?;
    writeln!(
        f,
        "mms observed: {} (checks of mms past the {}-entry table: {})",
        MMS_SEEN.load(Relaxed),
        MM_TABLE,
        MMS_LOST.load(Relaxed)
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
    let raced = [
        Counter::RacedMode,
        Counter::RacedMaxCids,
        Counter::RacedAlloc,
        Counter::RacedSpun,
    ];
    writeln!(
        f,
        "not decided (another CPU changed shared state): {}",
        raced.into_iter().map(count).sum::<i64>()
    )?;
    writeln!(
        f,
        "  mode {}, max_cids {}, bitmap {}, pool empty in snapshot {}",
        count(Counter::RacedMode),
        count(Counter::RacedMaxCids),
        count(Counter::RacedAlloc),
        count(Counter::RacedSpun)
    )?;
    writeln!(f, "forks and exits in agreement: {}", agreed_ops())?;
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
        "  not decided (another fork or exit ran between): {}",
        count(Counter::RacedOp)
    )?;
    writeln!(
        f,
        "unsupported (too many CPUs): {}",
        count(Counter::Unsupported)
    )?;
    writeln!(
        f,
        "live locks named by the watchdog: {}",
        count(Counter::LiveLock)
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

/// `key value` lines for programs (`report`).
pub fn show_report(f: &mut fmt::Formatter<'_>) -> fmt::Result {
    writeln!(f, "agreed {}", agreed())?;
    writeln!(f, "agreed_fork_exit {}", agreed_ops())?;
    writeln!(f, "mms {}", MMS_SEEN.load(Relaxed))?;
    for (i, name) in NAMES.iter().enumerate() {
        writeln!(f, "{} {}", name, COUNTS[i].load(Relaxed))?;
    }
    Ok(())
}

/// The kept mismatches with their context (`mismatches`).
pub fn show_mismatches(f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let total = count(Counter::Mismatch) + count(Counter::OpMismatch);
    writeln!(
        f,
        "{} mismatches since reset; the first ones since load:",
        total
    )?;
    for e in SLOTS.iter().filter_map(Slot::get) {
        writeln!(
            f,
            "switch on cpu {}: mm {:#x} mode {:#x} max_cids {} bitmap {:#x}; prev pid {} cid {:#x} -> {:#x}; next pid {} cid {:#x} -> {:#x}; pcpu {:#x} -> {:#x}; model: prev {:x?} next {:x?} pcpu {:#x}",
            e.pre.cpu,
            e.pre.mm.mm,
            e.pre.mm.mode,
            e.pre.mm.max_cids,
            e.pre.mm.cidmask,
            e.pre.prev.pid,
            e.pre.prev.cid,
            e.post.prev.cid,
            e.pre.next.pid,
            e.pre.next.cid,
            e.post.next.cid,
            e.pre.mm.pcpu_cid,
            e.post.mm.pcpu_cid,
            e.want.prev_cid,
            e.want.next_cid,
            e.want.pcpu_cid
        )?;
    }
    for e in OP_SLOTS.iter().filter_map(Slot::get) {
        writeln!(
            f,
            "{} ({:?}) on cpu {}: pid {} mm {:#x}; mode {:#x} -> {:#x}, users {} -> {}, max_cids {} -> {}, pcpu_thrs {} -> {}; current cid {:#x} -> {:#x}; task cid {:#x} -> {:#x}; model: {:x?}",
            if e.exit { "exit" } else { "fork" },
            e.kind,
            e.pre.cpu,
            e.pre.t.pid,
            e.pre.mm.mm,
            e.pre.mm.mode,
            e.post.mm.mode,
            e.pre.mm.users,
            e.post.mm.users,
            e.pre.mm.max_cids,
            e.post.mm.max_cids,
            e.pre.pcpu_thrs,
            e.post.pcpu_thrs,
            e.pre.cur.cid,
            e.post.cur.cid,
            e.pre.t.cid,
            e.post.t.cid,
            e.want
        )?;
    }
    Ok(())
}
