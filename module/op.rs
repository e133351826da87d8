// SPDX-License-Identifier: GPL-2.0

//! Compare a fork or exit, its fixup walk included, with the model: the
//! mm's counters, every user and every CPU slot that no context switch
//! touched meanwhile, and at both ends the CID accounting and the
//! invariants of a completed mode.  The affinity path is checked the same
//! way: an affinity change (`set_cpus_allowed_common()`, which inlines
//! `mm_update_cpus_allowed()`) and the deferred work it queues
//! (`mm_cid_work_fn()`, fixup walk included).
//!
//! The snapshots are taken under `mm_cid::lock` at the entry of
//! `sched_mm_cid_fork()` / `sched_mm_cid_exit()` and after their return,
//! so the users, mode, max_cids and pcpu_thrs are consistent.  What other
//! CPUs may change in between, and how each is excluded:
//!
//! - another fork, exit or deferred walk of the mm (`mm_cid::mutex`): the
//!   glue counts checked calls per mm (`op_seq`, `ops_in_flight`) and the
//!   calls its probes missed; an overlapped fork or exit is decided when
//!   the mutex was free at both ends and the other users are the same
//!   ([`overlap_wrote_nothing`]); the deferred work only runs with
//!   `update_deferred` set, after an affinity change (`nr_cpus_allowed`
//!   grew); anything else makes the call not decided;
//! - a context switch (`mm_cid_switch_to()`, under a runqueue lock the
//!   snapshot does not hold): each CPU's switch sequence says whether one
//!   ran; a CPU that switched, and a user that ran on one or was switched
//!   in or out, is left out of the comparison and counted;
//! - the number the child's `mm_get_cid()` found in the shared bitmap: the
//!   model replays the C's number, which must then satisfy the rest.

use super::ffi::{CpuSnap, OpSnap, UserSnap, OP_USERS};
use super::model::invariants::{
    cid_accounting_in_flight, counters_consistent, transition_finished, Owner,
};
use super::model::*;
use super::room::PerCpu;

/// The model a fork or exit check runs: every CPU the module loads on,
/// every user a snapshot holds, current and the task.  About 2.8 KiB: the
/// callers keep one per CPU instead of on a probe's stack.
pub type OpSched = Sched<MAX_CPUS, { OP_USERS + 2 }>;

/// One [`OpSched`] per CPU, for checks that run with preemption disabled.
pub type PerCpuOpSched = PerCpu<OpSched>;

/// Which C call a check covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `sched_mm_cid_fork(t)`.
    Fork,
    /// `sched_mm_cid_exit(t)`.
    Exit,
    /// `set_cpus_allowed_common(t, ctx)`: `mm_update_cpus_allowed(t->mm,
    /// ctx->new_mask)`, the new mask read back from `t->cpus_mask`.
    Affinity,
    /// `mm_cid_work_fn()`, in a kworker.
    Work,
}

impl Op {
    /// `"fork"`, `"exit"`, `"affinity"`, `"work"`: for the report.
    pub fn name(self) -> &'static str {
        match self {
            Self::Fork => "fork",
            Self::Exit => "exit",
            Self::Affinity => "affinity",
            Self::Work => "work",
        }
    }

    /// A fork or exit: the task's CID is the call's to change.
    fn of_task(self) -> bool {
        matches!(self, Self::Fork | Self::Exit)
    }
}

/// Who called `sched_mm_cid_fork()` or `sched_mm_cid_exit()`: the ways
/// into the mm_cid code from kernel/fork.c, fs/exec.c and kernel/exit.c.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpCaller {
    /// `sched_post_fork()` of a thread (`CLONE_THREAD`).
    Thread,
    /// `sched_post_fork()` of a process that shares the mm (`vfork()`,
    /// `clone(CLONE_VM)` without `CLONE_THREAD`).
    SharedMm,
    /// `sched_post_fork()` of a process with a new mm (`fork()`): the mm
    /// `dup_mm()` just made, whose first user it is.
    NewMm,
    /// `sched_mm_cid_after_execve()` with no other user: into the new mm,
    /// or back into the old one after a failed `execve()` of a single
    /// thread.
    AfterExec,
    /// `sched_mm_cid_after_execve()` with other users: a failed `execve()`
    /// while other threads run.
    AfterFailedExec,
    /// `sched_mm_cid_before_execve()`.
    BeforeExec,
    /// `do_exit()`.
    Exit,
}

