// SPDX-License-Identifier: GPL-2.0

//! The inline mm_cid helpers of kernel/sched/sched.h, from `mm_drop_cid()` to
//! `mm_cid_switch_to()`, in the order they appear there.
//!
//! `this_cpu` accessors become an explicit `cpu` argument.  The one place
//! the C can block, the `cpu_relax()` loop in `mm_get_cid()`, returns
//! [`Spin`] instead: the caller still holds the runqueue lock and resumes
//! with [`mm_cid_schedin_retry`], which is one more turn of that loop.

use super::bits::*;
use super::paths::Path;
use super::state::{Fault, Sched, TaskId};

/// `mm_get_cid()` found no free CID; in C the caller spins in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PoolEmpty;

/// A schedule-in that spins in `mm_get_cid()`, with the locals it resumes
/// with once a CID is free.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Spin {
    /// Spinning in `mm_cid_from_cpu()`; `mode` as read by `mm_cid_schedin()`.
    FromCpu {
        /// The mode the C read before it started to spin.
        mode: u32,
    },
    /// Spinning in `mm_cid_from_task()`.
    FromTask {
        /// The mode the C read before it started to spin.
        mode: u32,
    },
}

/// Mirrors `mm_drop_cid()`.
pub fn mm_drop_cid<const C: usize, const T: usize>(s: &mut Sched<C, T>, cid: u32) {
    // clear_bit() past the bitmap is memory corruption in C.
    if cid >= s.nr_possible_cpus {
        s.fault(Fault::OobClearBit(cid));
        return;
    }
    s.mm_cid.cidmask &= !(1u64 << cid);
}

/// Mirrors `mm_unset_cid_on_task()`.
pub fn mm_unset_cid_on_task<const C: usize, const T: usize>(s: &mut Sched<C, T>, t: TaskId) {
    let cid = s.tasks[t].cid;

    s.tasks[t].cid = MM_CID_UNSET;
    if cid_on_task(cid) {
        s.took(Path::UnsetTaskDrop);
        mm_drop_cid(s, cid);
    }
}

/// Mirrors `mm_drop_cid_on_cpu()`.
pub fn mm_drop_cid_on_cpu<const C: usize, const T: usize>(s: &mut Sched<C, T>, cpu: usize) {
    // Clear the ONCPU bit, but do not set UNSET in the per CPU storage
    // (unguarded-drop: the check is missing)
    if cid_on_cpu(s.mm_cid.pcpu[cpu]) || !s.variant.drop_on_cpu_checks_owner() {
        s.took(Path::DropOnCpu);
        s.mm_cid.pcpu[cpu] = cpu_cid_to_cid(s.mm_cid.pcpu[cpu]);
        mm_drop_cid(s, s.mm_cid.pcpu[cpu]);
    } else {
        s.took(Path::DropOnCpuNone);
    }
}

/// Mirrors `__mm_get_cid()`.
pub fn __mm_get_cid<const C: usize, const T: usize>(s: &mut Sched<C, T>, max_cids: u32) -> u32 {
    // find_first_zero_bit() over max_cids bits
    let cid = match s.replay_alloc {
        // The bitmap other CPUs changed had bits 0..r set and bit r clear.
        Some(r) => r.min(max_cids),
        None => (!s.mm_cid.cidmask).trailing_zeros().min(max_cids),
    };

    if cid >= max_cids {
        return MM_CID_UNSET;
    }
    // test_and_set_bit() cannot fail here: the model is sequential.
    s.mm_cid.cidmask |= 1u64 << cid;
    s.cid_allocs += 1;
    cid
}

/// Mirrors `mm_get_cid()` up to its first `cpu_relax()`.
pub fn mm_get_cid<const C: usize, const T: usize>(s: &mut Sched<C, T>) -> Result<u32, PoolEmpty> {
    let cid = __mm_get_cid(s, s.mm_cid.max_cids);

    if cid == MM_CID_UNSET {
        s.took(Path::GetCidRetry);
        return mm_get_cid_retry(s);
    }
    s.took(Path::GetCid);
    Ok(cid)
}

/// One turn of the `while (cid == MM_CID_UNSET)` loop in `mm_get_cid()`.
pub fn mm_get_cid_retry<const C: usize, const T: usize>(
    s: &mut Sched<C, T>,
) -> Result<u32, PoolEmpty> {
    match __mm_get_cid(s, s.nr_possible_cpus) {
        MM_CID_UNSET => {
            s.took(Path::GetCidSpin);
            // patches/bounded-cid-wait/: `while (cid == MM_CID_UNSET &&
            // retries--)` ends with MM_CID_UNSET.  The turns before it are
            // this one again: another CPU that frees a CID meanwhile is
            // the run where it freed it before this turn.
            if s.variant.cid_wait_gives_up() {
                return Ok(MM_CID_UNSET);
            }
            Err(PoolEmpty)
        }
        cid => Ok(cid),
    }
}

