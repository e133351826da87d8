// SPDX-License-Identifier: GPL-2.0

//! The branches of the mirrored mm_cid code of Linux 7.3 (kernel/sched/core.c
//! and kernel/sched/sched.h), one [`Path`] each, so that a run of the model
//! says which of them it took ([`Sched::paths`]) and the module how many of
//! them it has checked against the C.
//!
//! A path is an arm that does something: the taken arm of an `if`, an
//! `else`, an early return.  An arm made of nested tests alone (`if
//! (!percpu)` in `mm_update_max_cids()`, the mode test of
//! `mm_cid_schedin()`) counts through their paths.  The empty fall-through
//! of an `if` without `else` is no path, except where an upstream fix added
//! the test to skip ([`Path::DropOnCpuNone`], [`Path::FixupCpuCurrUnset`]).
//! The comparisons of a count with a limit (`users` with `max_cids` and
//! with `pcpu_thrs`, a CID with `max_cids` in the schedule-in fast paths)
//! have two more paths each: operands equal, and one apart
//! ([`Sched::took_bounds`]).
//!
//! Not counted:
//! - the `!mm` tests and `WARN_ON_ONCE(current->mm != mm)`: the model has
//!   one mm;
//! - a failing `test_and_set_bit()` in `__mm_get_cid()`: the model is
//!   sequential (`Sched::replay_alloc` stands for the other CPUs);
//! - `t->mm_cid.cid != cid` in `mm_cid_update_task_cid()`: the rseq
//!   notification is not mirrored;
//! - `likely(cid < max_cids)` in `mm_cid_converge()`: both callers call it
//!   after the same comparison of the same operands failed, so the arm is
//!   dead; the comparison is counted at the callers, with boundaries;
//! - boundaries of `cid < max_cids` in `mm_cid_schedout()`;
//! - arms only a model variant takes (model/variant.rs): a variant's run
//!   records the arms of the 7.3 code its model takes.
//!
//! Merged, so that the paths fit in 64 bits: the three `WARN_ON_ONCE()`
//! arms are one path ([`Path::Warn`]; `Sched::fault` says which), and so
//! are the three early returns of `mm_cid_work_fn()`
//! ([`Path::WorkNothing`]).
//!
//! [`Sched::paths`]: super::state::Sched::paths
//! [`Sched::took_bounds`]: super::state::Sched::took_bounds

