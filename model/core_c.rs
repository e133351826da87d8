// SPDX-License-Identifier: GPL-2.0

//! The mm_cid ownership code of kernel/sched/core.c, from
//! `__mm_update_max_cids()` to `mm_init_cid()`, in the order it appears
//! there.
//!
//! Locks are the caller's business: each function says which ones the C
//! holds.  The fixup walks exist twice: as the whole C function, and as the
//! loop body the C runs under one runqueue lock, so that the explorer can
//! interleave other CPUs between two iterations.  `fork()` and `exit()` are
//! split the same way at the points where the C drops `mm_cid::lock`.

use super::bits::*;
use super::paths::Path;
use super::sched::*;
use super::state::{cpus_in, Fault, Sched, TaskId};
use super::variant::Variant;

/// Mirrors `__mm_update_max_cids()`.
pub fn __mm_update_max_cids<const C: usize, const T: usize>(s: &mut Sched<C, T>) {
    let mc = &mut s.mm_cid;

    // Calculate the new optimal constraint
    let opt_cids = mc.nr_cpus_allowed.min(mc.users);

    // Adjust the maximum CIDs to +25% limited by the number of possible CPUs
    mc.max_cids = (opt_cids + opt_cids / 4).min(s.nr_possible_cpus);
}

/// Mirrors `mm_cid_calc_pcpu_thrs()`.
pub fn mm_cid_calc_pcpu_thrs<const C: usize, const T: usize>(s: &Sched<C, T>) -> u32 {
    let mc = &s.mm_cid;
    let opt_cids = mc.nr_cpus_allowed.min(mc.users);

    pcpu_thrs_of(opt_cids, s.nr_possible_cpus)
}

/// The arithmetic of `mm_cid_calc_pcpu_thrs()` on a given `opt_cids`:
/// `max(min(opt_cids - opt_cids / 4, num_possible_cpus() / 2), 1)`.
///
/// Per CPU mode is entered only with `users > nr_cpus_allowed`
/// (docs/affinity.md), so with `opt_cids = nr_cpus_allowed` this is the
/// threshold per CPU mode has when it is entered with that mask.
#[doc(alias = "mm_cid_calc_pcpu_thrs")]
pub fn pcpu_thrs_of(opt_cids: u32, nr_possible_cpus: u32) -> u32 {
    // Has to be at least 1 because 0 indicates PCPU mode off
    (opt_cids - opt_cids / 4).min(nr_possible_cpus / 2).max(1)
}

/// Mirrors `mm_update_max_cids()`; `mm_cid::lock` held.  Returns whether the
/// mode flipped.
pub fn mm_update_max_cids<const C: usize, const T: usize>(s: &mut Sched<C, T>) -> bool {
    let percpu = cid_on_cpu(s.mm_cid.mode);

    // Clear deferred mode switch flag. A change is handled by the caller
    s.mm_cid.update_deferred = false;
    __mm_update_max_cids(s);

    // Check whether owner mode must be changed
    if !percpu {
        // Enable per CPU mode when the number of users is above max_cids
        let (users, max_cids) = (s.mm_cid.users, s.mm_cid.max_cids);
        s.took_bounds(users, max_cids, Path::MaxCidsEq, Path::MaxCidsNear);
        if s.mm_cid.users > s.mm_cid.max_cids {
            s.took(Path::UpdateToCpu);
            s.mm_cid.pcpu_thrs = mm_cid_calc_pcpu_thrs(s);
        }
    } else {
        // Switch back to per task if user count under threshold
        let (users, thrs) = (s.mm_cid.users, s.mm_cid.pcpu_thrs);
        s.took_bounds(users, thrs, Path::ThrsEq, Path::ThrsNear);
        if s.mm_cid.users < s.mm_cid.pcpu_thrs {
            s.took(Path::UpdateToTask);
            s.mm_cid.pcpu_thrs = 0;
        }
    }

    // Mode change required?
    if percpu == (s.mm_cid.pcpu_thrs != 0) {
        s.took(Path::UpdateKeep);
        return false;
    }

    // Flip the mode and set the transition flag to bridge the transfer
    s.mm_cid.mode ^= mode_flip(s, percpu);
    true
}

