// SPDX-License-Identifier: GPL-2.0

//! The state the mm_cid code works on, as plain data: one mm's
//! `struct mm_mm_cid` (include/linux/rseq_types.h) with its CID bitmap, each
//! of its tasks' `struct sched_mm_cid`, and which task each runqueue runs.
//!
//! Sizes are const parameters, fixed per use: the explorer's states stay
//! small and cheap to hash ([`SMALL_CPUS`], [`SMALL_TASKS`]), the kernel
//! module holds a machine's CPUs and an mm's users without allocating.

use super::bits::MM_CID_UNSET;
use super::paths::Path;
use super::variant::Variant;

/// Most CPUs any model instance describes: CPU masks and the CID bitmap
/// are `u64`, and CIDs are below `num_possible_cpus()`.
pub const MAX_CPUS: usize = 64;
/// CPUs of the explorer's and the tests' model (the default size).
pub const SMALL_CPUS: usize = 8;
/// Tasks of one mm in the explorer's and the tests' model (the default size).
pub const SMALL_TASKS: usize = 16;

/// Is `cpu` in the CPU mask `mask` (`cpumask_test_cpu()` on the first 64)?
pub fn cpu_in(mask: u64, cpu: usize) -> bool {
    cpu < MAX_CPUS && mask & (1 << cpu) != 0
}

/// The CPUs of `mask` in ascending order (`for_each_cpu()` on the first 64).
pub fn cpus_in(mut mask: u64) -> impl Iterator<Item = usize> {
    core::iter::from_fn(move || {
        let cpu = mask.trailing_zeros() as usize;
        mask &= mask.wrapping_sub(1);
        (cpu < MAX_CPUS).then_some(cpu)
    })
}

/// Index of a task in [`Sched::tasks`].
pub type TaskId = usize;

/// Mirrors `struct mm_mm_cid` (the members the ownership code uses) plus the
/// CID bitmap `mm_cidmask()` and the mask `mm_cpus_allowed()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MmMmCid<const C: usize, const T: usize> {
    /// `per_cpu_ptr(mm->mm_cid.pcpu, cpu)->cid` for each possible CPU
    /// (0 until the CPU first runs the mm).
    pub pcpu: [u32; C],
    /// 0, MM_CID_TRANSIT, MM_CID_ONCPU or MM_CID_ONCPU | MM_CID_TRANSIT.
    pub mode: u32,
    /// Upper bound of the optimal CID space.
    pub max_cids: u32,
    /// Weight of `mm_cpus_allowed()`.
    pub nr_cpus_allowed: u32,
    /// Tasks on `user_list`.
    pub users: u32,
    /// User count below which per CPU mode ends; 0 while in per task mode.
    pub pcpu_thrs: u32,
    /// An affinity change queued the deferred mode switch.
    pub update_deferred: bool,
    /// `mm_cidmask()`: bit n set while CID n is owned by a task or a CPU.
    pub cidmask: u64,
    /// `mm_cpus_allowed()`: union of the tasks' affinity masks.
    pub cpus_allowed: u64,
    /// `user_list`, head first (`hlist_add_head()` puts new users first).
    pub user_list: UserList<T>,
}

/// An hlist of task ids without allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UserList<const T: usize> {
    ids: [u8; T],
    len: u16,
}

impl<const T: usize> UserList<T> {
    const fn new() -> Self {
        Self {
            ids: [0; T],
            len: 0,
        }
    }

    /// Mirrors `hlist_add_head()`.
    pub fn add_head(&mut self, t: TaskId) {
        let len = usize::from(self.len);
        self.ids.copy_within(0..len, 1);
        self.ids[0] = t as u8;
        self.len += 1;
    }

    /// Mirrors `hlist_del_init()`.
    pub fn del(&mut self, t: TaskId) {
        let len = usize::from(self.len);
        if let Some(i) = self.ids[..len].iter().position(|&x| usize::from(x) == t) {
            self.ids.copy_within(i + 1..len, i);
            self.len -= 1;
        }
    }