/// A branch of the mirrored mm_cid code of Linux 7.3, in the order of the
/// C source.  Bit `p as u8` of [`Sched::paths`](super::state::Sched::paths)
/// is set when a run took `p`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Path {
    /// mm_update_max_cids(): per task mode, `mc->users > mc->max_cids`: per CPU mode on.
    UpdateToCpu,
    /// mm_update_max_cids(): per CPU mode, `mc->users < mc->pcpu_thrs`: per CPU mode off.
    UpdateToTask,
    /// mm_update_max_cids(): no mode change, `percpu == !!mc->pcpu_thrs`.
    UpdateKeep,
    /// mm_update_max_cids(): `mc->users > mc->max_cids` with `users == max_cids`.
    MaxCidsEq,
    /// mm_update_max_cids(): `mc->users > mc->max_cids` with the two one apart.
    MaxCidsNear,
    /// mm_update_max_cids(): `mc->users < mc->pcpu_thrs` with `users == pcpu_thrs`.
    ThrsEq,
    /// mm_update_max_cids(): `mc->users < mc->pcpu_thrs` with the two one apart.
    ThrsNear,
    /// mm_update_cpus_allowed(): no users, `!READ_ONCE(mm->mm_cid.users)`.
    AffinityNoUsers,
    /// mm_update_cpus_allowed(): the union kept its weight, `weight == mc->nr_cpus_allowed`.
    AffinitySameWeight,
    /// mm_update_cpus_allowed(): wider, in per task mode, `!cid_on_cpu(mc->mode)`.
    AffinityTaskMode,
    /// mm_update_cpus_allowed(): per CPU mode stays, `mc->users >= mc->pcpu_thrs`.
    AffinityStaysPerCpu,
    /// mm_update_cpus_allowed(): "Don't queue twice", `mc->update_deferred`.
    AffinityQueuedTwice,
    /// mm_update_cpus_allowed(): switch back queued, `irq_work_queue(&mc->irq_work)`.
    AffinityQueue,
    /// mm_update_cpus_allowed(): `mc->users >= mc->pcpu_thrs` with `users == pcpu_thrs`.
    AffinityThrsEq,
    /// mm_update_cpus_allowed(): `mc->users >= mc->pcpu_thrs` with the two one apart.
    AffinityThrsNear,
    /// mm_cid_transit_to_task(): `cid_on_cpu(t->mm_cid.cid)`: the CID goes to the task in transit.
    TransitToTask,
    /// mm_cid_fixup_cpus_to_tasks(): `cid_on_cpu(pcp->cid)`, `rq->curr` an active user: hand over.
    FixupCpuHandOver,
    /// mm_cid_fixup_cpus_to_tasks(): `cid_on_cpu(pcp->cid)`, no active user on the CPU: drop.
    FixupCpuDrop,
    /// mm_cid_fixup_cpus_to_tasks(): `rq->curr` has `cid != MM_CID_UNSET && !cid_in_transit(cid)`.
    FixupCpuCurrTransit,
    /// mm_cid_fixup_cpus_to_tasks(): `rq->curr`'s CID is in transit: left alone.
    FixupCpuCurrSkip,
    /// mm_cid_fixup_cpus_to_tasks(): `rq->curr`'s CID is MM_CID_UNSET: left alone (de3ab9bd3133).
    FixupCpuCurrUnset,
    /// mm_cid_transit_to_cpu(): `cid_on_task(t->mm_cid.cid)`: the CID goes to the CPU in transit.
    TransitToCpu,
    /// mm_cid_fixup_task_to_cpu(): `cid_on_task()` and `task_rq(t)->curr == t`: transit.
    FixupTaskTransit,
    /// mm_cid_fixup_task_to_cpu(): `cid_on_task()`, not running: `mm_unset_cid_on_task(t)`.
    FixupTaskUnset,
    /// sched_mm_cid_fork(): first user, `!mm->mm_cid.users`.
    ForkFirstUser,
    /// sched_mm_cid_fork(): `!sched_mm_cid_add_user()` and `!cid_on_cpu(mode)`: the child's CID.
    ForkTaskMode,
    /// sched_mm_cid_fork(): `!sched_mm_cid_add_user()` in per CPU mode: nothing to do.
    ForkCpuMode,
    /// sched_mm_cid_fork(): mode change, `!percpu`: `mm_cid_fixup_cpus_to_tasks()`.
    ForkToTask,
    /// sched_mm_cid_fork(): mode change, `percpu`: `mm_cid_fixup_tasks_to_cpus()`.
    ForkToCpu,
    /// __sched_mm_cid_exit(): no mode change, `!sched_mm_cid_remove_user(t)`.
    ExitKeepMode,
    /// __sched_mm_cid_exit(): `return true`: back to per task mode, the CPU walk follows.
    ExitToTask,
    /// sched_mm_cid_exit(): not a user, `!t->mm_cid.active`.
    ExitInactive,
    /// sched_mm_cid_exit(): last user, `!(mm->mm_cid.users > 1)`.
    ExitLastUser,
    /// mm_cid_work_fn(): `!mm->mm_cid.users`, `!mc->update_deferred` or `!mm_update_max_cids()`.
    WorkNothing,
    /// mm_cid_work_fn(): the switch back, `mm_cid_fixup_cpus_to_tasks(mm)`.
    WorkToTask,
    /// sched_mm_cid_fork(), __sched_mm_cid_exit(), mm_cid_work_fn(): a `WARN_ON_ONCE()` fired.
    Warn,
    /// mm_unset_cid_on_task(): `cid_on_task(cid)`: `mm_drop_cid()`.
    UnsetTaskDrop,
    /// mm_drop_cid_on_cpu(): `cid_on_cpu(pcp->cid)`: `mm_drop_cid()`.
    DropOnCpu,
    /// mm_drop_cid_on_cpu(): `!cid_on_cpu(pcp->cid)`: nothing to drop (1e83ccd5921a).
    DropOnCpuNone,
    /// mm_get_cid(): a CID below `max_cids`, the loop not entered.
    GetCid,
    /// mm_get_cid(): none below `max_cids`, `while (cid == MM_CID_UNSET)` entered.
    GetCidRetry,
    /// mm_get_cid(): a turn of the loop found none either, `cpu_relax()` again.
    GetCidSpin,
    /// mm_cid_converge(): `new_cid != MM_CID_UNSET`: moved into the optimal space.
    ConvergeMoved,
    /// mm_cid_converge(): none free in the optimal space, `return orig_cid`.
    ConvergeKept,
    /// mm_cid_from_cpu(): both ONCPU and `cpu_cid_to_cid(cpu_cid) < max_cids`.
    FromCpuFast,
    /// mm_cid_from_cpu(): `!cid_on_cpu(cpu_cid & tcid)`: hand over or drop the task's CID.
    FromCpuHandOver,
    /// mm_cid_from_cpu(): `cid_on_task(tcid)` and `cid_on_cpu(cpu_cid)`: `mm_unset_cid_on_task(t)`.
    FromCpuDropTask,
    /// mm_cid_from_cpu(): `cid_on_task(tcid)`, `!cid_on_cpu(cpu_cid)`: `cid_to_cpu_cid(tcid)`.
    FromCpuTakeTask,
    /// mm_cid_from_cpu(): still `!cid_on_cpu(cpu_cid)`: `mm_get_cid(mm)`.
    FromCpuAlloc,
    /// mm_cid_from_cpu(): `mode & MM_CID_TRANSIT`: the CID in transit.
    FromCpuTransit,
    /// mm_cid_from_cpu(): `cpu_cid_to_cid(cpu_cid) < max_cids` with the two equal.
    FromCpuMaxEq,
    /// mm_cid_from_cpu(): `cpu_cid_to_cid(cpu_cid) < max_cids` with the two one apart.
    FromCpuMaxNear,
    /// mm_cid_from_task(): both not ONCPU and `tcid < max_cids`.
    FromTaskFast,
    /// mm_cid_from_task(): `!cid_on_task(tcid | cpu_cid)`: hand over or drop the CPU's CID.
    FromTaskHandOver,
    /// mm_cid_from_task(): `cid_on_cpu(cpu_cid)` and `cid_on_task(tcid)`: `mm_drop_cid_on_cpu()`.
    FromTaskDropCpu,
    /// mm_cid_from_task(): `cid_on_cpu(cpu_cid)`, `!cid_on_task(tcid)`: `cpu_cid_to_cid(cpu_cid)`.
    FromTaskTakeCpu,
    /// mm_cid_from_task(): still `!cid_on_task(tcid)`: `mm_get_cid(mm)`.
    FromTaskAlloc,
    /// mm_cid_from_task(): `tcid < max_cids` with the two equal.
    FromTaskMaxEq,
    /// mm_cid_from_task(): `tcid < max_cids` with the two one apart.
    FromTaskMaxNear,
    /// mm_cid_schedin(): not a user, `!next->mm_cid.active`.
    SchedinInactive,
    /// mm_cid_schedout(): `likely(!cid_in_transit(prev->mm_cid.cid))`: nothing to do.
    SchedoutNotTransit,
    /// mm_cid_schedout(): `!cid_in_transit(mode) && cid < max_cids`: the CID is kept.
    SchedoutKeep,
    /// mm_cid_schedout(): kept, `cid_on_cpu(mode)`: as the CPU's, `cid_to_cpu_cid(cid)`.
    SchedoutKeepCpu,
    /// mm_cid_schedout(): in transit or above `max_cids`: `mm_drop_cid()`.
    SchedoutDrop,
}

