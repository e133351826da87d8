// SPDX-License-Identifier: GPL-2.0

//! The C/Rust contract: the types, constants and functions of
//! include/mmcid_rs.h, as bindgen generated them (`bindings`, see
//! scripts/bindgen.sh), under the names the checks use, and the helpers
//! the checks read snapshots with.

/// What scripts/bindgen.sh generated from include/mmcid_rs.h, with a
/// compile-time assert on every field's offset.
#[allow(
    non_camel_case_types,
    non_upper_case_globals,
    missing_docs,
    unreachable_pub,
    clippy::all,
    clippy::undocumented_unsafe_blocks,
    clippy::ptr_as_ptr,
    clippy::cast_lossless
)]
pub mod bindings {
    include!("bindings_generated.rs");
}

use super::model::{cpu_in, cpus_in};

/// `struct mmcid_task_snap`: one task as `mm_cid_switch_to()` sees it.
pub type TaskSnap = bindings::mmcid_task_snap;
/// `struct mmcid_mm_snap`: what a context switch reads of its mm.
pub type MmSnap = bindings::mmcid_mm_snap;
/// `struct mmcid_switch_snap`: one end of a context switch.
pub type SwitchSnap = bindings::mmcid_switch_snap;
/// `struct mmcid_user_snap`: one task on `mm_cid::user_list`.
pub type UserSnap = bindings::mmcid_user_snap;
/// `struct mmcid_cpu_snap`: one possible CPU as a fork or exit sees it.
pub type CpuSnap = bindings::mmcid_cpu_snap;
/// `struct mmcid_op_snap`: one end of a fork or exit.
pub type OpSnap = bindings::mmcid_op_snap;
/// `struct mmcid_stall_snap`: a CPU stuck in a context switch, as the
/// watchdog read it without locks.
pub type StallSnap = bindings::mmcid_stall_snap;

/// `MMCID_MAX_CPUS` is the model's limit.
pub use super::model::MAX_CPUS;
const _: () = assert!(bindings::MMCID_MAX_CPUS as usize == MAX_CPUS);

// Every variant's name fits the C's buffer for the parameter.
const _: () = {
    let mut i = 0;
    while i < super::model::Variant::ALL.len() {
        assert!(
            super::model::Variant::ALL[i].name().len() < bindings::MMCID_RS_VARIANT_LEN as usize
        );
        i += 1;
    }
};

/// `MMCID_OP_USERS`.
pub const OP_USERS: usize = bindings::MMCID_OP_USERS as usize;
/// `MMCID_STALL_TASKS`.
pub const STALL_TASKS: usize = bindings::MMCID_STALL_TASKS as usize;
/// `MMCID_CURR_OFFLINE`: [`CpuSnap::curr`] of an offline CPU, which runs
/// no task.
pub const CURR_OFFLINE: u64 = bindings::MMCID_CURR_OFFLINE as u64;

/// `MMCID_CPU_CHANGED`: [`CpuSnap::stable`] of a CPU where a switch began
/// or ended while it was read.
pub const CPU_CHANGED: u32 = bindings::mmcid_cpu_stable_MMCID_CPU_CHANGED;
/// `MMCID_CPU_STABLE`: no switch of the mm ran there meanwhile.
pub const CPU_STABLE: u32 = bindings::mmcid_cpu_stable_MMCID_CPU_STABLE;
/// `MMCID_CPU_IN_SWITCH`: inside one switch of the mm throughout.
pub const CPU_IN_SWITCH: u32 = bindings::mmcid_cpu_stable_MMCID_CPU_IN_SWITCH;

impl CpuSnap {
    /// No context switch of the mm ran on the CPU while it was read.
    pub fn is_stable(&self) -> bool {
        self.stable == CPU_STABLE
    }

    /// The CPU was inside one context switch of the mm throughout: of
    /// `prev` and `next`.
    pub fn in_switch(&self) -> bool {
        self.stable == CPU_IN_SWITCH
    }
}

/// How many of `cap` places the C filled, when it says `n`.
fn held(n: u32, cap: usize) -> usize {
    usize::try_from(n).map_or(cap, |n| n.min(cap))
}

impl StallSnap {
    /// Each CPU's `pcpu->cid`, by number (0 for a CPU that is not
    /// possible).
    pub fn pcpu_cids(&self) -> &[u32; MAX_CPUS] {
        &self.pcpu_cid
    }

    /// The possible CPUs' `pcpu->cid`, with their numbers.
    pub fn possible_pcpu_cids(&self) -> impl Iterator<Item = (usize, u32)> + '_ {
        cpus_in(self.possible).map(|c| (c, self.pcpu_cid[c]))
    }

    /// The threads kept.
    pub fn threads(&self) -> &[TaskSnap] {
        &self.tasks[..held(self.nr_tasks, STALL_TASKS)]
    }
}

impl OpSnap {
    /// Every CPU by number; only the possible ones were read (see
    /// [`OpSnap::possible_cpus`]).
    pub fn kept_cpus(&self) -> &[CpuSnap; MAX_CPUS] {
        &self.cpus
    }

    /// The possible CPUs, with their numbers.
    pub fn possible_cpus(&self) -> impl Iterator<Item = (usize, &CpuSnap)> + '_ {
        cpus_in(self.possible).map(|c| (c, &self.cpus[c]))
    }

    /// Is `cpu` a possible CPU of the snapshot?
    pub fn cpu_possible(&self, cpu: u32) -> bool {
        cpu_in(self.possible, cpu as usize)
    }

    /// The users kept.
    pub fn kept_users(&self) -> &[UserSnap] {
        &self.users[..held(self.nr_users, OP_USERS)]
    }
}