impl OpCaller {
    /// The caller of the fork or exit `pre` is the entry of; `None` for
    /// the affinity path.  `sched_post_fork()` runs in the parent, so
    /// only `sched_mm_cid_after_execve()` forks current itself.
    pub fn of(op: Op, pre: &OpSnap) -> Option<Self> {
        let current = pre.t.task == pre.cur.task;
        Some(match op {
            Op::Exit if pre.t_in_execve != 0 => Self::BeforeExec,
            Op::Exit => Self::Exit,
            Op::Fork if pre.cur.mm != pre.mm.mm => Self::NewMm,
            Op::Fork if current && pre.mm.users == 0 => Self::AfterExec,
            Op::Fork if current => Self::AfterFailedExec,
            Op::Fork if pre.t.pid != pre.cur.pid => Self::SharedMm,
            Op::Fork => Self::Thread,
            Op::Affinity | Op::Work => return None,
        })
    }
}

/// Which path of the checked call ran.
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
    /// An affinity change that left `mm_cpus_allowed()`'s weight as it was
    /// (a narrowing: the mm's mask only grows).
    AffinitySame,
    /// A widening in per task mode: `max_cids` follows.
    AffinityTaskMode,
    /// A widening in per CPU mode that stays there: users at or above the
    /// new `pcpu_thrs` (in 7.3 always, see model/tests.rs).
    AffinityStayCpu,
    /// A widening in per CPU mode with users under the new `pcpu_thrs`:
    /// the switch back is (or already was) queued.
    AffinitySwitchBack,
    /// The deferred work found nothing to do.
    WorkIdle,
    /// The deferred work switched back to per task mode, walk included.
    WorkToTask,
}

impl OpKind {
    /// Did the call run a fixup walk?
    pub fn walked(self) -> bool {
        matches!(
            self,
            Self::ForkToCpu | Self::ForkToTask | Self::ExitToTask | Self::WorkToTask
        )
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
    /// More users than a snapshot holds ([`OP_USERS`]): not compared.
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
    /// `mm_cid::nr_cpus_allowed` (affinity changes and the deferred work).
    NrCpusAllowed,
    /// `mm_cid::update_deferred` (affinity changes and the deferred work).
    UpdateDeferred,
    /// The first 64 bits of `mm_cpus_allowed()` (affinity changes).
    CpusAllowed,
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
    /// Neither end was a consistent view; why the entry was not.
    NotConsistent(Inconsistent),
    /// Broken at the entry (`false`) or the return (`true`).
    Violation(bool, Owner),
}

/// A check without a model to compare with (a CPU past [`MAX_CPUS`]):
/// the invariants only.
pub fn unsupported(pre: &OpSnap, post: &OpSnap) -> OpCheck {
    let beside =
        |s: &OpSnap| inconsistent(s).is_none() && s.possible_cpus().any(|(_, c)| c.in_switch());
    OpCheck {
        verdict: OpVerdict::Unsupported,
        compared: 0,
        skipped: 0,
        accounting: accounting(pre, post),
        beside_switch: u8::from(beside(pre)) + u8::from(beside(post)),
        paths: 0,
    }
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
    /// Ends (0 to 2) whose invariants left a context switch of the mm in
    /// flight out ([`invariants`]).
    pub beside_switch: u8,
    /// The branches of the C the model run took, when it agreed
    /// ([`Sched::paths`]); 0 otherwise.
    pub paths: u64,
}

/// The user of `task` in `s`, by its index.
fn find(s: &[UserSnap], task: u64) -> Option<usize> {
    s.iter().position(|u| u.task == task)
}

/// A CPU that ran no context switch from `pre` to `post`, or stayed inside
/// one switch of other mms throughout (both stable, the same sequence),
/// and whose current task is known.
fn cpu_undisturbed(pre: &CpuSnap, post: &CpuSnap) -> bool {
    pre.is_stable() && post.is_stable() && pre.seq == post.seq && pre.curr != 0
}

/// Why a snapshot is no consistent view of the whole mm: the first of
/// these that holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inconsistent {
    /// Another fork, exit or deferred work held `mm_cid::mutex`: its walk
    /// or its child's `mm_get_cid()` may be half done.
    OtherCall,
    /// The deferred work is queued.
    Deferred,
    /// More users than the snapshot holds.
    Users,
    /// A CPU was inside a context switch of the mm (glue/snapshot.c,
    /// `snap_seq_end()`).
    CpuInSwitch,
}