/// Mirrors `mm_cid_converge()`.
pub fn mm_cid_converge<const C: usize, const T: usize>(
    s: &mut Sched<C, T>,
    orig_cid: u32,
    max_cids: u32,
) -> u32 {
    let cid = cpu_cid_to_cid(orig_cid);

    // Is it in the optimal CID space?
    if cid < max_cids {
        return orig_cid;
    }

    // Try to find one in the optimal space. Otherwise keep the provided.
    let new_cid = __mm_get_cid(s, max_cids);
    if new_cid != MM_CID_UNSET {
        s.took(Path::ConvergeMoved);
        mm_drop_cid(s, cid);
        // Preserve the ONCPU mode of the original CID
        return new_cid | (orig_cid & MM_CID_ONCPU);
    }
    s.took(Path::ConvergeKept);
    orig_cid
}

/// Mirrors `mm_cid_update_task_cid()` (without the rseq notification).
pub fn mm_cid_update_task_cid<const C: usize, const T: usize>(
    s: &mut Sched<C, T>,
    t: TaskId,
    cid: u32,
) {
    s.tasks[t].cid = cid;
}

/// Mirrors `mm_cid_update_pcpu_cid()`.
pub fn mm_cid_update_pcpu_cid<const C: usize, const T: usize>(
    s: &mut Sched<C, T>,
    cpu: usize,
    cid: u32,
) {
    s.mm_cid.pcpu[cpu] = cid;
}

/// Mirrors `mm_cid_from_cpu()`.
pub fn mm_cid_from_cpu<const C: usize, const T: usize>(
    s: &mut Sched<C, T>,
    cpu: usize,
    t: TaskId,
    mut cpu_cid: u32,
    mode: u32,
) -> Result<(), Spin> {
    let tcid = s.tasks[t].cid;
    let max_cids = s.mm_cid.max_cids;

    // Optimize for the common case where both have the ONCPU bit set
    if cid_on_cpu(cpu_cid & tcid) {
        let cid = cpu_cid_to_cid(cpu_cid);
        s.took_bounds(cid, max_cids, Path::FromCpuMaxEq, Path::FromCpuMaxNear);
        if cpu_cid_to_cid(cpu_cid) < max_cids {
            s.took(Path::FromCpuFast);
            mm_cid_update_task_cid(s, t, cpu_cid);
            return Ok(());
        }
        // Try to converge into the optimal CID space
        cpu_cid = mm_cid_converge(s, cpu_cid, max_cids);
    } else {
        s.took(Path::FromCpuHandOver);
        // Hand over or drop the task owned CID
        if cid_on_task(tcid) {
            if cid_on_cpu(cpu_cid) {
                s.took(Path::FromCpuDropTask);
                mm_unset_cid_on_task(s, t);
            } else {
                s.took(Path::FromCpuTakeTask);
                cpu_cid = cid_to_cpu_cid(tcid);
            }
        }
        // Still nothing, allocate a new one
        if !cid_on_cpu(cpu_cid) {
            s.took(Path::FromCpuAlloc);
            let cid = mm_get_cid(s).map_err(|_| Spin::FromCpu { mode })?;
            cpu_cid = cid_to_cpu_cid(cid);
        }
        cpu_cid = mm_cid_from_cpu_transit(s, cpu_cid, mode);
    }
    mm_cid_update_pcpu_cid(s, cpu, cpu_cid);
    mm_cid_update_task_cid(s, t, cpu_cid);
    Ok(())
}

/// The tail of `mm_cid_from_cpu()`'s hand-over branch:
///
/// ```c
/// /* Handle the transition mode flag if required */
/// if (mode & MM_CID_TRANSIT)
///         cpu_cid = cpu_cid_to_cid(cpu_cid) | MM_CID_TRANSIT;
/// ```
///
/// The pre-fix code lacks these lines; it never sets TRANSIT together with
/// ONCPU in `mode`, so they are dead there and the variant needs no switch.
fn mm_cid_from_cpu_transit<const C: usize, const T: usize>(
    s: &mut Sched<C, T>,
    cpu_cid: u32,
    mode: u32,
) -> u32 {
    if mode & MM_CID_TRANSIT != 0 {
        s.took(Path::FromCpuTransit);
        cpu_cid_to_cid(cpu_cid) | MM_CID_TRANSIT
    } else {
        cpu_cid
    }
}

