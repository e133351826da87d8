// SPDX-License-Identifier: GPL-2.0

//! Compare a fork or exit, its fixup walk included, with the model: the
//! mm's counters, every user and every CPU slot that no context switch
//! touched meanwhile, and at both ends the CID accounting and the
//! invariants of a completed mode.
//!
//! The snapshots are taken under `mm_cid::lock` at the entry of
//! `sched_mm_cid_fork()` / `sched_mm_cid_exit()` and after their return,
//! so the users, mode, max_cids and pcpu_thrs are consistent.  What other
//! CPUs may change in between, and how each is excluded:
//!
//! - another fork, exit or deferred walk of the mm (`mm_cid::mutex`): the
//!   glue counts checked calls per mm (`op_seq`, `ops_in_flight`) and the
//!   calls its probes missed; the deferred work only runs with
//!   `update_deferred` set, after an affinity change (`nr_cpus_allowed`
//!   grew): any of these makes the call not decided;
//! - a context switch (`mm_cid_switch_to()`, under a runqueue lock the
//!   snapshot does not hold): each CPU's switch sequence says whether one
//!   ran; a CPU that switched, and a user that ran on one or was switched
//!   in or out, is left out of the comparison and counted;
//! - the number the child's `mm_get_cid()` found in the shared bitmap: the
//!   model replays the C's number, which must then satisfy the rest.

use super::ffi::{CpuSnap, OpSnap, UserSnap};
use super::model::invariants::{cid_accounting, counters_consistent, transition_finished, Owner};
use super::model::*;

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

impl OpKind {
    /// Did the call run a fixup walk?
    pub fn walked(self) -> bool {
        matches!(self, Self::ForkToCpu | Self::ForkToTask | Self::ExitToTask)
    }
}

/// Why a fork or exit was not decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpRace {
    /// Another fork or exit of the mm was in flight, or a probe missed one.
    Overlap,
    /// An affinity change moved `nr_cpus_allowed`, or its deferred work
    /// was queued.
    Affinity,
    /// More users than the snapshot or the model holds.
    TooManyUsers,
}

/// What differs between the C and the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpField {
    /// `mm_cid::mode`.
    Mode,
    /// `mm_cid::users`.
    Users,
    /// `mm_cid::max_cids`.
    MaxCids,
    /// `mm_cid::pcpu_thrs`.
    PcpuThrs,
    /// The CID of the user at this index of the entry snapshot.
    User(usize),
    /// The CID of the forked or exiting task.
    Task,
    /// `mm_cid.active` of the forked or exiting task.
    TaskActive,
    /// This CPU's `pcpu->cid`.
    Cpu(usize),
    /// The bitmap, when nothing else ran.
    Cidmask,
    /// `current->mm_cid.active` of a task that forks a thread of its mm:
    /// it runs in user space, so `sched_mm_cid_fork()` or
    /// `sched_mm_cid_after_execve()` made it a user.
    ForkerActive,
}

/// One difference: the field, what the model expects, what the C has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpDiff {
    /// Where.
    pub field: OpField,
    /// The model's value.
    pub want: u64,
    /// The C's value.
    pub got: u64,
}

/// The outcome of one fork or exit check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpVerdict {
    /// The C did what the model predicts.
    Agree(OpKind),
    /// Not decided.
    Raced(OpRace),
    /// The model cannot describe this machine.
    Unsupported,
    /// The C did something else.
    Mismatch(OpKind, OpDiff),
}

/// The invariants at the two ends of a fork or exit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accounting {
    /// Checked at this many ends (1 or 2) and kept.
    Kept(u8),
    /// Neither end was a consistent view.
    NotConsistent,
    /// Broken at the entry (`false`) or the return (`true`).
    Violation(bool, Owner),
}

/// Everything one fork or exit check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpCheck {
    /// The comparison with the model.
    pub verdict: OpVerdict,
    /// Users and CPU slots compared with the model one by one.
    pub compared: u32,
    /// Users and CPU slots left out: a context switch touched them.
    pub skipped: u32,
    /// The invariants.
    pub accounting: Accounting,
}

/// The user of `task` in `s`, by its index.
fn find(s: &[UserSnap], task: u64) -> Option<usize> {
    s.iter().position(|u| u.task == task)
}