/// The bits `mm_update_max_cids()` flips: `MM_CID_TRANSIT | MM_CID_ONCPU`.
///
/// The variants without TRANSIT in one direction flip ONCPU alone, as the
/// pre-fix code did with `if (!mc->pcpu_thrs) WRITE_ONCE(mc->transit, ...)`.
fn mode_flip<const C: usize, const T: usize>(s: &Sched<C, T>, percpu: bool) -> u32 {
    let transit = if percpu {
        s.variant.transit_to_task()
    } else {
        s.variant.transit_to_cpu()
    };
    if transit {
        MM_CID_TRANSIT | MM_CID_ONCPU
    } else {
        MM_CID_ONCPU
    }
}

/// Mirrors `mm_update_cpus_allowed()`; `mm_cid::lock` taken inside, the
/// caller holds a runqueue lock.  Returns whether it queued the irq work
/// that runs [`mm_cid_work_fn`].
pub fn mm_update_cpus_allowed<const C: usize, const T: usize>(
    s: &mut Sched<C, T>,
    affmsk: u64,
) -> bool {
    if s.mm_cid.users == 0 {
        s.took(Path::AffinityNoUsers);
        return false;
    }
    // mm::mm_cid::mm_cpus_allowed is the superset of each threads
    // allowed CPUs mask which means it can only grow.
    s.mm_cid.cpus_allowed |= affmsk;
    let weight = s.mm_cid.cpus_allowed.count_ones();
    if weight == s.mm_cid.nr_cpus_allowed {
        s.took(Path::AffinitySameWeight);
        return false;
    }

    s.mm_cid.nr_cpus_allowed = weight;
    __mm_update_max_cids(s);
    if !cid_on_cpu(s.mm_cid.mode) {
        s.took(Path::AffinityTaskMode);
        return false;
    }

    // Adjust the threshold to the wider set
    s.mm_cid.pcpu_thrs = if s.variant.thrs_from_allowed_set() {
        // patches/affinity-switchback: opt_cids = mc->nr_cpus_allowed
        pcpu_thrs_of(s.mm_cid.nr_cpus_allowed, s.nr_possible_cpus)
    } else {
        mm_cid_calc_pcpu_thrs(s)
    };
    // Switch back to per task mode?
    let (users, thrs) = (s.mm_cid.users, s.mm_cid.pcpu_thrs);
    s.took_bounds(users, thrs, Path::AffinityThrsEq, Path::AffinityThrsNear);
    if s.mm_cid.users >= s.mm_cid.pcpu_thrs {
        s.took(Path::AffinityStaysPerCpu);
        return false;
    }

    // Don't queue twice
    if s.mm_cid.update_deferred {
        s.took(Path::AffinityQueuedTwice);
        return false;
    }

    // Queue the irq work, which schedules the real work
    s.took(Path::AffinityQueue);
    s.mm_cid.update_deferred = true;
    true
}

/// Mirrors `mm_cid_complete_transit()`.
pub fn mm_cid_complete_transit<const C: usize, const T: usize>(s: &mut Sched<C, T>, mode: u32) {
    s.mm_cid.mode = mode;
}

/// Mirrors `mm_cid_transit_to_task()`; the pcpu slot is `cpu`'s.
pub fn mm_cid_transit_to_task<const C: usize, const T: usize>(
    s: &mut Sched<C, T>,
    t: TaskId,
    cpu: usize,
) {
    if cid_on_cpu(s.tasks[t].cid) {
        s.took(Path::TransitToTask);
        let cid = cpu_cid_to_cid(s.tasks[t].cid);

        s.tasks[t].cid = if s.variant.transit_to_task() {
            cid_to_transit_cid(cid)
        } else {
            // no-transit: hand the CID over to the task directly
            cid
        };
        s.mm_cid.pcpu[cpu] = s.tasks[t].cid;
    }
}