impl Path {
    /// The paths no run of 7.3 takes, as bits.
    pub const UNREACHABLE_ON_V7_3: u64 = {
        let mut m = 0;
        let mut i = 0;
        while i < UNREACHABLE_ON_V7_3.len() {
            m |= UNREACHABLE_ON_V7_3[i].0.bit();
            i += 1;
        }
        m
    };

    /// Number of paths; at most 64, the bits of [`Sched::paths`](super::state::Sched::paths).
    pub const COUNT: usize = 64;

    /// Every path, `Path::ALL[i] as usize == i`.
    pub const ALL: [Path; Path::COUNT] = [
        Path::UpdateToCpu,
        Path::UpdateToTask,
        Path::UpdateKeep,
        Path::MaxCidsEq,
        Path::MaxCidsNear,
        Path::ThrsEq,
        Path::ThrsNear,
        Path::AffinityNoUsers,
        Path::AffinitySameWeight,
        Path::AffinityTaskMode,
        Path::AffinityStaysPerCpu,
        Path::AffinityQueuedTwice,
        Path::AffinityQueue,
        Path::AffinityThrsEq,
        Path::AffinityThrsNear,
        Path::TransitToTask,
        Path::FixupCpuHandOver,
        Path::FixupCpuDrop,
        Path::FixupCpuCurrTransit,
        Path::FixupCpuCurrSkip,
        Path::FixupCpuCurrUnset,
        Path::TransitToCpu,
        Path::FixupTaskTransit,
        Path::FixupTaskUnset,
        Path::ForkFirstUser,
        Path::ForkTaskMode,
        Path::ForkCpuMode,
        Path::ForkToTask,
        Path::ForkToCpu,
        Path::ExitKeepMode,
        Path::ExitToTask,
        Path::ExitInactive,
        Path::ExitLastUser,
        Path::WorkNothing,
        Path::WorkToTask,
        Path::Warn,
        Path::UnsetTaskDrop,
        Path::DropOnCpu,
        Path::DropOnCpuNone,
        Path::GetCid,
        Path::GetCidRetry,
        Path::GetCidSpin,
        Path::ConvergeMoved,
        Path::ConvergeKept,
        Path::FromCpuFast,
        Path::FromCpuHandOver,
        Path::FromCpuDropTask,
        Path::FromCpuTakeTask,
        Path::FromCpuAlloc,
        Path::FromCpuTransit,
        Path::FromCpuMaxEq,
        Path::FromCpuMaxNear,
        Path::FromTaskFast,
        Path::FromTaskHandOver,
        Path::FromTaskDropCpu,
        Path::FromTaskTakeCpu,
        Path::FromTaskAlloc,
        Path::FromTaskMaxEq,
        Path::FromTaskMaxNear,
        Path::SchedinInactive,
        Path::SchedoutNotTransit,
        Path::SchedoutKeep,
        Path::SchedoutKeepCpu,
        Path::SchedoutDrop,
    ];