/// Why `s` is no consistent view of the whole mm, if it is not.  Every
/// CID write of another fork, exit or deferred work is made holding
/// `mm_cid::mutex`, and a new holder takes `mm_cid::lock`, which the
/// snapshot holds, before its first: the mutex unlocked means no other
/// call is mid-way (glue/snapshot.c, `mmcid_snap_op()`), whether its probe saw it or not.
/// That includes every walk: each caller flips the mode, walks and
/// completes the transition holding the mutex (`sched_mm_cid_fork()`,
/// `sched_mm_cid_exit()`, `mm_cid_work_fn()`), so TRANSIT with the mutex
/// free is no walk but the mode a last user's exit left ("Ignore mode
/// change"), which [`invariants`] checks by the CID accounting alone.
fn inconsistent(s: &OpSnap) -> Option<Inconsistent> {
    if s.mutex_locked != 0 {
        Some(Inconsistent::OtherCall)
    } else if s.update_deferred != 0 {
        Some(Inconsistent::Deferred)
    } else if s.nr_users as usize > s.kept_users().len() {
        Some(Inconsistent::Users)
    } else if s
        .possible_cpus()
        .any(|(_, c)| !c.is_stable() && !c.in_switch())
    {
        Some(Inconsistent::CpuInSwitch)
    } else {
        None
    }
}

/// The invariants of one consistent snapshot: those of a completed mode,
/// and the CID accounting.  A mode left in TRANSIT by a last user's exit
/// (see [`inconsistent`]) has only the accounting: the CPUs that own a CID
/// keep it until a task of the mm switches in there (`mm_cid_from_task()`
/// drops it), and each CID a task takes meanwhile is in transit.
///
/// A CPU inside a context switch of the mm throughout the snapshot
/// (`MMCID_CPU_IN_SWITCH`) may be anywhere in `mm_cid_switch_to()`: its
/// slot, its prev and its next are left out, and the switch check checks
/// what that switch does.  What the others own is exact; of the bits set
/// that nobody else owns, those that the left-out slot and tasks hold (as
/// read) count as theirs, and at most two more per such switch, which the
/// switch may hold where the snapshot cannot see (see
/// [`ACCOUNTING_SLACK`]).
fn invariants(s: &OpSnap) -> Option<Owner> {
    // The CPUs inside a switch of the mm, and their prev and next.
    let in_switch = s
        .possible_cpus()
        .filter(|(_, c)| c.in_switch())
        .fold(0u64, |m, (c, _)| m | 1u64 << c.min(63));
    let switching = |task: u64| {
        s.possible_cpus()
            .any(|(_, c)| c.in_switch() && (c.prev == task || c.next == task))
    };
    let left_out = |c: usize| (in_switch >> c.min(63)) & 1 != 0;
    let kept = || s.kept_users().iter().filter(|u| !switching(u.task));
    let users = kept().map(|u| (u.active != 0, u.cid));
    // By CPU number; a CPU that is not possible reads 0, which owns
    // nothing, and one left out MM_CID_UNSET.
    let cids: [u32; MAX_CPUS] = core::array::from_fn(|c| {
        if left_out(c) {
            MM_CID_UNSET
        } else {
            s.cpus[c].pcpu_cid
        }
    });
    // The CPUs whose current task is an active user with a CPU owned CID.
    let held_curr = s
        .possible_cpus()
        .filter(|(c, cs)| {
            !left_out(*c) && kept().any(|u| u.task == cs.curr && u.active != 0 && cid_on_cpu(u.cid))
        })
        .fold(0u64, |m, (c, _)| m | 1u64 << c.min(63));
    // The numbers the left-out slots and tasks hold, as read.
    let number = |cid: u32| (cid & MM_CID_UNSET == 0).then(|| 1u64 << task_mm_cid(cid).min(63));
    let held = s
        .possible_cpus()
        .filter(|(c, _)| left_out(*c))
        .filter_map(|(_, c)| number(c.pcpu_cid))
        .chain(
            s.kept_users()
                .iter()
                .filter(|u| switching(u.task))
                .filter_map(|u| number(u.cid)),
        )
        .fold(0, |m, b| m | b);
    let finished = if cid_in_transit(s.mm.mode) {
        None
    } else {
        transition_finished(s.mm.mode, users, &cids, held_curr, s.nr_possible)
    };
    finished.or_else(|| {
        cid_accounting_in_flight(
            kept().map(|u| u.cid),
            &cids,
            s.mm.cidmask,
            s.nr_possible,
            held,
            ACCOUNTING_SLACK * in_switch.count_ones(),
        )
    })
}

