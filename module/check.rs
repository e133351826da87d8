// SPDX-License-Identifier: GPL-2.0

//! Compare what the C did in one context switch with what the model says
//! `mm_cid_switch_to()` does from the same state.
//!
//! The snapshots are taken under the switching CPU's runqueue lock, but
//! other CPUs may still change the shared parts of `mm->mm_cid` between
//! them: the CID bitmap (their own allocations and drops) and, under
//! `mm_cid::lock`, the mode and `max_cids` (a fork or exit elsewhere).
//! Each such case is accepted as a race, counted, and never as agreement.
//! The same goes for forks and exits, and for the state a fixup walk left.

use super::ffi::{FixupSnap, OpSnap, SwitchSnap};
use super::model::invariants::{transition_finished, Owner};
use super::model::*;

/// What a context switch did with the CID of the task switched in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SwitchKind {
    /// The task owns its CID (per task mode).
    TaskOwned,
    /// The CPU owns the CID (per CPU mode).
    CpuOwned,
    /// The CID is borrowed during a mode transition.
    Transit,
    /// Only the task switched out was involved.
    Out,
}

/// The outcome of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The C did what the model predicts.
    Agree(SwitchKind),
    /// Another CPU changed shared state in between; not checked.
    Raced(Race),
    /// The model cannot describe this machine (too many CPUs).
    Unsupported,
    /// The C did something else.
    Mismatch(Prediction),
}

/// Why a check was not decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Race {
    /// `mm_cid::mode` changed between the snapshots.
    Mode,
    /// `mm_cid::max_cids` changed between the snapshots.
    MaxCids,
    /// The model allocated a CID and the C got another number.
    Allocation,
    /// The model's pool was empty; the C found a CID freed meanwhile.
    Spun,
}

/// What the model expects after the switch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prediction {
    /// `prev->mm_cid.cid`, if prev has this mm.
    pub prev_cid: Option<u32>,
    /// `next->mm_cid.cid`, if next has this mm.
    pub next_cid: Option<u32>,
    /// This CPU's `pcpu->cid`.
    pub pcpu_cid: u32,
}

const PREV: TaskId = 0;
const NEXT: TaskId = 1;

/// Check one context switch of `pre` into `post` against `variant`.
pub fn check_switch(variant: Variant, pre: &SwitchSnap, post: &SwitchSnap) -> Verdict {
    if pre.mm.mode != post.mm.mode {
        return Verdict::Raced(Race::Mode);
    }
    if pre.mm.max_cids != post.mm.max_cids {
        return Verdict::Raced(Race::MaxCids);
    }
    let cpu = pre.cpu as usize;
    if pre.nr_possible as usize > MAX_CPUS || cpu >= MAX_CPUS {
        return Verdict::Unsupported;
    }
    let mut s = Sched::new(variant, pre.nr_possible);
    s.mm_cid.mode = pre.mm.mode;
    s.mm_cid.max_cids = pre.mm.max_cids;
    s.mm_cid.users = pre.mm.users;
    s.mm_cid.cidmask = pre.mm.cidmask;
    s.mm_cid.pcpu[cpu] = pre.mm.pcpu_cid;
    let mine = |t: &super::ffi::TaskSnap| t.mm == pre.mm.mm;
    let (prev, next) = (mine(&pre.prev), mine(&pre.next));
    for (slot, t) in [(PREV, &pre.prev), (NEXT, &pre.next)] {
        s.new_task(cpu);
        s.tasks[slot].active = t.active != 0;
        s.tasks[slot].cid = t.cid;
    }
    s.rq_curr[cpu] = next.then_some(NEXT as u8);
    let r = mm_cid_switch_to(&mut s, cpu, prev.then_some(PREV), next.then_some(NEXT));
    let want = Prediction {
        prev_cid: prev.then_some(s.tasks[PREV].cid),
        next_cid: next.then_some(s.tasks[NEXT].cid),
        pcpu_cid: s.mm_cid.pcpu[cpu],
    };
    let got = Prediction {
        prev_cid: prev.then_some(post.prev.cid),
        next_cid: next.then_some(post.next.cid),
        pcpu_cid: post.mm.pcpu_cid,
    };
    if r.is_err() {
        return Verdict::Raced(Race::Spun);
    }
    if want == got {
        return Verdict::Agree(kind(want.next_cid.filter(|_| s.tasks[NEXT].active)));
    }
    // The model took the lowest CID free in the snapshot; another CPU may
    // have taken or freed one before the C looked (__mm_get_cid() is a
    // find_first_zero_bit() on the shared bitmap).
    if s.cid_allocs > 0 && same_flags(want, got) {
        return Verdict::Raced(Race::Allocation);
    }
    Verdict::Mismatch(want)
}