    /// The tasks in walk order (`hlist_for_each_entry()`).
    pub fn iter(&self) -> impl Iterator<Item = TaskId> + '_ {
        self.ids[..usize::from(self.len)]
            .iter()
            .map(|&x| usize::from(x))
    }

    /// The `i`-th task in walk order.
    pub fn get(&self, i: usize) -> Option<TaskId> {
        self.ids[..usize::from(self.len)]
            .get(i)
            .map(|&x| usize::from(x))
    }

    /// Number of tasks on the list.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Is the list empty?
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Mirrors `struct sched_mm_cid` in `task_struct`, plus `task_cpu()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SchedMmCid {
    /// The task takes part in CID management.
    pub active: bool,
    /// Owned CID with the ONCPU / TRANSIT bits, or MM_CID_UNSET.
    pub cid: u32,
    /// `task_cpu()`: the runqueue the task is on or last ran on.
    pub cpu: u8,
}

/// Something the C code would do that is a bug by itself, whatever the
/// state: the model records it instead of panicking.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    /// `clear_bit()` on a bit outside the bitmap (`mm_drop_cid()` of this value).
    OobClearBit(u32),
    /// A `WARN_ON_ONCE()` of the mirrored code fired.
    Warn(&'static str),
}

/// One mm, its tasks and the runqueues: everything the mirrored functions
/// read or write.
///
/// # Invariants
///
/// `possible` has bits below `C` only and `nr_possible_cpus` of them,
/// `C <= MAX_CPUS`, `nr_tasks <= T <= 256`, and every [`TaskId`]
/// stored in `rq_curr` or `mm_cid.user_list` is below `nr_tasks`.
///
/// Two `Sched`s are equal (and hash alike) when their state is: the
/// [`Sched::paths`] that led there do not count.
#[derive(Clone, Copy, Debug)]
pub struct Sched<const C: usize = SMALL_CPUS, const T: usize = SMALL_TASKS> {
    /// Which C code the functions follow.
    pub variant: Variant,
    /// `num_possible_cpus()`: the size of the CID space.
    pub nr_possible_cpus: u32,
    /// `cpu_possible_mask`; CPU numbers are below `C` (`nr_cpu_ids`).
    pub possible: u64,
    /// `mm->mm_cid`.
    pub mm_cid: MmMmCid<C, T>,
    /// Number of tasks in `tasks` that exist (forked, maybe exited).
    pub nr_tasks: usize,
    /// `t->mm_cid` of each task of the mm.
    pub tasks: [SchedMmCid; T],
    /// `cpu_rq(cpu)->curr` if it is a task of this mm, else `None`.
    pub rq_curr: [Option<u8>; C],
    /// First fault the mirrored code ran into.
    pub fault: Option<Fault>,
    /// CIDs taken from the bitmap so far.  Not C state: the cross-check
    /// needs it to know that a CID number came from the shared pool (and
    /// may differ when another CPU got there first); the explorer zeroes
    /// it before comparing states.
    pub cid_allocs: u32,
    /// Not C state: when set, every `__mm_get_cid()` finds the bitmap as
    /// another CPU left it for the C, with bits below this CID set and
    /// this CID clear.  The cross-check replays the C's allocation with
    /// it; `None` (the explorer, the tests) reads the model's own bitmap.
    pub replay_alloc: Option<u32>,
    /// Not state: the branches of the mirrored C taken since the last
    /// [`Sched::reset`], bit `p as u8` for each [`Path`] `p`
    /// ([`Path::in_mask`] names them).  Equality ignores it.
    pub paths: u64,
}

/// The fields of a [`Sched`] that make its state: all but `paths`.
type State<'a, const C: usize, const T: usize> = (
    &'a Variant,
    &'a u32,
    &'a u64,
    &'a MmMmCid<C, T>,
    &'a usize,
    &'a [SchedMmCid; T],
    &'a [Option<u8>; C],
    &'a Option<Fault>,
    &'a u32,
    &'a Option<u32>,
);

impl<const C: usize, const T: usize> Sched<C, T> {
    fn state(&self) -> State<'_, C, T> {
        // No `..`: a new field must be placed on one side or the other.
        let Self {
            variant,
            nr_possible_cpus,
            possible,
            mm_cid,
            nr_tasks,
            tasks,
            rq_curr,
            fault,
            cid_allocs,
            replay_alloc,
            paths: _,
        } = self;
        (
            variant,
            nr_possible_cpus,
            possible,
            mm_cid,
            nr_tasks,
            tasks,
            rq_curr,
            fault,
            cid_allocs,
            replay_alloc,
        )
    }
}

impl<const C: usize, const T: usize> PartialEq for Sched<C, T> {
    fn eq(&self, other: &Self) -> bool {
        self.state() == other.state()
    }
}

impl<const C: usize, const T: usize> Eq for Sched<C, T> {}

impl<const C: usize, const T: usize> core::hash::Hash for Sched<C, T> {
    fn hash<H: core::hash::Hasher>(&self, h: &mut H) {
        self.state().hash(h);
    }
}

impl<const C: usize, const T: usize> Sched<C, T> {
    /// Task ids are stored in a byte; CPU masks are `u64`.
    pub(crate) const SIZES_FIT: () = assert!(C <= MAX_CPUS && C > 0 && T <= 256);

    /// No CPU, no task: storage to [`Sched::reset`] before use (the kernel
    /// module keeps one per CPU in a static).
    pub const EMPTY: Self = Self {
        variant: Variant::V7_3,
        nr_possible_cpus: 0,
        possible: 0,
        mm_cid: MmMmCid {
            // mm_alloc_cid_noprof(): "mm->mm_cid.pcpu =
            // alloc_percpu_noprof(struct mm_cid_pcpu);".  alloc_percpu()
            // zeroes it and mm_init_cid() leaves it alone: a CPU that
            // never ran the mm reads CID 0, which looks task owned.
            pcpu: [0; C],
            mode: 0,
            max_cids: 0,
            nr_cpus_allowed: 0,
            users: 0,
            pcpu_thrs: 0,
            update_deferred: false,
            cidmask: 0,
            cpus_allowed: 0,
            user_list: UserList::new(),
        },
        nr_tasks: 0,
        tasks: [SchedMmCid {
            active: false,
            cid: MM_CID_UNSET,
            cpu: 0,
        }; T],
        rq_curr: [None; C],
        fault: None,
        cid_allocs: 0,
        replay_alloc: None,
        paths: 0,
    };

    /// Create a task of this mm (`copy_process()` before `sched_mm_cid_fork()`),
    /// placed on `cpu`.  Returns `None` when `T` tasks are in use.
    pub fn new_task(&mut self, cpu: usize) -> Option<TaskId> {
        if self.nr_tasks == T {
            return None;
        }
        let t = self.nr_tasks;
        // INVARIANT: t < T, and nr_tasks grows to cover it.
        self.tasks[t] = SchedMmCid {
            active: false,
            cid: MM_CID_UNSET,
            cpu: cpu as u8,
        };
        self.nr_tasks += 1;
        Some(t)
    }

    /// `t->mm_cid`.
    pub fn task(&self, t: TaskId) -> &SchedMmCid {
        &self.tasks[t]
    }

    /// `cpu_rq(cpu)->curr`, when it is a task of this mm.
    pub fn curr(&self, cpu: usize) -> Option<TaskId> {
        self.rq_curr[cpu].map(usize::from)
    }

    /// The possible CPUs, in `for_each_possible_cpu()` order.
    pub fn possible_cpus(&self) -> impl Iterator<Item = usize> {
        cpus_in(self.possible)
    }

    /// Is `cpu` a possible CPU?
    pub fn cpu_possible(&self, cpu: usize) -> bool {
        cpu_in(self.possible, cpu)
    }

    /// Make `t` the current task of `cpu`'s runqueue (`None`: another
    /// mm's task or idle).
    pub fn set_curr(&mut self, cpu: usize, t: Option<TaskId>) {
        // INVARIANT: task ids are below T <= 256.
        self.rq_curr[cpu] = t.map(|t| t as u8);
    }

    /// Record the first fault.
    pub(crate) fn fault(&mut self, f: Fault) {
        self.fault.get_or_insert(f);
    }

    /// Record that the mirrored C took the branch `p`.
    #[inline]
    pub fn took(&mut self, p: Path) {
        self.paths |= p.bit();
    }

    /// Record the boundaries of a comparison of `a` with `b`: `eq` when
    /// they are equal, `near` when they are one apart.
    #[inline]
    pub fn took_bounds(&mut self, a: u32, b: u32, eq: Path, near: Path) {
        match a.abs_diff(b) {
            0 => self.took(eq),
            1 => self.took(near),
            _ => {}
        }
    }
}