/// The body of the `for_each_possible_cpu()` loop in
/// `mm_cid_fixup_cpus_to_tasks()`, run under `cpu`'s runqueue lock.
#[doc(alias = "mm_cid_fixup_cpus_to_tasks")]
pub fn mm_cid_fixup_cpu_to_task<const C: usize, const T: usize>(s: &mut Sched<C, T>, cpu: usize) {
    let curr = s.curr(cpu).filter(|&t| s.tasks[t].active);

    // Is the CID still owned by the CPU?
    if cid_on_cpu(s.mm_cid.pcpu[cpu]) {
        // If rq->curr has @mm, transfer it with the transition bit set.
        // Otherwise drop it.
        match curr {
            Some(t) => {
                s.took(Path::FixupCpuHandOver);
                mm_cid_transit_to_task(s, t, cpu)
            }
            None => {
                s.took(Path::FixupCpuDrop);
                mm_drop_cid_on_cpu(s, cpu)
            }
        }
    } else if let Some(t) = curr {
        let cid = s.tasks[t].cid;

        // Set the transition bit only on a genuine task-owned CID
        // (transit-unset: "if (!cid_in_transit(cid))" alone).
        let unset = cid == MM_CID_UNSET && s.variant.fixup_skips_unset();
        if !unset && !cid_in_transit(cid) && s.variant.transit_to_task() {
            s.took(Path::FixupCpuCurrTransit);
            let cid = cid_to_transit_cid(cid);
            s.tasks[t].cid = cid;
            s.mm_cid.pcpu[cpu] = cid;
        } else if unset {
            s.took(Path::FixupCpuCurrUnset);
        } else {
            s.took(Path::FixupCpuCurrSkip);
        }
    }
}

/// Mirrors `mm_cid_fixup_cpus_to_tasks()`: the whole walk, then the end of
/// the transition.
pub fn mm_cid_fixup_cpus_to_tasks<const C: usize, const T: usize>(s: &mut Sched<C, T>) {
    // Walk the CPUs and fixup all stale CIDs
    for cpu in s.possible_cpus() {
        mm_cid_fixup_cpu_to_task(s, cpu);
    }
    mm_cid_complete_transit(s, 0);
}

/// Mirrors `mm_cid_transit_to_cpu()`; the pcpu slot is `cpu`'s.
#[doc(alias = "mm_cid_transfer_to_cpu")]
pub fn mm_cid_transit_to_cpu<const C: usize, const T: usize>(
    s: &mut Sched<C, T>,
    t: TaskId,
    cpu: usize,
) {
    if cid_on_task(s.tasks[t].cid) {
        s.took(Path::TransitToCpu);
        s.tasks[t].cid = if s.variant.transit_to_cpu() {
            cid_to_transit_cid(s.tasks[t].cid)
        } else {
            // pre-fix: "t->mm_cid.cid = cid_to_cpu_cid(t->mm_cid.cid);"
            cid_to_cpu_cid(s.tasks[t].cid)
        };
        s.mm_cid.pcpu[cpu] = s.tasks[t].cid;
    }
}

/// Mirrors `mm_cid_fixup_task_to_cpu()`, run under `task_rq_lock(t)`.
pub fn mm_cid_fixup_task_to_cpu<const C: usize, const T: usize>(s: &mut Sched<C, T>, t: TaskId) {
    if cid_on_task(s.tasks[t].cid) {
        let cpu = usize::from(s.tasks[t].cpu);
        // If running on the CPU, put the CID in transit mode, otherwise drop it
        if s.curr(cpu) == Some(t) {
            s.took(Path::FixupTaskTransit);
            mm_cid_transit_to_cpu(s, t, cpu);
        } else {
            s.took(Path::FixupTaskUnset);
            mm_unset_cid_on_task(s, t);
        }
    }
}

/// Mirrors `mm_cid_fixup_tasks_to_cpus()`: the whole walk, then the end of
/// the transition.  `mm_cid::mutex` held by `current`.
pub fn mm_cid_fixup_tasks_to_cpus<const C: usize, const T: usize>(
    s: &mut Sched<C, T>,
    current: TaskId,
) {
    for i in 0..s.mm_cid.user_list.len() {
        let Some(t) = s.mm_cid.user_list.get(i) else {
            break;
        };
        // Current has already transferred before invoking the fixup.
        if t != current {
            mm_cid_fixup_task_to_cpu(s, t);
        }
    }
    mm_cid_complete_transit(s, MM_CID_ONCPU);
}

/// Mirrors `sched_mm_cid_add_user()`; `mm_cid::lock` held.
pub fn sched_mm_cid_add_user<const C: usize, const T: usize>(
    s: &mut Sched<C, T>,
    t: TaskId,
) -> bool {
    s.tasks[t].active = true;
    s.mm_cid.user_list.add_head(t);
    s.mm_cid.users += 1;
    mm_update_max_cids(s)
}