/// A CPU that ran no context switch from `pre` to `post`, and whose current
/// task is known.
fn cpu_undisturbed(pre: &CpuSnap, post: &CpuSnap) -> bool {
    pre.stable != 0 && post.stable != 0 && pre.seq == post.seq && pre.curr != 0
}

/// Is the snapshot a consistent view of the whole mm?  No CPU in a
/// switch, no other call in flight, every user kept, no walk going on.
fn consistent(s: &OpSnap) -> bool {
    s.ops_in_flight == 1
        && s.update_deferred == 0
        && !cid_in_transit(s.mm.mode)
        && s.nr_users as usize <= s.kept_users().len()
        && s.kept_cpus().len() == s.nr_possible as usize
        && s.kept_cpus().iter().all(|c| c.stable != 0)
}

/// The invariants of one consistent snapshot.
fn invariants(s: &OpSnap) -> Option<Owner> {
    let users = s.kept_users().iter().map(|u| (u.active != 0, u.cid));
    let pcpu = s.kept_cpus().iter().map(|c| c.pcpu_cid);
    let mut cids = [0u32; MAX_CPUS];
    for (d, c) in cids.iter_mut().zip(pcpu) {
        *d = c;
    }
    let cids = &cids[..s.kept_cpus().len().min(MAX_CPUS)];
    transition_finished(s.mm.mode, users, cids, s.nr_possible).or_else(|| {
        cid_accounting(
            s.kept_users().iter().map(|u| u.cid),
            cids,
            s.mm.cidmask,
            s.nr_possible,
        )
    })
}

/// The counters, which `mm_cid::lock` keeps consistent with each other
/// whatever the CPUs do.
fn counters(s: &OpSnap) -> Option<Owner> {
    counters_consistent(
        s.mm.mode,
        s.mm.users,
        s.nr_users,
        s.mm.max_cids,
        s.pcpu_thrs,
        s.nr_cpus_allowed,
        s.nr_possible,
    )
}

fn accounting(pre: &OpSnap, post: &OpSnap) -> Accounting {
    let mut kept = 0;
    for (at_return, s) in [(false, pre), (true, post)] {
        if let Some(o) = counters(s) {
            return Accounting::Violation(at_return, o);
        }
        if consistent(s) {
            if let Some(o) = invariants(s) {
                return Accounting::Violation(at_return, o);
            }
            kept += 1;
        }
    }
    if kept == 0 {
        Accounting::NotConsistent
    } else {
        Accounting::Kept(kept)
    }
}

/// The model of `pre`: every kept user at its index, in `user_list` order,
/// each CPU's current task and slot; current and the forked task added
/// when they are no users.  Returns the model with current's and the
/// task's ids.
fn build(variant: Variant, pre: &OpSnap) -> Result<(Sched, TaskId, TaskId), OpVerdict> {
    let nr = pre.nr_possible as usize;
    if nr > MAX_CPUS || pre.kept_cpus().len() != nr || pre.cpu as usize >= nr {
        return Err(OpVerdict::Unsupported);
    }
    let users = pre.kept_users();
    if users.len() != pre.nr_users as usize || users.len() + 2 > MAX_TASKS {
        return Err(OpVerdict::Raced(OpRace::TooManyUsers));
    }
    let mut s = Sched::new(variant, pre.nr_possible);
    for u in users {
        let cpu = u.cpu as usize;
        if cpu >= nr {
            return Err(OpVerdict::Unsupported);
        }
        let Some(i) = s.new_task(cpu) else {
            return Err(OpVerdict::Raced(OpRace::TooManyUsers));
        };
        s.tasks[i].active = u.active != 0;
        s.tasks[i].cid = u.cid;
    }
    // The snapshot is head first; hlist_add_head() builds it tail first.
    for i in (0..users.len()).rev() {
        s.mm_cid.user_list.add_head(i);
    }
    // Current and the task, when they are no users: the check above left
    // room for both.
    let too_many = OpVerdict::Raced(OpRace::TooManyUsers);
    let add = |s: &mut Sched, task: &super::ffi::TaskSnap, cpu: u32| match find(users, task.task) {
        Some(i) => Ok(i),
        None => {
            let i = s.new_task(cpu as usize).ok_or(too_many)?;
            s.tasks[i].active = task.active != 0;
            s.tasks[i].cid = task.cid;
            Ok(i)
        }
    };
    let cur = add(&mut s, &pre.cur, pre.cpu)?;
    let t = if pre.t.task == pre.cur.task {
        cur
    } else {
        add(&mut s, &pre.t, pre.t_cpu.min(pre.nr_possible - 1))?
    };
    for (c, cs) in pre.kept_cpus().iter().enumerate() {
        s.mm_cid.pcpu[c] = cs.pcpu_cid;
        s.rq_curr[c] = find(users, cs.curr).map(|i| i as u8);
    }
    s.rq_curr[pre.cpu as usize] = Some(cur as u8);
    let mc = &mut s.mm_cid;
    mc.mode = pre.mm.mode;
    mc.max_cids = pre.mm.max_cids;
    mc.users = pre.mm.users;
    mc.pcpu_thrs = pre.pcpu_thrs;
    mc.nr_cpus_allowed = pre.nr_cpus_allowed;
    mc.cpus_allowed = (1u64 << pre.nr_cpus_allowed.min(63)) - 1;
    mc.update_deferred = pre.update_deferred != 0;
    mc.cidmask = pre.mm.cidmask;
    Ok((s, cur, t))
}