/// Mirrors `mm_cid_from_task()`.
pub fn mm_cid_from_task<const C: usize, const T: usize>(
    s: &mut Sched<C, T>,
    cpu: usize,
    t: TaskId,
    cpu_cid: u32,
    mode: u32,
) -> Result<(), Spin> {
    let mut tcid = s.tasks[t].cid;
    let max_cids = s.mm_cid.max_cids;

    // Optimize for the common case, where both have the ONCPU bit clear
    if cid_on_task(tcid | cpu_cid) {
        s.took_bounds(tcid, max_cids, Path::FromTaskMaxEq, Path::FromTaskMaxNear);
        if tcid < max_cids {
            s.took(Path::FromTaskFast);
            mm_cid_update_pcpu_cid(s, cpu, tcid);
            return Ok(());
        }
        // Try to converge into the optimal CID space
        tcid = mm_cid_converge(s, tcid, max_cids);
    } else {
        s.took(Path::FromTaskHandOver);
        // Hand over or drop the CPU owned CID
        if cid_on_cpu(cpu_cid) {
            if cid_on_task(tcid) {
                s.took(Path::FromTaskDropCpu);
                mm_drop_cid_on_cpu(s, cpu);
            } else {
                s.took(Path::FromTaskTakeCpu);
                tcid = cpu_cid_to_cid(cpu_cid);
            }
        }
        // Still nothing, allocate a new one
        if !cid_on_task(tcid) {
            s.took(Path::FromTaskAlloc);
            tcid = mm_get_cid(s).map_err(|_| Spin::FromTask { mode })?;
        }
        // Set the transition mode flag if required
        tcid |= mode & MM_CID_TRANSIT;
    }
    mm_cid_update_pcpu_cid(s, cpu, tcid);
    mm_cid_update_task_cid(s, t, tcid);
    Ok(())
}

/// Mirrors `mm_cid_schedin()`, called with `cpu`'s runqueue lock held and
/// `cpu_rq(cpu)->curr == next`.
pub fn mm_cid_schedin<const C: usize, const T: usize>(
    s: &mut Sched<C, T>,
    cpu: usize,
    next: TaskId,
) -> Result<(), Spin> {
    if !s.tasks[next].active {
        s.took(Path::SchedinInactive);
        return Ok(());
    }

    let cpu_cid = s.mm_cid.pcpu[cpu];
    let mode = s.mm_cid.mode;
    if !cid_on_cpu(mode) {
        mm_cid_from_task(s, cpu, next, cpu_cid, mode)
    } else {
        mm_cid_from_cpu(s, cpu, next, cpu_cid, mode)
    }
}

/// One more turn of the `mm_get_cid()` loop a spinning [`mm_cid_schedin`]
/// sits in; on success the rest of the schedule-in runs.
#[doc(alias = "mm_get_cid")]
pub fn mm_cid_schedin_retry<const C: usize, const T: usize>(
    s: &mut Sched<C, T>,
    cpu: usize,
    next: TaskId,
    spin: Spin,
) -> Result<(), Spin> {
    let cid = mm_get_cid_retry(s).map_err(|_| spin)?;
    let cid = match spin {
        Spin::FromCpu { mode } => mm_cid_from_cpu_transit(s, cid_to_cpu_cid(cid), mode),
        Spin::FromTask { mode } => cid | (mode & MM_CID_TRANSIT),
    };
    mm_cid_update_pcpu_cid(s, cpu, cid);
    mm_cid_update_task_cid(s, next, cid);
    Ok(())
}

/// Mirrors `mm_cid_schedout()`.
pub fn mm_cid_schedout<const C: usize, const T: usize>(
    s: &mut Sched<C, T>,
    cpu: usize,
    prev: TaskId,
) {
    // During mode transitions CIDs are temporary and need to be dropped
    if !cid_in_transit(s.tasks[prev].cid) {
        s.took(Path::SchedoutNotTransit);
        return;
    }

    let mode = s.mm_cid.mode;
    let mut cid = cid_from_transit_cid(s.tasks[prev].cid);

    // If transition mode is done, transfer ownership when the CID is
    // within the convergence range to optimize the next schedule in.
    if !cid_in_transit(mode) && cid < s.mm_cid.max_cids {
        s.took(Path::SchedoutKeep);
        if cid_on_cpu(mode) {
            s.took(Path::SchedoutKeepCpu);
            cid = cid_to_cpu_cid(cid);
        }

        // Update both so that the next schedule in goes into the fast path
        mm_cid_update_pcpu_cid(s, cpu, cid);
        s.tasks[prev].cid = cid;
    } else {
        s.took(Path::SchedoutDrop);
        mm_drop_cid(s, cid);
        s.tasks[prev].cid = MM_CID_UNSET;
    }
}

/// Mirrors `mm_cid_switch_to()`.  `None` stands for a task of another mm
/// (or the idle task), whose CID state the mirrored code does not touch.
pub fn mm_cid_switch_to<const C: usize, const T: usize>(
    s: &mut Sched<C, T>,
    cpu: usize,
    prev: Option<TaskId>,
    next: Option<TaskId>,
) -> Result<(), Spin> {
    if let Some(prev) = prev {
        mm_cid_schedout(s, cpu, prev);
    }
    match next {
        Some(next) => mm_cid_schedin(s, cpu, next),
        None => Ok(()),
    }
}
