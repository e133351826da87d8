// SPDX-License-Identifier: GPL-2.0

//! The watchdog's message: what a CPU stuck in a context switch waits for,
//! in the explorer's words, and whether it has the shape of the live lock
//! that the fix removed (see `model/livelock.rs`).

use super::ffi::{StallSnap, TaskSnap};
use super::model::{mode_name, FmtBitmap, FmtCid, LiveLockShape};
use core::fmt::{self, Write};

const NSEC_PER_MSEC: u64 = 1_000_000;

/// The shape of `s`, over the CPUs the snapshot holds.
pub fn shape(s: &StallSnap) -> LiveLockShape {
    let cpu = usize::try_from(s.cpu).unwrap_or(usize::MAX);
    LiveLockShape::of(s.cidmask, s.max_cids, s.pcpu_cids(), cpu, s.next.cid)
}

/// A task as `pid P tid T`.
struct Who<'a>(&'a TaskSnap);

impl fmt::Display for Who<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pid {} tid {}", self.0.pid, self.0.tid)
    }
}

/// Write the report, one line per `\n`.
pub fn describe(s: &StallSnap, w: &mut impl Write) -> fmt::Result {
    writeln!(
        w,
        "live lock: CPU{} has spun in the context switch to {} for at least {} ms with its runqueue lock held",
        s.cpu,
        Who(&s.next),
        s.spin_ns / NSEC_PER_MSEC
    )?;
    if s.fork_ns != 0 {
        writeln!(
            w,
            "  the fixup of the fork of tid {} by {} on CPU{} waits: in sched_mm_cid_fork() for {} ms",
            s.fork_child.tid,
            Who(&s.fork_parent),
            s.fork_cpu,
            s.fork_ns / NSEC_PER_MSEC
        )?;
    }
    write!(
        w,
        "  CID state: mode {}, users {}, max_cids {}, pcpu_thrs {}, bitmap {} |",
        mode_name(s.mode),
        s.users,
        s.max_cids,
        s.pcpu_thrs,
        FmtBitmap(s.cidmask, s.nr_possible)
    )?;
    for (c, cid) in s.possible_pcpu_cids() {
        write!(w, " CPU{}:{}", c, FmtCid(cid))?;
    }
    writeln!(w)?;
    write!(w, "  threads:")?;
    for (t, cpu) in s.threads().iter().zip(&s.task_cpu) {
        write!(w, " tid {} on CPU{}: {}", t.tid, cpu, FmtCid(t.cid))?;
        if t.active == 0 {
            write!(w, " (inactive)")?;
        }
        write!(w, ";")?;
    }
    writeln!(w)?;
    let sh = shape(s);
    match (sh.pool_exhausted(), sh.own_cid, sh.owner) {
        (true, Some(cid), Some(cpu)) => writeln!(
            w,
            "  shape: pool exhausted ({} of {} CIDs taken) and tid {}'s own CID {} is owned by CPU{}: the live lock of the pre-fix variant",
            sh.taken, sh.max_cids, s.next.tid, cid, cpu
        ),
        _ => writeln!(
            w,
            "  shape: {} of {} CIDs taken, own CID {:?} owned by {:?}: not the live lock of the pre-fix variant",
            sh.taken, sh.max_cids, sh.own_cid, sh.owner
        ),
    }
}

/// A `fmt::Write` into a fixed buffer that drops what does not fit.
pub struct BufWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> BufWriter<'a> {
    /// Write into `buf` from its start.
    pub fn new(buf: &'a mut [u8]) -> Self {
        Self { buf, len: 0 }
    }

    /// What was written.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl Write for BufWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.buf.len() - self.len;
        let n = s.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}
