// SPDX-License-Identifier: GPL-2.0

//! Model variants: the code as shipped in 7.3 and the same code with one
//! upstream fix reverted.  A variant changes a handful of lines, each marked
//! with the C it follows.

/// Which version of the mm_cid code the model follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Variant {
    /// kernel/sched as shipped in Linux 7.3.
    V7_3,
    /// Before 4327fb13fa47 ("sched/mmcid: Prevent live lock on task to CPU
    /// mode transition"): the switch to per CPU mode hands task CIDs to the
    /// CPUs directly instead of through MM_CID_TRANSIT.
    PreFix,
    /// Neither direction uses MM_CID_TRANSIT: also the CPU to task switch
    /// hands CIDs over directly, which the fix's changelog calls "way more
    /// obvious" a live lock.
    NoTransit,
    /// Before 1e83ccd5921a ("sched/mmcid: Don't assume CID is CPU owned on
    /// mode switch"): `mm_drop_cid_on_cpu()` drops whatever the per CPU
    /// slot holds, which the exit path can reach with a CID that is not
    /// CPU owned.
    UnguardedDrop,
    /// Before de3ab9bd3133 ("sched/mmcid: Fix OOB clear_bit when CID is
    /// MM_CID_UNSET in fixup path"): the CPU to task fixup sets TRANSIT on
    /// a running task's MM_CID_UNSET too.
    TransitUnset,
    /// Before b2e48c429ec5 ("sched/mmcid: Prevent CID stalls due to
    /// concurrent forks"): `sched_mm_cid_fork()` runs in `copy_mm()`,
    /// before the child is on the thread list that the task to CPU fixup
    /// walks (the walk of the code before 192d852129b1, "sched/mmcid:
    /// Avoid full tasklist walks").
    ForkInvisible,
    /// Before 28b5a1395036 ("sched/mmcid: Handle vfork()/CLONE_VM
    /// correctly"): the task to CPU fixup walks the thread list, then the
    /// task list for CLONE_VM processes, and stops when a count of users,
    /// which the second walk decrements for threads it already fixed up,
    /// reaches zero.
    VforkCount,
    /// Before 47ee94efccf6 ("sched/mmcid: Protect transition on weakly
    /// ordered systems"): the ownership mode and the transition flag live
    /// in two fields, which a weakly ordered CPU can see change in either
    /// order.  Differs from v7.3 only in the explorer's weak memory mode.
    SplitMode,
    /// A candidate fix, not upstream (patches/affinity-switchback/):
    /// `mm_update_cpus_allowed()` adjusts the per CPU threshold to the
    /// wider set from `nr_cpus_allowed` alone, so that its "Switch back to
    /// per task mode?" test can hold (docs/affinity.md).
    AffinitySwitchback,
    /// A proposal rejected upstream (patches/bounded-cid-wait/):
    /// `mm_get_cid()` gives up after `MM_CID_GET_RETRIES` turns of its
    /// loop and returns `MM_CID_UNSET` (docs/patch-workflow.md).
    BoundedCidWait,
}

impl Variant {
    /// Every variant, in the order the tools list them.
    pub const ALL: [Variant; 10] = [
        Variant::V7_3,
        Variant::PreFix,
        Variant::NoTransit,
        Variant::UnguardedDrop,
        Variant::TransitUnset,
        Variant::ForkInvisible,
        Variant::VforkCount,
        Variant::SplitMode,
        Variant::AffinitySwitchback,
        Variant::BoundedCidWait,
    ];