/// What `sched_mm_cid_fork()` does after [`sched_mm_cid_fork_locked`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ForkNext {
    /// Nothing.
    Done,
    /// First user: `t->mm_cid.cid = mm_get_cid(mm); pcp->cid = t->mm_cid.cid;`
    /// still under `mm_cid::lock`.
    FirstUserCid,
    /// Task mode without a flip: `t->mm_cid.cid = mm_get_cid(mm);` still
    /// under `mm_cid::lock`.
    TaskCid,
    /// Switched to per CPU mode: `mm_cid_fixup_tasks_to_cpus();`
    TasksToCpus,
    /// Switched to per task mode: `mm_cid_fixup_cpus_to_tasks(mm);` then
    /// `t->mm_cid.cid = mm_get_cid(mm);`
    CpusToTasks,
}

/// Mirrors `sched_mm_cid_fork()` from its start to the first `mm_get_cid()`
/// or to the end of the `mm_cid::lock` section, whichever comes first.
/// `current` runs on `cpu` and forks `t`; `mm_cid::mutex` is taken here.
pub fn sched_mm_cid_fork_locked<const C: usize, const T: usize>(
    s: &mut Sched<C, T>,
    cpu: usize,
    current: TaskId,
    t: TaskId,
) -> ForkNext {
    if s.tasks[t].cid != MM_CID_UNSET {
        s.took(Path::Warn);
        s.fault(Fault::Warn(
            "sched_mm_cid_fork: t->mm_cid.cid != MM_CID_UNSET",
        ));
    }

    // First user ?
    if s.mm_cid.users == 0 {
        s.took(Path::ForkFirstUser);
        sched_mm_cid_add_user(s, t);
        return ForkNext::FirstUserCid;
    }

    if !sched_mm_cid_add_user(s, t) {
        if !cid_on_cpu(s.mm_cid.mode) {
            s.took(Path::ForkTaskMode);
            return ForkNext::TaskCid;
        }
        s.took(Path::ForkCpuMode);
        return ForkNext::Done;
    }

    // Handle the mode change and transfer current's CID
    let percpu = cid_on_cpu(s.mm_cid.mode);
    if !percpu {
        s.took(Path::ForkToTask);
        mm_cid_transit_to_task(s, current, cpu);
        ForkNext::CpusToTasks
    } else {
        s.took(Path::ForkToCpu);
        mm_cid_transit_to_cpu(s, current, cpu);
        ForkNext::TasksToCpus
    }
}

/// The `mm_get_cid()` that ends [`ForkNext::FirstUserCid`],
/// [`ForkNext::TaskCid`] and [`ForkNext::CpusToTasks`].
pub fn sched_mm_cid_fork_get_cid<const C: usize, const T: usize>(
    s: &mut Sched<C, T>,
    cpu: usize,
    t: TaskId,
    next: ForkNext,
) -> Result<(), PoolEmpty> {
    s.tasks[t].cid = mm_get_cid(s)?;
    if next == ForkNext::FirstUserCid {
        // Required for execve()
        s.mm_cid.pcpu[cpu] = s.tasks[t].cid;
    }
    Ok(())
}

/// Mirrors `sched_mm_cid_fork()` whole, for callers in which
/// `mm_get_cid()` cannot spin forever (the pool has a free CID).
pub fn sched_mm_cid_fork<const C: usize, const T: usize>(
    s: &mut Sched<C, T>,
    cpu: usize,
    current: TaskId,
    t: TaskId,
) -> Result<(), PoolEmpty> {
    let next = sched_mm_cid_fork_locked(s, cpu, current, t);
    match next {
        ForkNext::Done => Ok(()),
        ForkNext::FirstUserCid | ForkNext::TaskCid => sched_mm_cid_fork_get_cid(s, cpu, t, next),
        ForkNext::TasksToCpus => {
            mm_cid_fixup_tasks_to_cpus(s, current);
            Ok(())
        }
        ForkNext::CpusToTasks => {
            mm_cid_fixup_cpus_to_tasks(s);
            sched_mm_cid_fork_get_cid(s, cpu, t, next)
        }
    }
}

