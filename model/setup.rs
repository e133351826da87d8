// SPDX-License-Identifier: GPL-2.0

//! Model states built from what was read of an mm, and the setup steps
//! the explorer's scenarios and the tests start from.  The one place where
//! a [`Sched`] is filled other than by the mirrored C functions.

use super::bits::MM_CID_ONCPU;
use super::core_c::{mm_init_cid, sched_mm_cid_fork};
use super::sched::{mm_cid_switch_to, Spin};
use super::state::{Sched, TaskId};
use super::variant::Variant;

/// The members of `struct mm_mm_cid` a snapshot reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MmRead {
    /// `mm->mm_cid.mode`.
    pub mode: u32,
    /// `mm->mm_cid.max_cids`.
    pub max_cids: u32,
    /// `mm->mm_cid.users`.
    pub users: u32,
    /// The first 64 bits of `mm_cidmask()`.
    pub cidmask: u64,
    /// `mm->mm_cid.pcpu_thrs`.
    pub pcpu_thrs: u32,
    /// `mm->mm_cid.nr_cpus_allowed`; 0: not read, all possible CPUs.
    pub nr_cpus_allowed: u32,
    /// `mm->mm_cid.update_deferred`.
    pub update_deferred: bool,
    /// The first 64 bits of `mm_cpus_allowed()`; 0: not read.
    pub cpus_allowed: u64,
}

impl<const C: usize, const T: usize> Sched<C, T> {
    /// Make `self` the mm `m` on a machine whose `cpu_possible_mask` is
    /// `possible`, with no tasks yet and every CPU's slot as
    /// `alloc_percpu()` leaves it, for [`Sched::load_task`] and
    /// [`Sched::load_cpu`] to fill.
    ///
    /// When only the weight of the affinity was read, `cpus_allowed`
    /// becomes the first `nr_cpus_allowed` CPUs.
    pub fn load_mm(&mut self, variant: Variant, possible: u64, m: &MmRead) {
        self.reset(variant, possible);
        self.set_mm(m);
    }

    /// [`Sched::load_mm`] through [`Sched::reset_on`]: for a `Sched` whose
    /// per-CPU entries were written only for the CPUs in `cpus` since it
    /// was last loaded with the same `possible`.
    pub fn load_mm_on(&mut self, cpus: u64, variant: Variant, possible: u64, m: &MmRead) {
        self.reset_on(cpus, variant, possible);
        self.set_mm(m);
    }

    fn set_mm(&mut self, m: &MmRead) {
        let mc = &mut self.mm_cid;
        mc.mode = m.mode;
        mc.max_cids = m.max_cids;
        mc.users = m.users;
        mc.cidmask = m.cidmask;
        mc.pcpu_thrs = m.pcpu_thrs;
        mc.update_deferred = m.update_deferred;
        if m.nr_cpus_allowed != 0 {
            mc.nr_cpus_allowed = m.nr_cpus_allowed;
            mc.cpus_allowed = u64::MAX
                .checked_shr(64 - m.nr_cpus_allowed.min(64))
                .unwrap_or(0);
        }
        if m.cpus_allowed != 0 {
            mc.cpus_allowed = m.cpus_allowed;
        }
    }

    /// Add a task placed on `cpu` whose `t->mm_cid` was read as `cid` and
    /// `active`.  `None` when `T` tasks are in use.
    pub fn load_task(&mut self, cpu: usize, cid: u32, active: bool) -> Option<TaskId> {
        let t = self.new_task(cpu)?;
        self.tasks[t].cid = cid;
        self.tasks[t].active = active;
        Some(t)
    }

    /// `cpu`'s slot was read as `pcpu_cid` while it ran `curr` (`None`: a
    /// task of another mm, or idle).
    pub fn load_cpu(&mut self, cpu: usize, pcpu_cid: u32, curr: Option<TaskId>) {
        self.mm_cid.pcpu[cpu] = pcpu_cid;
        self.set_curr(cpu, curr);
    }

    /// Setup step: switch `t` in on `cpu` after whatever ran there, as
    /// `__schedule()` does around `mm_cid_switch_to()`.
    pub fn switch_in(&mut self, cpu: usize, t: TaskId) -> Result<(), Spin> {
        let prev = self.curr(cpu);
        self.tasks[t].cpu = cpu as u8;
        self.set_curr(cpu, Some(t));
        mm_cid_switch_to(self, cpu, prev, Some(t))
    }

    /// Setup step: switch `cpu` to a task of another mm.
    pub fn switch_away(&mut self, cpu: usize) -> Result<(), Spin> {
        let prev = self.curr(cpu);
        self.set_curr(cpu, None);
        mm_cid_switch_to(self, cpu, prev, None)
    }

    /// Per CPU mode on `cpus` CPUs, T0 and T1 running on CPUs 0 and 1 with
    /// their CPUs' CIDs 0 and 1, switch back threshold 2: the state an exit
    /// of T1 walks back from.  Written, not run: for tests.
    pub fn per_cpu_pair(variant: Variant, cpus: u32) -> Option<Self> {
        let mut s = Self::forked_by_t0(variant, cpus, 2)?;
        s.mm_cid.mode = MM_CID_ONCPU;
        s.mm_cid.pcpu_thrs = 2;
        for c in 0..2 {
            s.mm_cid.pcpu[c] = c as u32 | MM_CID_ONCPU;
            s.tasks[c].cid = c as u32 | MM_CID_ONCPU;
        }
        Some(s)
    }

    /// A process of `n` threads on `cpus` CPUs: T0 the first user on CPU0,
    /// then `n - 1` threads forked by T0 on CPU0, thread `i` switched in
    /// on CPU `i` when there is one.  `None` when a step does not succeed
    /// (no room, or a schedule-in that would spin).
    pub fn forked_by_t0(variant: Variant, cpus: u32, n: usize) -> Option<Self> {
        let mut s = Self::new(variant, cpus);
        let t0 = s.new_task(0)?;
        s.set_curr(0, Some(t0));
        sched_mm_cid_fork(&mut s, 0, t0, t0).ok()?;
        for _ in 1..n {
            s.fork_by_t0()?;
        }
        Some(s)
    }

    /// A process started under `taskset` with the mask `cpus_mask`, on a
    /// machine of `cpus` possible CPUs: `mm_init_cid()` takes the first
    /// task's affinity, and T0, the first user, runs on CPU0 (which must
    /// be in `cpus_mask`).  No thread forked yet.
    pub fn pinned_t0(variant: Variant, cpus: u32, cpus_mask: u64) -> Option<Self> {
        let mut s = Self::new(variant, cpus);
        let mask = cpus_mask & s.possible;
        if mask & 1 == 0 {
            return None;
        }
        mm_init_cid(&mut s, mask);
        let t0 = s.new_task(0)?;
        s.set_curr(0, Some(t0));
        sched_mm_cid_fork(&mut s, 0, t0, t0).ok()?;
        Some(s)
    }

    /// Setup step: T0, running on CPU0, forks a thread, which is switched
    /// in on the CPU of its number if there is one.
    pub fn fork_by_t0(&mut self) -> Option<TaskId> {
        let t = self.new_task(0)?;
        sched_mm_cid_fork(self, 0, 0, t).ok()?;
        if t < self.nr_possible_cpus as usize {
            self.switch_in(t, t).ok()?;
        }
        Some(t)
    }
}
