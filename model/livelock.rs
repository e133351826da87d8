// SPDX-License-Identifier: GPL-2.0

//! The shape of the live lock that the fix ("sched/mmcid: Prevent live
//! lock on task to CPU mode transition") removed, as a test over plain
//! values: the explorer asserts that the live lock it finds has it, the
//! module's watchdog says whether a CPU it sees stuck has it.

use super::bits::*;

/// What a CPU stuck in `mm_get_cid()` sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiveLockShape {
    /// CIDs below `max_cids` set in the bitmap.
    pub taken: u32,
    /// `mm_cid::max_cids`.
    pub max_cids: u32,
    /// The CID the spinning task held, if any.
    pub own_cid: Option<u32>,
    /// Another CPU that owns that CID, if any.
    pub owner: Option<usize>,
}

impl LiveLockShape {
    /// Take the shape of a CPU spinning for a task whose `mm_cid.cid` is
    /// `task_cid`; `pcpu[c]` is CPU c's `pcpu->cid`.
    pub fn of(cidmask: u64, max_cids: u32, pcpu: &[u32], spinning: usize, task_cid: u32) -> Self {
        let n = max_cids.min(64);
        let pool = if n == 64 { u64::MAX } else { (1u64 << n) - 1 };
        let own = task_mm_cid(task_cid);
        let own_cid = (own & MM_CID_UNSET == 0).then_some(own);
        let owner = own_cid.and_then(|cid| {
            pcpu.iter()
                .enumerate()
                .find(|&(c, &p)| c != spinning && p == cid_to_cpu_cid(cid))
                .map(|(c, _)| c)
        });
        Self {
            taken: (cidmask & pool).count_ones(),
            max_cids,
            own_cid,
            owner,
        }
    }

    /// Every CID a CPU could take is taken.
    pub fn pool_exhausted(&self) -> bool {
        self.taken >= self.max_cids
    }

    /// The pool is exhausted and the spinning task's own CID sits on
    /// another CPU: the changelog's live lock.
    pub fn is_changelog(&self) -> bool {
        self.pool_exhausted() && self.owner.is_some()
    }
}