/// Set bits that one context switch in flight may hold where a snapshot
/// taken meanwhile sees no owner (the bitmap is read first, the tasks and
/// slots after): `mm_cid_schedout()` clears prev's bit before it writes
/// `MM_CID_UNSET` to prev (`mm_drop_cid()`), and `mm_cid_schedin()` then
/// drops one CID more, or takes one, never both in one path:
/// `mm_unset_cid_on_task()` in `mm_cid_from_cpu()`, `mm_drop_cid_on_cpu()`
/// in `mm_cid_from_task()`, `mm_cid_converge()`'s `__mm_get_cid()` of the
/// new CID then `mm_drop_cid()` of the old, or `mm_get_cid()` before the
/// CID is stored.  Every other CID the switch holds is in its slot, its
/// prev or its next, which count as holders.
pub const ACCOUNTING_SLACK: u32 = 2;

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
        if inconsistent(s).is_none() {
            if let Some(o) = invariants(s) {
                return Accounting::Violation(at_return, o);
            }
            kept += 1;
        }
    }
    match inconsistent(pre) {
        Some(why) if kept == 0 => Accounting::NotConsistent(why),
        _ => Accounting::Kept(kept),
    }
}

/// Make `s` the model of `pre`: every kept user at its index, in
/// `user_list` order, each CPU's current task and slot; current and the
/// forked task added when they are no users.  Returns current's and the
/// task's ids.
fn build(variant: Variant, pre: &OpSnap, s: &mut OpSched) -> Result<(TaskId, TaskId), OpVerdict> {
    if pre.possible.count_ones() != pre.nr_possible || !pre.cpu_possible(pre.cpu) {
        return Err(OpVerdict::Unsupported);
    }
    let users = pre.kept_users();
    if users.len() != pre.nr_users as usize {
        return Err(OpVerdict::Raced(OpRace::TooManyUsers));
    }
    s.load_mm_on(
        pre.possible,
        variant,
        pre.possible,
        &MmRead {
            mode: pre.mm.mode,
            max_cids: pre.mm.max_cids,
            users: pre.mm.users,
            cidmask: pre.mm.cidmask,
            pcpu_thrs: pre.pcpu_thrs,
            nr_cpus_allowed: pre.nr_cpus_allowed,
            update_deferred: pre.update_deferred != 0,
            cpus_allowed: pre.cpus_allowed,
        },
    );
    let unsupported = OpVerdict::Unsupported;
    for u in users {
        if !pre.cpu_possible(u.cpu) {
            return Err(unsupported);
        }
        s.load_task(u.cpu as usize, u.cid, u.active != 0)
            .ok_or(unsupported)?;
    }
    // The snapshot is head first; hlist_add_head() builds it tail first.
    for i in (0..users.len()).rev() {
        s.mm_cid.user_list.add_head(i);
    }
    // Current and the task, when they are no users: OpSched has room for
    // OP_USERS and both.  A task of another mm (the kworker of the deferred
    // work, a task changing another process's affinity) has no CID of it.
    let add = |s: &mut OpSched, task: &super::ffi::TaskSnap, cpu: u32| match find(users, task.task)
    {
        Some(i) => Ok(i),
        None if task.mm != pre.mm.mm => s
            .load_task(cpu as usize, MM_CID_UNSET, false)
            .ok_or(unsupported),
        None => s
            .load_task(cpu as usize, task.cid, task.active != 0)
            .ok_or(unsupported),
    };
    let cur = add(s, &pre.cur, pre.cpu)?;
    let t = if pre.t.task == pre.cur.task {
        cur
    } else {
        let cpu = if pre.cpu_possible(pre.t_cpu) {
            pre.t_cpu
        } else {
            pre.cpu
        };
        add(s, &pre.t, cpu)?
    };
    for (c, cs) in pre.possible_cpus() {
        s.load_cpu(c, cs.pcpu_cid, find(users, cs.curr));
    }
    s.set_curr(pre.cpu as usize, Some(cur));
    Ok((cur, t))
}

