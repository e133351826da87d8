// SPDX-License-Identifier: GPL-2.0

//! What must hold once a mode transition has completed
//! (`mm_cid_complete_transit()`, kernel/sched/core.c): in per CPU mode no
//! user task owns a CID, in per task mode no CPU does under a user that
//! holds a CPU owned one, and no CID is out
//! of range, and the switch back reaches every CPU before it completes.
//! The explorer checks it on the model, the module on the C.

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
/// `pcpu->cid`, and bit c of `held_curr` says that CPU c runs an active
/// user whose CID is CPU owned (`MM_CID_ONCPU`).  The first offender, if
/// any.
///
/// In per task mode a CPU may still own a CID: the walk back hands a CPU's
/// CID only to a current task that holds it (`mm_cid_transit_to_task()`:
/// `if (cid_on_cpu(t->mm_cid.cid))`), and a task back from a failed
/// execve() in per CPU mode holds none (docs/failed-execve-unset.md); the
/// CPU keeps it until a user switches in there (`mm_cid_from_task()`),
/// whatever ran there meanwhile.  What the walk cannot leave is a CPU
/// owning a CID under a current user that holds a CPU owned one
/// ([`walk_passed`] argues it).
pub fn transition_finished(
    mode: u32,
    users: impl Iterator<Item = (bool, u32)> + Clone,
    pcpu: &[u32],
    held_curr: u64,
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
        pcpu.iter()
            .enumerate()
            .position(|(c, &cid)| cpu_owns(cid).is_some() && (held_curr >> c.min(63)) & 1 != 0)
            .map(Owner::Cpu)
    }
}

/// A context switch out of a task whose `mm_cid.cid` is `prev_cid`, on a
/// CPU whose `pcpu->cid` is `pcpu`, that read the mode as `mode` (under
/// the runqueue lock): false when it read per task mode (0) while both
/// still hold a CID with `MM_CID_ONCPU`, which means the switch back
/// completed (`mm_cid_complete_transit(mm, 0)`) before its walk reached
/// this CPU.  Only for a switch back through `MM_CID_TRANSIT`.
///
/// Why a correct C cannot do it.  Only a switch on this CPU (under its
/// runqueue lock) gives a task or a CPU slot a CPU owned CID, and prev has
/// run here since it got its own, so nothing between that switch and this
/// one touched either but a walk or prev's own fork or exit (which clear
/// ONCPU).  That switch read a mode with ONCPU, this one reads 0, so a
/// switch back's `MM_CID_TRANSIT` store, then its walk, then its
/// `complete_transit(0)` came in between: the walk takes this runqueue's
/// lock after the store (`smp_mb()` in `mm_update_max_cids()`), so after
/// that switch, and before this one, whose read sees the store
/// `complete_transit()` orders after it (`smp_mb()`).  There it found the
/// slot CPU owned with prev running: an active prev gets the CID in
/// transit (`mm_cid_transit_to_task()`), an inactive one loses it to
/// `mm_drop_cid_on_cpu()`: either clears ONCPU on one of the two.
pub fn walk_passed(mode: u32, pcpu: u32, prev_cid: u32) -> bool {
    !(mode == 0 && cpu_owns(pcpu).is_some() && cpu_owns(prev_cid).is_some())
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
    cid_accounting_in_flight(users, pcpu, cidmask, nr_possible, 0, 0)
}

/// [`cid_accounting`] of a view in which some owners were left out (a
/// context switch in flight holds what they own): of the bits set that
/// the others do not own, those in `held` (the numbers the left-out
/// owners showed) and at most `slack` more may be theirs.
pub fn cid_accounting_in_flight(
    users: impl Iterator<Item = u32>,
    pcpu: &[u32],
    cidmask: u64,
    nr_possible: u32,
    held: u64,
    slack: u32,
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
    let leaked = cidmask & valid & !owned & !held;
    (leaked.count_ones() > slack).then(|| Owner::Leaked(leaked.trailing_zeros()))
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