/// Mirrors `sched_mm_cid_remove_user()`; `mm_cid::lock` held.
pub fn sched_mm_cid_remove_user<const C: usize, const T: usize>(
    s: &mut Sched<C, T>,
    t: TaskId,
) -> bool {
    s.tasks[t].active = false;
    // Clear the transition bit
    s.tasks[t].cid = cid_from_transit_cid(s.tasks[t].cid);
    mm_unset_cid_on_task(s, t);
    s.mm_cid.user_list.del(t);
    s.mm_cid.users -= 1;
    mm_update_max_cids(s)
}

/// Mirrors `__sched_mm_cid_exit()`; `current` has the same mm as `t`.
pub fn __sched_mm_cid_exit<const C: usize, const T: usize>(s: &mut Sched<C, T>, t: TaskId) -> bool {
    if !sched_mm_cid_remove_user(s, t) {
        s.took(Path::ExitKeepMode);
        return false;
    }
    // Contrary to fork() this only deals with a switch back to per
    // task mode either because the above decreased users or an
    // affinity change increased the number of allowed CPUs and the
    // deferred fixup did not run yet.
    if cid_on_cpu(s.mm_cid.mode) {
        s.took(Path::Warn);
        s.fault(Fault::Warn(
            "__sched_mm_cid_exit: switch to per CPU mode on exit",
        ));
        return false;
    }
    s.took(Path::ExitToTask);
    true
}

/// What `sched_mm_cid_exit()` does after [`sched_mm_cid_exit_locked`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExitNext {
    /// Nothing (no mode change, or the last user).
    Done,
    /// Switched to per task mode: `mm_cid_fixup_cpus_to_tasks(mm);`
    CpusToTasks,
}

/// Mirrors `sched_mm_cid_exit()` up to the end of its `mm_cid::lock`
/// sections.  `t` is the exiting task, running on `cpu` (`t == current`
/// except in the failed fork cleanup).
pub fn sched_mm_cid_exit_locked<const C: usize, const T: usize>(
    s: &mut Sched<C, T>,
    cpu: usize,
    t: TaskId,
    current: TaskId,
) -> ExitNext {
    if !s.tasks[t].active {
        s.took(Path::ExitInactive);
        return ExitNext::Done;
    }
    // mm_cid::mutex is sufficient to protect mm_cid::users
    if s.mm_cid.users > 1 {
        if !__sched_mm_cid_exit(s, t) {
            return ExitNext::Done;
        }
        // Mode change. The task has the CID unset already and dealt with
        // an eventually set TRANSIT bit. If the CID is owned by the CPU
        // then drop it.
        mm_drop_cid_on_cpu(s, cpu);
        return ExitNext::CpusToTasks;
    }
    // Last user: required across execve()
    s.took(Path::ExitLastUser);
    if t == current {
        mm_cid_transit_to_task(s, t, cpu);
    }
    // Ignore mode change. There is nothing to do.
    sched_mm_cid_remove_user(s, t);
    ExitNext::Done
}

/// Mirrors `sched_mm_cid_exit()` whole.
pub fn sched_mm_cid_exit<const C: usize, const T: usize>(
    s: &mut Sched<C, T>,
    cpu: usize,
    t: TaskId,
    current: TaskId,
) {
    if sched_mm_cid_exit_locked(s, cpu, t, current) == ExitNext::CpusToTasks {
        mm_cid_fixup_cpus_to_tasks(s);
    }
}

/// Mirrors `sched_mm_cid_before_execve()`.
pub fn sched_mm_cid_before_execve<const C: usize, const T: usize>(
    s: &mut Sched<C, T>,
    cpu: usize,
    t: TaskId,
) {
    sched_mm_cid_exit(s, cpu, t, t);
}

/// Mirrors `sched_mm_cid_after_execve()`: `t` is the only task of its new mm.
pub fn sched_mm_cid_after_execve<const C: usize, const T: usize>(
    s: &mut Sched<C, T>,
    cpu: usize,
    t: TaskId,
) -> Result<(), PoolEmpty> {
    sched_mm_cid_fork(s, cpu, t, t)
}