fn kind(next_cid: Option<u32>) -> SwitchKind {
    match next_cid {
        None => SwitchKind::Out,
        Some(c) if cid_in_transit(c) => SwitchKind::Transit,
        Some(c) if cid_on_cpu(c) => SwitchKind::CpuOwned,
        Some(_) => SwitchKind::TaskOwned,
    }
}

fn same_flags(a: Prediction, b: Prediction) -> bool {
    let flags = |c: u32| c & (MM_CID_ONCPU | MM_CID_TRANSIT | MM_CID_UNSET);
    a.prev_cid.map(flags) == b.prev_cid.map(flags)
        && a.next_cid.map(flags) == b.next_cid.map(flags)
        && flags(a.pcpu_cid) == flags(b.pcpu_cid)
}

/// Which path of `sched_mm_cid_fork()` / `sched_mm_cid_exit()` ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpKind {
    /// The first user of an mm (exec, or the first fork into it).
    FirstUser,
    /// A fork without mode change.
    Fork,
    /// A fork that switched to per CPU mode.
    ForkToCpu,
    /// A fork that switched back to per task mode.
    ForkToTask,
    /// An exit without mode change.
    Exit,
    /// An exit that switched back to per task mode.
    ExitToTask,
    /// The exit of the last user.
    LastExit,
}

/// What the model expects after a fork or exit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpPrediction {
    /// `mm_cid::mode`.
    pub mode: u32,
    /// `mm_cid::users`.
    pub users: u32,
    /// `mm_cid::max_cids`.
    pub max_cids: u32,
    /// `mm_cid::pcpu_thrs`.
    pub pcpu_thrs: u32,
    /// current's CID; `None` when current was switched out meanwhile.
    pub cur_cid: Option<u32>,
    /// The forked or exiting task's CID flags (its number may race).
    pub t_cid_flags: u32,
}

/// The outcome of one fork or exit check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpVerdict {
    /// The C did what the model predicts.
    Agree(OpKind),
    /// Another fork or exit ran between the snapshots, or the pool was
    /// empty in the snapshot; not checked.
    Raced,
    /// The model cannot describe this machine.
    Unsupported,
    /// The C did something else.
    Mismatch(OpKind, OpPrediction),
}

const CUR: TaskId = 0;
const T: TaskId = 1;
const FLAGS: u32 = MM_CID_ONCPU | MM_CID_TRANSIT | MM_CID_UNSET;

/// A model instance holding `pre`'s mm, current (slot 0) and `t` (slot 1,
/// or 0 when `t` is current).
fn op_model(variant: Variant, pre: &OpSnap) -> Option<(Sched, TaskId)> {
    let cpu = pre.cpu as usize;
    if pre.nr_possible as usize > MAX_CPUS || cpu >= MAX_CPUS {
        return None;
    }
    let mut s = Sched::new(variant, pre.nr_possible);
    let mc = &mut s.mm_cid;
    mc.mode = pre.mm.mode;
    mc.max_cids = pre.mm.max_cids;
    mc.pcpu_thrs = pre.pcpu_thrs;
    mc.nr_cpus_allowed = pre.nr_cpus_allowed;
    mc.cpus_allowed = (1u64 << pre.nr_cpus_allowed.min(63)) - 1;
    mc.cidmask = pre.mm.cidmask;
    mc.pcpu[cpu] = pre.mm.pcpu_cid;
    s.new_task(cpu);
    s.tasks[CUR].active = pre.cur.active != 0;
    s.tasks[CUR].cid = pre.cur.cid;
    s.rq_curr[cpu] = Some(CUR as u8);
    let t = if pre.t.task == pre.cur.task {
        CUR
    } else {
        s.new_task(cpu);
        s.tasks[T].active = pre.t.active != 0;
        s.tasks[T].cid = pre.t.cid;
        T
    };
    // Current (and an exiting t) are on user_list; the other users are
    // only counted: the fixup walks' effect on them races with their own
    // context switches and is checked there.
    if s.tasks[CUR].active {
        s.mm_cid.user_list.add_head(CUR);
    }
    if t != CUR && s.tasks[T].active {
        s.mm_cid.user_list.add_head(T);
    }
    s.mm_cid.users = pre.mm.users;
    Some((s, t))
}