/// Why `pre`..`post` cannot be decided, if it cannot.
fn race(pre: &OpSnap, post: &OpSnap) -> Option<OpRace> {
    if pre.ops_in_flight != 1 || pre.op_seq != post.op_seq || pre.missed != post.missed {
        return Some(OpRace::Overlap);
    }
    if pre.nr_cpus_allowed != post.nr_cpus_allowed
        || pre.update_deferred != 0
        || post.update_deferred != 0
    {
        return Some(OpRace::Affinity);
    }
    None
}

/// The model run of a fork (`exit == false`) or exit.
fn run(
    variant: Variant,
    pre: &OpSnap,
    exit: bool,
    replay: Option<u32>,
) -> Result<(Sched, TaskId, TaskId), OpVerdict> {
    let (mut s, cur, t) = build(variant, pre)?;
    s.replay_alloc = replay;
    let cpu = pre.cpu as usize;
    if exit {
        sched_mm_cid_exit(&mut s, cpu, t, cur);
    } else if sched_mm_cid_fork(&mut s, cpu, cur, t).is_err() {
        // The model's pool is empty: the C spun until another CPU freed
        // a CID; replay what it found.
        s.tasks[t].cid = MM_CID_UNSET;
    }
    Ok((s, cur, t))
}

fn kind(pre: &OpSnap, exit: bool, s: &Sched) -> OpKind {
    let (before, after) = (cid_on_cpu(pre.mm.mode), cid_on_cpu(s.mm_cid.mode));
    match (exit, pre.mm.users) {
        (false, 0) => OpKind::FirstUser,
        (false, _) if !before && after => OpKind::ForkToCpu,
        (false, _) if before && !after => OpKind::ForkToTask,
        (false, _) => OpKind::Fork,
        (true, 1) => OpKind::LastExit,
        (true, _) if before && !after => OpKind::ExitToTask,
        (true, _) => OpKind::Exit,
    }
}

/// Compare the model run `s` with `post`; the first difference, and how
/// many users and CPUs were compared and left out.
fn compare(s: &Sched, t: TaskId, pre: &OpSnap, post: &OpSnap) -> (Option<OpDiff>, u32, u32) {
    let diff = |field, want: u32, got: u32| {
        (want != got).then_some(OpDiff {
            field,
            want: u64::from(want),
            got: u64::from(got),
        })
    };
    let mc = &s.mm_cid;
    let mut first = diff(OpField::Mode, mc.mode, post.mm.mode)
        .or_else(|| diff(OpField::Users, mc.users, post.mm.users))
        .or_else(|| diff(OpField::MaxCids, mc.max_cids, post.mm.max_cids))
        .or_else(|| diff(OpField::PcpuThrs, mc.pcpu_thrs, post.pcpu_thrs))
        .or_else(|| diff(OpField::Task, s.tasks[t].cid, post.t.cid))
        .or_else(|| {
            let active = u32::from(s.tasks[t].active);
            diff(OpField::TaskActive, active, u32::from(post.t.active != 0))
        });
    let (mut compared, mut skipped) = (0, 0);
    let (pc, qc) = (pre.kept_cpus(), post.kept_cpus());
    let mut all = true;
    for (c, (a, b)) in pc.iter().zip(qc).enumerate() {
        if !cpu_undisturbed(a, b) {
            skipped += 1;
            all = false;
            continue;
        }
        compared += 1;
        first = first.or_else(|| diff(OpField::Cpu(c), mc.pcpu[c], b.pcpu_cid));
    }
    let switched = |u: &UserSnap, v: &UserSnap| {
        let cpu = u.cpu as usize;
        u.cpu != v.cpu
            || u.switches != v.switches
            || cpu >= pc.len()
            || !cpu_undisturbed(&pc[cpu], &qc[cpu])
    };
    for (i, u) in pre.kept_users().iter().enumerate() {
        if i == t {
            continue;
        }
        // A user that exited meanwhile is another call: raced already.
        let Some(v) = find(post.kept_users(), u.task).map(|j| &post.kept_users()[j]) else {
            skipped += 1;
            all = false;
            continue;
        };
        if switched(u, v) {
            skipped += 1;
            all = false;
            continue;
        }
        compared += 1;
        first = first.or_else(|| diff(OpField::User(i), s.tasks[i].cid, v.cid));
    }
    if all {
        first = first.or_else(|| {
            (mc.cidmask != post.mm.cidmask).then_some(OpDiff {
                field: OpField::Cidmask,
                want: mc.cidmask,
                got: post.mm.cidmask,
            })
        });
    }
    (first, compared, skipped)
}

