// SPDX-License-Identifier: GPL-2.0

//! The snapshot types of include/mmcid_rs.h, mirrored with `#[repr(C)]`.
//! The module compares `size_of::<SwitchSnap>()` with the C `sizeof` at
//! load time.

/// `struct mmcid_task_snap`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaskSnap {
    /// `task_struct` address, an identity only.
    pub task: u64,
    /// Its mm, an identity only; 0 for none.
    pub mm: u64,
    /// `t->mm_cid.cid`.
    pub cid: u32,
    /// `t->mm_cid.active`.
    pub active: u32,
    /// `t->tgid`.
    pub pid: i32,
    /// Padding.
    pub pad: u32,
}

/// `struct mmcid_mm_snap`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MmSnap {
    /// The mm, an identity only.
    pub mm: u64,
    /// `mm->mm_cid.mode`.
    pub mode: u32,
    /// `mm->mm_cid.max_cids`.
    pub max_cids: u32,
    /// `mm->mm_cid.users`.
    pub users: u32,
    /// This CPU's `pcpu->cid`.
    pub pcpu_cid: u32,
    /// The first 64 bits of `mm_cidmask()`.
    pub cidmask: u64,
}

/// `struct mmcid_switch_snap`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SwitchSnap {
    /// The CPU switching.
    pub cpu: u32,
    /// `num_possible_cpus()`.
    pub nr_possible: u32,
    /// The task switched out.
    pub prev: TaskSnap,
    /// The task switched in.
    pub next: TaskSnap,
    /// The mm whose CIDs the switch changes.
    pub mm: MmSnap,
}

/// `struct mmcid_op_snap`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpSnap {
    /// current's CPU.
    pub cpu: u32,
    /// `num_possible_cpus()`.
    pub nr_possible: u32,
    /// current.
    pub cur: TaskSnap,
    /// The task forked or exiting.
    pub t: TaskSnap,
    /// The mm; `pcpu_cid` is `cpu`'s.
    pub mm: MmSnap,
    /// `mm->mm_cid.pcpu_thrs`.
    pub pcpu_thrs: u32,
    /// `mm->mm_cid.nr_cpus_allowed`.
    pub nr_cpus_allowed: u32,
    /// current's `nvcsw + nivcsw`.
    pub switches: u64,
}