fn op_compare(s: &Sched, t: TaskId, pre: &OpSnap, post: &OpSnap, kind: OpKind) -> OpVerdict {
    let undisturbed = pre.switches == post.switches && pre.cpu == post.cpu;
    let want = OpPrediction {
        mode: s.mm_cid.mode,
        users: s.mm_cid.users,
        max_cids: s.mm_cid.max_cids,
        pcpu_thrs: s.mm_cid.pcpu_thrs,
        cur_cid: undisturbed.then_some(s.tasks[CUR].cid),
        t_cid_flags: s.tasks[t].cid & FLAGS,
    };
    let got = OpPrediction {
        mode: post.mm.mode,
        users: post.mm.users,
        max_cids: post.mm.max_cids,
        pcpu_thrs: post.pcpu_thrs,
        cur_cid: undisturbed.then_some(post.cur.cid),
        t_cid_flags: post.t.cid & FLAGS,
    };
    if want == got {
        OpVerdict::Agree(kind)
    } else {
        OpVerdict::Mismatch(kind, want)
    }
}

/// Another fork or exit held `mm_cid::mutex` when this one entered: the
/// mode is in transit only inside that critical section
/// (sched_mm_cid_fork() and sched_mm_cid_exit() both set TRANSIT and call
/// mm_cid_complete_transit() under `guard(mutex)(&mm->mm_cid.mutex)`), so
/// this one ran after the transition had completed, from another state
/// than the snapshot.  Counting users does not see it: the holder had
/// already added or removed its user.  The waiter may even not sleep
/// (mutex spinning), so its switch count does not see it either.
fn entered_during_transit(pre: &OpSnap) -> bool {
    cid_in_transit(pre.mm.mode)
}

/// Check `sched_mm_cid_fork(t)` from `pre` (its entry) to `post` (its
/// return) against `variant`.
pub fn check_fork(variant: Variant, pre: &OpSnap, post: &OpSnap) -> OpVerdict {
    // Another fork or exit took mm_cid::mutex before or after this one.
    if post.mm.users != pre.mm.users + 1 || entered_during_transit(pre) {
        return OpVerdict::Raced;
    }
    let Some((mut s, t)) = op_model(variant, pre) else {
        return OpVerdict::Unsupported;
    };
    let cpu = pre.cpu as usize;
    let mode = s.mm_cid.mode;
    if sched_mm_cid_fork(&mut s, cpu, CUR, t).is_err() {
        return OpVerdict::Raced;
    }
    let kind = match (pre.mm.users, cid_on_cpu(mode), cid_on_cpu(s.mm_cid.mode)) {
        (0, _, _) => OpKind::FirstUser,
        (_, false, true) => OpKind::ForkToCpu,
        (_, true, false) => OpKind::ForkToTask,
        _ => OpKind::Fork,
    };
    op_compare(&s, t, pre, post, kind)
}

/// Check `sched_mm_cid_exit(t)` from `pre` to `post` against `variant`.
pub fn check_exit(variant: Variant, pre: &OpSnap, post: &OpSnap) -> OpVerdict {
    if pre.t.active == 0 {
        return OpVerdict::Raced;
    }
    if post.mm.users + 1 != pre.mm.users || entered_during_transit(pre) {
        return OpVerdict::Raced;
    }
    let Some((mut s, t)) = op_model(variant, pre) else {
        return OpVerdict::Unsupported;
    };
    let cpu = pre.cpu as usize;
    let mode = s.mm_cid.mode;
    sched_mm_cid_exit(&mut s, cpu, t, CUR);
    let kind = match (pre.mm.users, cid_on_cpu(mode) && !cid_on_cpu(s.mm_cid.mode)) {
        (1, _) => OpKind::LastExit,
        (_, true) => OpKind::ExitToTask,
        _ => OpKind::Exit,
    };
    op_compare(&s, t, pre, post, kind)
}

/// What a completed fixup left behind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FixupVerdict {
    /// The invariants of the new mode hold.
    Agree {
        /// The walk went to per CPU mode, else to per task mode.
        to_cpu: bool,
    },
    /// Another fork or exit held `mm_cid::mutex`: not decided.
    Raced,
    /// The invariant of `model/invariants.rs` is broken by this owner.
    Violation(Owner),
}

/// Check the state a fixup walk left, read under `mm_cid::mutex`, against
/// the model's invariants of the mode it completed to.
pub fn check_fixup(s: &FixupSnap) -> FixupVerdict {
    if s.raced != 0 {
        return FixupVerdict::Raced;
    }
    let users = s.kept_users().iter().map(|t| (t.active != 0, t.cid));
    match transition_finished(s.mode, users, s.pcpu_cids(), s.nr_possible) {
        None => FixupVerdict::Agree {
            to_cpu: cid_on_cpu(s.mode),
        },
        Some(o) => FixupVerdict::Violation(o),
    }
}