    /// The name used on command lines and in the module parameter.
    pub const fn name(self) -> &'static str {
        match self {
            Variant::V7_3 => "v7.3",
            Variant::PreFix => "pre-fix",
            Variant::NoTransit => "no-transit",
            Variant::UnguardedDrop => "unguarded-drop",
            Variant::TransitUnset => "transit-unset",
            Variant::ForkInvisible => "fork-invisible",
            Variant::VforkCount => "vfork-count",
            Variant::SplitMode => "split-mode",
            Variant::AffinitySwitchback => "affinity-switchback",
            Variant::BoundedCidWait => "bounded-cid-wait",
        }
    }

    /// One line for command line help: the upstream fix the variant
    /// reverts, if any.
    pub const fn summary(self) -> &'static str {
        match self {
            Variant::V7_3 => "kernel/sched as shipped in Linux 7.3",
            Variant::PreFix => "without 4327fb13fa47: task to CPU switch without TRANSIT",
            Variant::NoTransit => "no TRANSIT in either direction of the mode switch",
            Variant::UnguardedDrop => "without 1e83ccd5921a: mm_drop_cid_on_cpu() unguarded",
            Variant::TransitUnset => "without de3ab9bd3133: TRANSIT set on MM_CID_UNSET",
            Variant::ForkInvisible => "without b2e48c429ec5: CID user before on the thread list",
            Variant::VforkCount => "without 28b5a1395036: vfork() walk stops on a miscount",
            Variant::SplitMode => "without 47ee94efccf6: percpu and transit in two fields",
            Variant::AffinitySwitchback => {
                "candidate fix: affinity widening can switch back to per task mode"
            }
            Variant::BoundedCidWait => "rejected upstream: mm_get_cid() gives up with MM_CID_UNSET",
        }
    }

    /// Every variant's name, for messages: "v7.3, pre-fix, ...".
    pub const NAMES: Names = Names;

    /// Parses [`Variant::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.name() == name)
    }

    /// Does the switch to per CPU mode go through MM_CID_TRANSIT?
    pub const fn transit_to_cpu(self) -> bool {
        !matches!(self, Variant::PreFix | Variant::NoTransit)
    }

    /// Does the switch back to per task mode go through MM_CID_TRANSIT?
    pub const fn transit_to_task(self) -> bool {
        !matches!(self, Variant::NoTransit)
    }

    /// Does `mm_drop_cid_on_cpu()` check that the CID is CPU owned?
    pub const fn drop_on_cpu_checks_owner(self) -> bool {
        !matches!(self, Variant::UnguardedDrop)
    }

    /// Does the CPU to task fixup leave MM_CID_UNSET alone?
    pub const fn fixup_skips_unset(self) -> bool {
        !matches!(self, Variant::TransitUnset)
    }

    /// Does the task to CPU fixup walk the thread list and the task list
    /// (`for_other_threads()`, `for_each_process_thread()`) instead of
    /// `mm_cid::user_list`?  The walk itself is the explorer's: the model
    /// has no thread list.
    pub const fn walks_thread_list(self) -> bool {
        matches!(self, Variant::ForkInvisible | Variant::VforkCount)
    }

    /// Does `sched_mm_cid_fork()` run before the child is on the thread
    /// list (in `copy_mm()`, not in `sched_post_fork()`)?
    pub const fn forks_before_visible(self) -> bool {
        matches!(self, Variant::ForkInvisible)
    }

    /// Is `mm_cid::mode` one word, so that a CPU sees its ownership and
    /// transition bits change together?
    pub const fn mode_in_one_word(self) -> bool {
        !matches!(self, Variant::SplitMode)
    }

    /// Does `mm_update_cpus_allowed()` compute the threshold of the wider
    /// set from `nr_cpus_allowed` alone, not capped by `users`?
    pub const fn thrs_from_allowed_set(self) -> bool {
        matches!(self, Variant::AffinitySwitchback)
    }

    /// Does `mm_get_cid()` give up when its retries find no CID free?
    pub const fn cid_wait_gives_up(self) -> bool {
        matches!(self, Variant::BoundedCidWait)
    }

    /// Does the task list walk stop when its count of users, decremented
    /// also for threads the thread list walk fixed up, reaches zero?
    pub const fn walk_stops_on_count(self) -> bool {
        matches!(self, Variant::VforkCount)
    }
}

/// The list of [`Variant::ALL`]'s names, comma separated, as `Display`.
#[derive(Clone, Copy, Debug)]
pub struct Names;

impl core::fmt::Display for Names {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for (i, v) in Variant::ALL.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{}{}", sep, v.name())?;
        }
        Ok(())
    }
}