    /// Every path's bit.
    pub const MASK: u64 = u64::MAX >> (64 - Path::COUNT);

    /// This path's bit in [`Sched::paths`](super::state::Sched::paths).
    pub const fn bit(self) -> u64 {
        1 << self as u8
    }

    /// A short, unique snake_case key, for reports.
    pub const fn name(self) -> &'static str {
        match self {
            Path::UpdateToCpu => "update_to_cpu",
            Path::UpdateToTask => "update_to_task",
            Path::UpdateKeep => "update_keep",
            Path::MaxCidsEq => "max_cids_eq",
            Path::MaxCidsNear => "max_cids_near",
            Path::ThrsEq => "thrs_eq",
            Path::ThrsNear => "thrs_near",
            Path::AffinityNoUsers => "affinity_no_users",
            Path::AffinitySameWeight => "affinity_same_weight",
            Path::AffinityTaskMode => "affinity_task_mode",
            Path::AffinityStaysPerCpu => "affinity_stays_per_cpu",
            Path::AffinityQueuedTwice => "affinity_queued_twice",
            Path::AffinityQueue => "affinity_queue",
            Path::AffinityThrsEq => "affinity_thrs_eq",
            Path::AffinityThrsNear => "affinity_thrs_near",
            Path::TransitToTask => "transit_to_task",
            Path::FixupCpuHandOver => "fixup_cpu_hand_over",
            Path::FixupCpuDrop => "fixup_cpu_drop",
            Path::FixupCpuCurrTransit => "fixup_cpu_curr_transit",
            Path::FixupCpuCurrSkip => "fixup_cpu_curr_skip",
            Path::FixupCpuCurrUnset => "fixup_cpu_curr_unset",
            Path::TransitToCpu => "transit_to_cpu",
            Path::FixupTaskTransit => "fixup_task_transit",
            Path::FixupTaskUnset => "fixup_task_unset",
            Path::ForkFirstUser => "fork_first_user",
            Path::ForkTaskMode => "fork_task_mode",
            Path::ForkCpuMode => "fork_cpu_mode",
            Path::ForkToTask => "fork_to_task",
            Path::ForkToCpu => "fork_to_cpu",
            Path::ExitKeepMode => "exit_keep_mode",
            Path::ExitToTask => "exit_to_task",
            Path::ExitInactive => "exit_inactive",
            Path::ExitLastUser => "exit_last_user",
            Path::WorkNothing => "work_nothing",
            Path::WorkToTask => "work_to_task",
            Path::Warn => "warn",
            Path::UnsetTaskDrop => "unset_task_drop",
            Path::DropOnCpu => "drop_on_cpu",
            Path::DropOnCpuNone => "drop_on_cpu_none",
            Path::GetCid => "get_cid",
            Path::GetCidRetry => "get_cid_retry",
            Path::GetCidSpin => "get_cid_spin",
            Path::ConvergeMoved => "converge_moved",
            Path::ConvergeKept => "converge_kept",
            Path::FromCpuFast => "from_cpu_fast",
            Path::FromCpuHandOver => "from_cpu_hand_over",
            Path::FromCpuDropTask => "from_cpu_drop_task",
            Path::FromCpuTakeTask => "from_cpu_take_task",
            Path::FromCpuAlloc => "from_cpu_alloc",
            Path::FromCpuTransit => "from_cpu_transit",
            Path::FromCpuMaxEq => "from_cpu_max_eq",
            Path::FromCpuMaxNear => "from_cpu_max_near",
            Path::FromTaskFast => "from_task_fast",
            Path::FromTaskHandOver => "from_task_hand_over",
            Path::FromTaskDropCpu => "from_task_drop_cpu",
            Path::FromTaskTakeCpu => "from_task_take_cpu",
            Path::FromTaskAlloc => "from_task_alloc",
            Path::FromTaskMaxEq => "from_task_max_eq",
            Path::FromTaskMaxNear => "from_task_max_near",
            Path::SchedinInactive => "schedin_inactive",
            Path::SchedoutNotTransit => "schedout_not_transit",
            Path::SchedoutKeep => "schedout_keep",
            Path::SchedoutKeepCpu => "schedout_keep_cpu",
            Path::SchedoutDrop => "schedout_drop",
        }
    }

    /// The paths whose bits are set in `mask`, in [`Path::ALL`] order.
    pub fn in_mask(mask: u64) -> impl Iterator<Item = Path> {
        // Set bits only, lowest first: a check counts its run's few paths
        // on every context switch.
        let mut m = mask & Path::MASK;
        core::iter::from_fn(move || {
            let i = m.trailing_zeros() as usize;
            m &= m.wrapping_sub(1);
            Path::ALL.get(i).copied()
        })
    }
}