/// Check `sched_mm_cid_fork(t)` (`exit == false`) or `sched_mm_cid_exit(t)`
/// from `pre` (its entry) to `post` (its return) against `variant`.
pub fn check_op(variant: Variant, exit: bool, pre: &OpSnap, post: &OpSnap) -> OpCheck {
    let accounting = accounting(pre, post);
    let mut out = OpCheck {
        verdict: OpVerdict::Unsupported,
        compared: 0,
        skipped: 0,
        accounting,
    };
    if let Some(r) = race(pre, post) {
        out.verdict = OpVerdict::Raced(r);
        return out;
    }
    let (s, _, t) = match run(variant, pre, exit, None) {
        Ok(r) => r,
        Err(v) => {
            out.verdict = v;
            return out;
        }
    };
    let first = verdict(&mut out, &s, t, pre, post, exit);
    // The child's CID came from the shared bitmap (fork in per task mode):
    // replay the number the C found; the rest must then agree.
    if matches!(first, OpVerdict::Mismatch(..)) && !exit && s.cid_allocs > 0 {
        let r = task_mm_cid(post.t.cid);
        if cid_on_task(post.t.cid) && r < pre.nr_possible && !owned_elsewhere(post, r) {
            if let Ok((s, _, t)) = run(variant, pre, exit, Some(r)) {
                out.verdict = verdict(&mut out, &s, t, pre, post, exit);
                return out;
            }
        }
    }
    out.verdict = first;
    out
}

/// Does a user other than the task, or a CPU, own `cid` in `post`, as
/// far as a CPU outside a context switch shows?  Then the C cannot have
/// found it free: `__mm_get_cid()` takes only clear bits.
fn owned_elsewhere(post: &OpSnap, cid: u32) -> bool {
    let cpus = post.kept_cpus();
    let stable = |c: u32| cpus.get(c as usize).is_some_and(|c| c.stable != 0);
    let by_user = post.kept_users().iter().any(|u| {
        u.task != post.t.task
            && stable(u.cpu)
            && u.cid & (MM_CID_UNSET | MM_CID_ONCPU) == 0
            && cid_from_transit_cid(u.cid) == cid
    });
    let by_cpu = cpus
        .iter()
        .any(|c| c.stable != 0 && cid_on_cpu(c.pcpu_cid) && cpu_cid_to_cid(c.pcpu_cid) == cid);
    by_user || by_cpu
}

fn verdict(
    out: &mut OpCheck,
    s: &Sched,
    t: TaskId,
    pre: &OpSnap,
    post: &OpSnap,
    exit: bool,
) -> OpVerdict {
    let k = kind(pre, exit, s);
    let (mut first, compared, skipped) = compare(s, t, pre, post);
    out.compared = compared;
    out.skipped = skipped;
    if !exit && pre.t.task != pre.cur.task && pre.cur.active == 0 {
        first = first.or(Some(OpDiff {
            field: OpField::ForkerActive,
            want: 1,
            got: 0,
        }));
    }
    match first {
        None => OpVerdict::Agree(k),
        Some(d) => OpVerdict::Mismatch(k, d),
    }
}
