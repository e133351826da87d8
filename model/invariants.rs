// SPDX-License-Identifier: GPL-2.0

//! What must hold once a mode transition has completed
//! (`mm_cid_complete_transit()`, kernel/sched/core.c): in per CPU mode no
//! user task owns a CID, in per task mode no CPU does, and no CID is out
//! of range.  The explorer checks it on the model, the module on the C.

use super::bits::*;

/// Who breaks the invariant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    /// The mode itself is still in transit.
    ModeInTransit,
    /// The user task at this index owns a CID in per CPU mode.
    Task(usize),
    /// This CPU owns a CID in per task mode.
    Cpu(usize),
    /// The user task at this index has a CID of at least `nr_possible`.
    TaskOutOfRange(usize),
    /// This CPU has a CID of at least `nr_possible`.
    CpuOutOfRange(usize),
    /// This CID has two owners.
    Twice(u32),
    /// This CID is set in the bitmap, but nobody owns it (a leak).
    Leaked(u32),
    /// This CID is owned, but clear in the bitmap (another allocation may
    /// hand it out again).
    NotInBitmap(u32),
    /// `max_cids` is not what `__mm_update_max_cids()` makes of `users`
    /// and `nr_cpus_allowed`; the value it should be.
    MaxCids(u32),
    /// `pcpu_thrs` is set without `MM_CID_ONCPU` in the mode, or the
    /// reverse.
    PcpuThrs,
    /// `users` is not the length of `user_list`, which is given.
    Users(u32),
}

fn out_of_range(cid: u32, nr_possible: u32) -> bool {
    cid & MM_CID_UNSET == 0 && task_mm_cid(cid) >= nr_possible
}

/// Check a completed transition to `mode` (TRANSIT clear): `users` are the
/// mm's users as (`mm_cid.active`, `mm_cid.cid`), `pcpu[c]` is CPU c's
/// `pcpu->cid`.  The first offender, if any.
pub fn transition_finished(
    mode: u32,
    users: impl Iterator<Item = (bool, u32)> + Clone,
    pcpu: &[u32],
    nr_possible: u32,
) -> Option<Owner> {
    if cid_in_transit(mode) {
        return Some(Owner::ModeInTransit);
    }
    if let Some((t, _)) = users
        .clone()
        .enumerate()
        .find(|&(_, (_, cid))| out_of_range(cid, nr_possible))
    {
        return Some(Owner::TaskOutOfRange(t));
    }
    if let Some(c) = pcpu.iter().position(|&cid| out_of_range(cid, nr_possible)) {
        return Some(Owner::CpuOutOfRange(c));
    }
    if cid_on_cpu(mode) {
        users
            .enumerate()
            .find(|&(_, (active, cid))| active && cid_on_task(cid))
            .map(|(t, _)| Owner::Task(t))
    } else {
        pcpu.iter().position(|&cid| cid_on_cpu(cid)).map(Owner::Cpu)
    }
}

/// The counters of `struct mm_mm_cid` as `mm_cid::lock` shows them: every
/// writer of `users` and `nr_cpus_allowed` recomputes `max_cids` under it
/// (`sched_mm_cid_add_user()`, `sched_mm_cid_remove_user()`,
/// `mm_update_cpus_allowed()`), and `pcpu_thrs` is non-zero exactly while
/// the mode has `MM_CID_ONCPU` (`mm_update_max_cids()` sets both or clears
/// both; `mm_update_cpus_allowed()` only changes a non-zero one).
pub fn counters_consistent(
    mode: u32,
    users: u32,
    listed: u32,
    max_cids: u32,
    pcpu_thrs: u32,
    nr_cpus_allowed: u32,
    nr_possible: u32,
) -> Option<Owner> {
    let opt = nr_cpus_allowed.min(users);
    let want = (opt + opt / 4).min(nr_possible);
    if users != listed {
        Some(Owner::Users(listed))
    } else if max_cids != want {
        Some(Owner::MaxCids(want))
    } else if cid_on_cpu(mode) != (pcpu_thrs != 0) {
        Some(Owner::PcpuThrs)
    } else {
        None
    }
}

/// The CID a task owns: one it holds for itself or borrows in transit.
/// A task's `MM_CID_ONCPU` CID is its CPU's, which the CPU owns.
fn task_owns(cid: u32) -> Option<u32> {
    (cid & (MM_CID_UNSET | MM_CID_ONCPU) == 0).then_some(cid_from_transit_cid(cid))
}

/// The CID a CPU owns: only a `MM_CID_ONCPU` one.  Any other value in
/// `pcpu->cid` is a copy of its task's CID (per task mode, transit) or
/// stale.
fn cpu_owns(cid: u32) -> Option<u32> {
    (cid & (MM_CID_UNSET | MM_CID_ONCPU) == MM_CID_ONCPU).then_some(cpu_cid_to_cid(cid))
}

/// Check the CID accounting of one consistent view of an mm (no CPU in a
/// context switch, no fixup walk in flight): every owned CID has one owner
/// and its bit set, and every set bit has an owner.  `users` are the
/// mm's users' `mm_cid.cid`, `pcpu[c]` CPU c's `pcpu->cid`, `cidmask` the
/// first 64 bits of `mm_cidmask()`.  The first offender, if any.
pub fn cid_accounting(
    users: impl Iterator<Item = u32>,
    pcpu: &[u32],
    cidmask: u64,
    nr_possible: u32,
) -> Option<Owner> {
    let mut owned = 0u64;
    let owners = users
        .filter_map(task_owns)
        .chain(pcpu.iter().filter_map(|&c| cpu_owns(c)));
    for cid in owners {
        if cid >= nr_possible.min(64) {
            // transition_finished() names the owner out of range.
            continue;
        }
        let bit = 1u64 << cid;
        if owned & bit != 0 {
            return Some(Owner::Twice(cid));
        }
        if cidmask & bit == 0 {
            return Some(Owner::NotInBitmap(cid));
        }
        owned |= bit;
    }
    let valid = if nr_possible >= 64 {
        u64::MAX
    } else {
        (1u64 << nr_possible) - 1
    };
    let leaked = cidmask & valid & !owned;
    (leaked != 0).then(|| Owner::Leaked(leaked.trailing_zeros()))
}

/// Per CPU mode that an affinity widening should have ended: the mode is
/// `MM_CID_ONCPU` (no transition), no deferred update is pending, and
/// `users` is below the threshold per CPU mode would have had had it been
/// entered with the current mask, `pcpu_thrs_of(nr_cpus_allowed)`, the
/// threshold below which `mm_update_max_cids()` switches back to per task
/// mode.  The threshold, when the mode is stuck.
///
/// `mm_update_cpus_allowed()` means to reach this switch ("Adjust the
/// threshold to the wider set", "Switch back to per task mode?"); users
/// in `[threshold, max_cids]` is the hysteresis band of a mode entered
/// with this mask, not stuck.  docs/affinity.md has the argument.  The
/// caller says that nothing is in flight: no fork, exit or deferred work
/// holds `mm_cid::mutex` or is queued.
pub fn mode_stuck(
    mode: u32,
    users: u32,
    nr_cpus_allowed: u32,
    update_deferred: bool,
    nr_possible: u32,
) -> Option<u32> {
    if mode != MM_CID_ONCPU || update_deferred || users == 0 {
        return None;
    }
    let thrs = super::core_c::pcpu_thrs_of(nr_cpus_allowed, nr_possible);
    (users < thrs).then_some(thrs)
}