/// Why `pre`..`post` cannot be decided, if it cannot.
///
/// An affinity change holds `mm_cid::lock` only, the deferred work
/// `mm_cid::mutex` and the lock: both are checked calls of the mm like
/// forks and exits, so another one in flight is an overlap.  A fork or
/// exit keeps its older allowance for an affinity change meanwhile.
fn race(op: Op, pre: &OpSnap, post: &OpSnap) -> Option<OpRace> {
    let overlapped = pre.ops_in_flight != 1 || pre.op_seq != post.op_seq;
    if pre.missed != post.missed || (overlapped && !overlap_wrote_nothing(op, pre, post)) {
        return Some(OpRace::Overlap);
    }
    if !op.of_task() {
        return None;
    }
    if pre.nr_cpus_allowed != post.nr_cpus_allowed
        || pre.update_deferred != 0
        || post.update_deferred != 0
    {
        return Some(OpRace::Affinity);
    }
    None
}

/// Did the other forks, exits and deferred works of the mm that overlapped
/// a fork or exit (by the glue's counts) write nothing the check reads?
///
/// Each of them writes CIDs, the mode and the users only holding
/// `mm_cid::mutex`, which the fork or exit holds for its own writes too
/// (`sched_mm_cid_fork()`: `guard(mutex)`; `sched_mm_cid_exit()`:
/// `scoped_guard(mutex, ...)`), and a new holder takes `mm_cid::lock`,
/// which both snapshots hold.  So with the mutex free at both ends no
/// other call was mid-way at either, and one that ran in between ran
/// whole, before or after this call's own part.  A whole fork or exit
/// adds its task to `mm_cid::user_list` or removes it (`hlist_add_head()`
/// in `sched_mm_cid_add_user()`, `hlist_del_init()` in
/// `sched_mm_cid_remove_user()`; an exit of a task that is no user returns
/// before the mutex and writes nothing), so one other call leaves the
/// other users changed.  Two can leave them as they were: a thread
/// forked and exited in between, or `sched_mm_cid_before_execve()` and
/// `_after_execve()` of a task at the head of the list.  Both pairs are
/// sequential (the child runs only after `sched_post_fork()` returned,
/// the execve() calls are one task's), so the second begins after the
/// first ended and the counts see at least three of their steps: hence
/// at most one other call, by [`at_most_one_other`].  A deferred work
/// writes only with `update_deferred` set, which [`race`] already refuses
/// at either end, or set meanwhile by an affinity change that also moved
/// `nr_cpus_allowed`.
fn overlap_wrote_nothing(op: Op, pre: &OpSnap, post: &OpSnap) -> bool {
    if !op.of_task() || pre.mutex_locked != 0 || post.mutex_locked != 0 {
        return false;
    }
    if !at_most_one_other(pre, post) {
        return false;
    }
    let (a, b) = (pre.kept_users(), post.kept_users());
    if a.len() != pre.nr_users as usize || b.len() != post.nr_users as usize {
        return false;
    }
    others(a, pre.t.task).eq(others(b, pre.t.task))
}

/// Could at most one other checked call of the mm have run between `pre`
/// and `post`?  The glue counts each call's begin and end in `op_seq`
/// (after its `ops_in_flight` increment, before its decrement), and both
/// snapshots read `op_seq` first.  One other call shows as in flight at
/// `pre` and ending or not (`ops_in_flight` 2, `op_seq` +1 or +0), or as
/// begun in between and ending or not (+2 or +1).  Two calls that ran
/// one after the other show at least three steps: one in flight at `pre`
/// and two more (+2), or +3.
fn at_most_one_other(pre: &OpSnap, post: &OpSnap) -> bool {
    let in_flight = u64::from(pre.ops_in_flight.saturating_sub(1));
    let steps = post.op_seq.wrapping_sub(pre.op_seq);
    in_flight <= 1 && in_flight.saturating_add(steps) <= 2
}

