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
}

impl Variant {
    /// Every variant, in the order the tools list them.
    pub const ALL: [Variant; 3] = [Variant::V7_3, Variant::PreFix, Variant::NoTransit];

    /// The name used on command lines and in the module parameter.
    pub const fn name(self) -> &'static str {
        match self {
            Variant::V7_3 => "v7.3",
            Variant::PreFix => "pre-fix",
            Variant::NoTransit => "no-transit",
        }
    }

    /// Parses [`Variant::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.name() == name)
    }

    /// Does the switch to per CPU mode go through MM_CID_TRANSIT?
    pub const fn transit_to_cpu(self) -> bool {
        matches!(self, Variant::V7_3)
    }

    /// Does the switch back to per task mode go through MM_CID_TRANSIT?
    pub const fn transit_to_task(self) -> bool {
        !matches!(self, Variant::NoTransit)
    }
}