/// The paths no run of 7.3 takes, and why (explorer/tests/paths.rs checks
/// that random walks take every other one).
pub const UNREACHABLE_ON_V7_3: [(Path, &str); 8] = [
    (
        Path::FixupCpuCurrTransit,
        "in per CPU mode no user holds a plain task CID (mm_cid_fixup_tasks_to_cpus() marks or \
         drops each, mm_cid_from_cpu() hands out ONCPU or TRANSIT), and during the walk back \
         mm_cid_from_task() hands out TRANSIT",
    ),
    (
        Path::ForkToTask,
        "per CPU mode keeps users >= pcpu_thrs (both setters compute it <= min(nr_cpus_allowed, \
         users), an exit below it switches back), so users + 1 is never below it",
    ),
    (
        Path::ExitInactive,
        "7.3 calls sched_mm_cid_exit() on current only (do_exit(), before_execve()), which is a \
         user since sched_post_fork() or sched_mm_cid_after_execve()",
    ),
    (
        Path::AffinityQueuedTwice,
        "mm_cid_calc_pcpu_thrs() <= min(nr_cpus_allowed, users) <= users: \
         mm_update_cpus_allowed() returns at users >= pcpu_thrs (docs/affinity.md)",
    ),
    (Path::AffinityQueue, "as affinity_queued_twice"),
    (
        Path::WorkNothing,
        "mm_cid_work_fn() runs only from the irq work that affinity_queue queues",
    ),
    (Path::WorkToTask, "as work_nothing"),
    (
        Path::Warn,
        "the WARN_ON_ONCE()s: dup_task_struct() and every exit leave MM_CID_UNSET for a fork, \
         an exit lowers users but not max_cids below them, mm_cid_work_fn() does not run",
    ),
];

// A run's paths fit in a u64, and ALL is indexed by the discriminant.
const _: () = {
    assert!(Path::COUNT <= 64);
    let mut i = 0;
    while i < Path::COUNT {
        assert!(Path::ALL[i] as usize == i);
        i += 1;
    }
};