/// Mirrors `mm_cid_work_fn()` up to its fixup; returns whether
/// `mm_cid_fixup_cpus_to_tasks()` must run.
pub fn mm_cid_work_fn<const C: usize, const T: usize>(s: &mut Sched<C, T>) -> bool {
    // Did the last user task exit already?
    if s.mm_cid.users == 0 {
        s.took(Path::WorkNothing);
        return false;
    }
    // Have fork() or exit() handled it already?
    if !s.mm_cid.update_deferred {
        s.took(Path::WorkNothing);
        return false;
    }
    // This clears mm_cid::update_deferred
    if !mm_update_max_cids(s) {
        s.took(Path::WorkNothing);
        return false;
    }
    // Affinity changes can only switch back to task mode
    if cid_on_cpu(s.mm_cid.mode) {
        s.took(Path::Warn);
        s.fault(Fault::Warn("mm_cid_work_fn: switch to per CPU mode"));
        return false;
    }
    s.took(Path::WorkToTask);
    true
}

/// Mirrors `mm_init_cid()`; `cpus_mask` is the first task's affinity.
pub fn mm_init_cid<const C: usize, const T: usize>(s: &mut Sched<C, T>, cpus_mask: u64) {
    s.mm_cid.max_cids = 0;
    s.mm_cid.mode = 0;
    s.mm_cid.nr_cpus_allowed = cpus_mask.count_ones();
    s.mm_cid.users = 0;
    s.mm_cid.pcpu_thrs = 0;
    s.mm_cid.update_deferred = false;
    s.mm_cid.cpus_allowed = cpus_mask;
    s.mm_cid.cidmask = 0;
}

/// A fresh mm: what `mm_alloc_cid()` and `mm_init_cid()` leave.
impl<const C: usize, const T: usize> Sched<C, T> {
    /// A fresh mm as `mm_init_cid()` leaves it, with no tasks yet, on a
    /// machine whose possible CPUs are `0..nr_possible_cpus`.
    ///
    /// `nr_possible_cpus` is clamped to `1..=C`.
    pub fn new(variant: Variant, nr_possible_cpus: u32) -> Self {
        let n = nr_possible_cpus.clamp(1, C as u32);
        Self::with_possible(variant, u64::MAX >> (64 - n))
    }

    /// A fresh mm as `mm_init_cid()` leaves it, with no tasks yet, on a
    /// machine whose `cpu_possible_mask` is `possible` (holes allowed).
    pub fn with_possible(variant: Variant, possible: u64) -> Self {
        let mut s = Self::EMPTY;
        s.reset(variant, possible);
        s
    }

    /// Make `self` what [`Sched::with_possible`] returns, in place.
    ///
    /// CPUs at or above `C` are dropped from `possible`; none left means
    /// CPU 0 alone.
    pub fn reset(&mut self, variant: Variant, possible: u64) {
        let () = Self::SIZES_FIT;
        let possible = match possible & (u64::MAX >> (64 - C)) {
            0 => 1,
            m => m,
        };
        *self = Self::EMPTY;
        // INVARIANT: possible is non-empty and below C, no tasks.
        self.variant = variant;
        self.nr_possible_cpus = possible.count_ones();
        self.possible = possible;
        mm_init_cid(self, possible);
    }

    /// [`Sched::reset`], for a `Sched` that `reset()` or this left with the
    /// same `possible` and that was since written, of the per-CPU arrays,
    /// only at the entries of the CPUs in `cpus` (loading them, running
    /// the mirrored functions on them): the same state, written only where
    /// it may differ.  The checks run the model on every context switch,
    /// fork and exit (module/check.rs, module/op.rs).
    pub fn reset_on(&mut self, cpus: u64, variant: Variant, possible: u64) {
        let masked = match possible & (u64::MAX >> (64 - C)) {
            0 => 1,
            m => m,
        };
        if self.possible != masked {
            return self.reset(variant, possible);
        }
        // Every field but nr_possible_cpus and possible, which stay; a
        // new field must be reset here too (model/tests.rs checks).
        self.variant = variant;
        for c in cpus_in(cpus & (u64::MAX >> (64 - C))) {
            self.mm_cid.pcpu[c] = Self::EMPTY.mm_cid.pcpu[c];
            self.rq_curr[c] = None;
        }
        self.mm_cid.user_list = Self::EMPTY.mm_cid.user_list;
        // Tasks past nr_tasks were not created since the reset.
        for t in &mut self.tasks[..self.nr_tasks] {
            *t = Self::EMPTY.tasks[0];
        }
        self.nr_tasks = 0;
        self.fault = None;
        self.cid_allocs = 0;
        self.replay_alloc = None;
        self.paths = 0;
        // mm_init_cid() writes every other field of mm_cid.
        mm_init_cid(self, masked);
    }
}