/// The users of `s` but `task`, by identity.
fn others(s: &[UserSnap], task: u64) -> impl Iterator<Item = (u64, i32)> + '_ {
    s.iter()
        .filter(move |u| u.task != task)
        .map(|u| (u.task, u.tid))
}

/// The model run of `op`, in `s`: the task's id, and whether the run took
/// a CID from the bitmap or found none there (then the C spun in
/// `mm_get_cid()` until another CPU freed one).
fn run(
    variant: Variant,
    pre: &OpSnap,
    post: &OpSnap,
    op: Op,
    replay: Option<u32>,
    s: &mut OpSched,
) -> Result<(TaskId, bool), OpVerdict> {
    let (cur, t) = build(variant, pre, s)?;
    s.replay_alloc = replay;
    let cpu = pre.cpu as usize;
    let mut spun = false;
    match op {
        Op::Exit => sched_mm_cid_exit(s, cpu, t, cur),
        Op::Fork => {
            if sched_mm_cid_fork(s, cpu, cur, t).is_err() {
                s.tasks[t].cid = MM_CID_UNSET;
                spun = true;
            }
        }
        // set_cpus_allowed_common() copied ctx->new_mask to p->cpus_mask
        // before mm_update_cpus_allowed(p->mm, ctx->new_mask).
        Op::Affinity => {
            mm_update_cpus_allowed(s, post.t_cpus_mask);
        }
        Op::Work => {
            if mm_cid_work_fn(s) {
                mm_cid_fixup_cpus_to_tasks(s);
            }
        }
    }
    Ok((t, spun || s.cid_allocs > 0))
}

