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
    /// `t->pid`.
    pub tid: i32,
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
    /// `cpu_possible_mask`.
    pub possible: u64,
    /// The task switched out.
    pub prev: TaskSnap,
    /// The task switched in.
    pub next: TaskSnap,
    /// The mm whose CIDs the switch changes.
    pub mm: MmSnap,
}

/// `MMCID_OP_USERS`.
pub const OP_USERS: usize = 254;

/// `MMCID_MAX_CPUS` is the model's limit.
pub use super::model::MAX_CPUS;
use super::model::{cpu_in, cpus_in};

/// `struct mmcid_user_snap`: one task on `mm_cid::user_list`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UserSnap {
    /// `task_struct` address, an identity only.
    pub task: u64,
    /// `t->mm_cid.cid`.
    pub cid: u32,
    /// `t->mm_cid.active`.
    pub active: u32,
    /// `task_cpu(t)`.
    pub cpu: u32,
    /// `t->pid`.
    pub tid: i32,
    /// `t->nvcsw + t->nivcsw`.
    pub switches: u64,
}

/// `MMCID_CURR_OFFLINE`: [`CpuSnap::curr`] of an offline CPU, which runs
/// no task.
pub const CURR_OFFLINE: u64 = 1;

/// `struct mmcid_cpu_snap`: one possible CPU as a fork or exit sees it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuSnap {
    /// The task it last switched to; 0: none seen since load;
    /// [`CURR_OFFLINE`]: the CPU is offline.
    pub curr: u64,
    /// Its switch sequence, odd while `mm_cid_switch_to()` may run.
    pub seq: u64,
    /// Its `pcpu->cid`.
    pub pcpu_cid: u32,
    /// 1: `seq` was even and unchanged while the snapshot was read.
    pub stable: u32,
}

/// `struct mmcid_op_snap`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpSnap {
    /// current's CPU.
    pub cpu: u32,
    /// `num_possible_cpus()`.
    pub nr_possible: u32,
    /// `cpu_possible_mask`; `cpus` is indexed by CPU number.
    pub possible: u64,
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
    /// `mm->mm_cid.update_deferred`.
    pub update_deferred: u32,
    /// Users on `user_list`; the first `OP_USERS` are kept.
    pub nr_users: u32,
    /// Checked forks and exits of this mm begun or ended.
    pub op_seq: u64,
    /// Checked forks and exits of this mm in flight, this one included.
    pub ops_in_flight: u32,
    /// `task_cpu(t)`.
    pub t_cpu: u32,
    /// Fork and exit calls the probes missed since load.
    pub missed: u64,
    /// Each possible CPU, at its number.
    pub cpus: [CpuSnap; MAX_CPUS],
    /// The users, head of `user_list` first.
    pub users: [UserSnap; OP_USERS],
}

/// `MMCID_STALL_TASKS`.
pub const STALL_TASKS: usize = 16;

/// `struct mmcid_stall_snap`: a CPU stuck in a context switch, as the
/// watchdog read it without locks.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StallSnap {
    /// The CPU in the context switch.
    pub cpu: u32,
    /// `num_possible_cpus()`.
    pub nr_possible: u32,
    /// `cpu_possible_mask`.
    pub possible: u64,
    /// Nanoseconds since its `sched_switch` tracepoint.
    pub spin_ns: u64,
    /// The task it switches to.
    pub next: TaskSnap,
    /// The mm, an identity only.
    pub mm: u64,
    /// `mm->mm_cid.mode`.
    pub mode: u32,
    /// `mm->mm_cid.max_cids`.
    pub max_cids: u32,
    /// `mm->mm_cid.users`.
    pub users: u32,
    /// `mm->mm_cid.pcpu_thrs`.
    pub pcpu_thrs: u32,
    /// The first 64 bits of `mm_cidmask()`.
    pub cidmask: u64,
    /// Each possible CPU's `pcpu->cid`, at its number.
    pub pcpu_cid: [u32; MAX_CPUS],
    /// Threads of `next` kept in `tasks`.
    pub nr_tasks: u32,
    /// `task_cpu()` of each kept thread.
    pub task_cpu: [u32; STALL_TASKS],
    /// The threads of `next`.
    pub tasks: [TaskSnap; STALL_TASKS],
    /// How long a fork in the mm has been in `sched_mm_cid_fork()`; 0: none.
    pub fork_ns: u64,
    /// The CPU of the forking task.
    pub fork_cpu: u32,
    /// Padding.
    pub pad: u32,
    /// The forking task.
    pub fork_parent: TaskSnap,
    /// The task it forks.
    pub fork_child: TaskSnap,
}

/// How many of `cap` places the C filled, when it says `n`.
fn held(n: u32, cap: usize) -> usize {
    usize::try_from(n).map_or(cap, |n| n.min(cap))
}

impl SwitchSnap {
    /// All zero, for static storage.
    // SAFETY: every field is an integer or a struct of integers, for which
    // all-zero bytes are a valid value.
    pub const ZERO: Self = unsafe { core::mem::zeroed() };
}

impl Default for StallSnap {
    fn default() -> Self {
        Self::ZERO
    }
}

impl Default for OpSnap {
    fn default() -> Self {
        Self::ZERO
    }
}

impl StallSnap {
    /// All zero.
    // SAFETY: every field is an integer or an array of integers or of
    // structs of integers, for which all-zero bytes are a valid value.
    pub const ZERO: Self = unsafe { core::mem::zeroed() };

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
    /// All zero, for static storage.
    // SAFETY: every field is an integer or an array of integers, for which
    // all-zero bytes are a valid value.
    pub const ZERO: Self = unsafe { core::mem::zeroed() };

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
