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