fn kind(pre: &OpSnap, op: Op, s: &OpSched) -> OpKind {
    let (before, after) = (cid_on_cpu(pre.mm.mode), cid_on_cpu(s.mm_cid.mode));
    let exit = match op {
        Op::Fork => false,
        Op::Exit => true,
        Op::Affinity => {
            let mc = &s.mm_cid;
            return if mc.nr_cpus_allowed == pre.nr_cpus_allowed {
                OpKind::AffinitySame
            } else if !before {
                OpKind::AffinityTaskMode
            } else if mc.users < mc.pcpu_thrs {
                OpKind::AffinitySwitchBack
            } else {
                OpKind::AffinityStayCpu
            };
        }
        Op::Work if before && !after => return OpKind::WorkToTask,
        Op::Work => return OpKind::WorkIdle,
    };
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

/// Compare the model run `s` of `op` with `post`; the first difference,
/// and how many users and CPUs were compared and left out.
fn compare(
    s: &OpSched,
    op: Op,
    t: TaskId,
    pre: &OpSnap,
    post: &OpSnap,
) -> (Option<OpDiff>, u32, u32) {
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
        .or_else(|| diff(OpField::PcpuThrs, mc.pcpu_thrs, post.pcpu_thrs));
    // Current itself (an exit, sched_mm_cid_after_execve()) may have been
    // switched out and in between the C's return and the second snapshot,
    // or while the C waited on mm_cid::mutex: its schedule-in may have
    // given it a CID since (after a failed execve() in per CPU mode it
    // runs with MM_CID_UNSET until then).  Its CID, and the bitmap, are
    // then left out.
    let self_switched = pre.t.task == pre.cur.task && pre.switches != post.switches;
    if op.of_task() {
        if !self_switched {
            first = first.or_else(|| diff(OpField::Task, s.tasks[t].cid, post.t.cid));
        }
        first = first.or_else(|| {
            let active = u32::from(s.tasks[t].active);
            diff(OpField::TaskActive, active, u32::from(post.t.active != 0))
        });
    } else {
        // Only the affinity path writes these; a fork or exit that met
        // one is not decided (race()).
        first = first
            .or_else(|| {
                diff(
                    OpField::NrCpusAllowed,
                    mc.nr_cpus_allowed,
                    post.nr_cpus_allowed,
                )
            })
            .or_else(|| {
                let deferred = u32::from(mc.update_deferred);
                diff(
                    OpField::UpdateDeferred,
                    deferred,
                    u32::from(post.update_deferred != 0),
                )
            });
    }
    if op == Op::Affinity {
        first = first.or_else(|| {
            (mc.cpus_allowed != post.cpus_allowed).then_some(OpDiff {
                field: OpField::CpusAllowed,
                want: mc.cpus_allowed,
                got: post.cpus_allowed,
            })
        });
    }
    let (mut compared, mut skipped) = (0, 0);
    let (pc, qc) = (pre.kept_cpus(), post.kept_cpus());
    let mut all = !(self_switched && op.of_task());
    if !all {
        skipped += 1;
    }
    for (c, a) in pre.possible_cpus() {
        let b = &qc[c];
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
            || !pre.cpu_possible(u.cpu)
            || !cpu_undisturbed(&pc[cpu], &qc[cpu])
    };
    for (i, u) in pre.kept_users().iter().enumerate() {
        // The forked or exiting task is compared above; the task of an
        // affinity change is a user like the others.
        if i == t && op.of_task() {
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

/// Check the call `op` from `pre` (its entry) to `post` (its return)
/// against `variant`.
///
/// `s` is room for the model runs (see [`OpSched`]).
pub fn check_op(variant: Variant, op: Op, pre: &OpSnap, post: &OpSnap, s: &mut OpSched) -> OpCheck {
    let mut out = unsupported(pre, post);
    if op == Op::Fork && pre.cur.mm != pre.mm.mm {
        if let Some(d) = fresh_mm(variant, pre, s) {
            out.verdict = OpVerdict::Mismatch(OpKind::FirstUser, d);
            return out;
        }
    }
    if let Some(r) = race(op, pre, post) {
        out.verdict = match op {
            Op::Affinity if within_the_mm(pre, post) => no_op(pre, post),
            _ => OpVerdict::Raced(r),
        };
        return out;
    }
    let (t, from_bitmap) = match run(variant, pre, post, op, None, s) {
        Ok(r) => r,
        Err(v) => {
            out.verdict = v;
            return out;
        }
    };
    let first = verdict(&mut out, s, t, pre, post, op);
    // The child's CID came from the shared bitmap (fork in per task mode),
    // or the model found it full where the C spun until another CPU freed
    // a CID: replay the number the C found; the rest must then agree.
    if matches!(first, OpVerdict::Mismatch(..)) && op == Op::Fork && from_bitmap {
        let r = task_mm_cid(post.t.cid);
        if cid_on_task(post.t.cid) && r < pre.nr_possible && !owned_elsewhere(post, r) {
            if let Ok((t, _)) = run(variant, pre, post, op, Some(r), s) {
                out.verdict = verdict(&mut out, s, t, pre, post, op);
                return out;
            }
        }
    }
    out.verdict = first;
    out
}

/// The entry of a process fork, which must be the mm `dup_mm()` made:
/// `mm_alloc_cid()`'s zeroed per-CPU slots and what `mm_init_cid(mm, p)`
/// wrote, no user.  Nothing else writes it before `sched_post_fork()`: no
/// task of it has run, and an affinity change of the child meanwhile
/// returns at `!mm->mm_cid.users` in `mm_update_cpus_allowed()`.  That
/// change may have moved the child's mask since, so the mm's own mask is
/// the one `nr_cpus_allowed` must be the weight of.
fn fresh_mm(variant: Variant, pre: &OpSnap, s: &mut OpSched) -> Option<OpDiff> {
    s.reset_on(pre.possible, variant, pre.possible);
    mm_init_cid(s, pre.cpus_allowed);
    let diff = |field, want: u64, got: u64| (want != got).then_some(OpDiff { field, want, got });
    let mc = &s.mm_cid;
    let w = |v: u32| u64::from(v);
    diff(OpField::Mode, w(mc.mode), w(pre.mm.mode))
        .or_else(|| diff(OpField::Users, w(mc.users), w(pre.mm.users)))
        .or_else(|| diff(OpField::Users, 0, w(pre.nr_users)))
        .or_else(|| diff(OpField::MaxCids, w(mc.max_cids), w(pre.mm.max_cids)))
        .or_else(|| diff(OpField::PcpuThrs, w(mc.pcpu_thrs), w(pre.pcpu_thrs)))
        .or_else(|| {
            diff(
                OpField::NrCpusAllowed,
                w(mc.nr_cpus_allowed),
                w(pre.nr_cpus_allowed),
            )
        })
        .or_else(|| {
            diff(
                OpField::UpdateDeferred,
                u64::from(mc.update_deferred),
                u64::from(pre.update_deferred != 0),
            )
        })
        .or_else(|| diff(OpField::Cidmask, mc.cidmask, pre.mm.cidmask))
        .or_else(|| {
            pre.possible_cpus()
                .find_map(|(c, cs)| diff(OpField::Cpu(c), w(mc.pcpu[c]), w(cs.pcpu_cid)))
        })
}

/// Is the task's new mask within the mm's mask at the entry?  Then
/// `mm_update_cpus_allowed()` is a no-op whatever ran meanwhile: the mask
/// only grows, so `cpumask_weighted_or()` returns the weight the mask has
/// under `mm_cid::lock`, which is `nr_cpus_allowed` (every writer of either
/// writes both under the lock; `mm_init_cid()` sets both from one task),
/// and the function returns before writing anything.
fn within_the_mm(pre: &OpSnap, post: &OpSnap) -> bool {
    pre.cpus_allowed != 0 && post.t_cpus_mask & !pre.cpus_allowed == 0
}

/// The verdict on an affinity change that [`within_the_mm`] shows to be
/// a no-op while other calls of the mm overlapped it: nothing of its own
/// to compare, but the invariant the argument rests on must hold at both
/// ends.
fn no_op(pre: &OpSnap, post: &OpSnap) -> OpVerdict {
    for s in [pre, post] {
        let weight = s.cpus_allowed.count_ones();
        if s.nr_cpus_allowed != weight {
            return OpVerdict::Mismatch(
                OpKind::AffinitySame,
                OpDiff {
                    field: OpField::NrCpusAllowed,
                    want: u64::from(weight),
                    got: u64::from(s.nr_cpus_allowed),
                },
            );
        }
    }
    OpVerdict::Agree(OpKind::AffinitySame)
}

/// Does a user other than the task, or a CPU, own `cid` in `post`, as
/// far as a CPU outside a context switch shows?  Then the C cannot have
/// found it free: `__mm_get_cid()` takes only clear bits.
fn owned_elsewhere(post: &OpSnap, cid: u32) -> bool {
    let stable = |c: u32| post.cpu_possible(c) && post.cpus[c as usize].is_stable();
    let by_user = post.kept_users().iter().any(|u| {
        u.task != post.t.task
            && stable(u.cpu)
            && u.cid & (MM_CID_UNSET | MM_CID_ONCPU) == 0
            && cid_from_transit_cid(u.cid) == cid
    });
    let by_cpu = post
        .possible_cpus()
        .any(|(_, c)| c.is_stable() && cid_on_cpu(c.pcpu_cid) && cpu_cid_to_cid(c.pcpu_cid) == cid);
    by_user || by_cpu
}

fn verdict(
    out: &mut OpCheck,
    s: &OpSched,
    t: TaskId,
    pre: &OpSnap,
    post: &OpSnap,
    op: Op,
) -> OpVerdict {
    let k = kind(pre, op, s);
    let (mut first, compared, skipped) = compare(s, op, t, pre, post);
    out.compared = compared;
    out.skipped = skipped;
    if op == Op::Fork
        && pre.t.task != pre.cur.task
        && pre.cur.mm == pre.mm.mm
        && pre.cur.active == 0
    {
        first = first.or(Some(OpDiff {
            field: OpField::ForkerActive,
            want: 1,
            got: 0,
        }));
    }
    match first {
        None => {
            out.paths = s.paths;
            OpVerdict::Agree(k)
        }
        Some(d) => {
            out.paths = 0;
            OpVerdict::Mismatch(k, d)
        }
    }
}
