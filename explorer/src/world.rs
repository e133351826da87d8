// SPDX-License-Identifier: GPL-2.0

//! The explorer's scheduler core: a [`World`] is the model's [`Sched`] plus
//! what the scheduler around mm_cid decides (who runs where, which CPU spins
//! in `mm_get_cid()` with its runqueue lock held, how far a fork's or an
//! exit's fixup walk got, which CPUs each task may run on, whether the
//! deferred work of an affinity change is queued).  [`World::actions`]
//! lists every step that can happen next, each atomic in the C: a context
//! switch under one runqueue lock, one iteration of a fixup walk under one
//! runqueue lock, a `mm_cid::lock` section.

use crate::weak::Weak;
use mmcid_model::*;

/// Where a task is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Life {
    /// Not forked yet, or forked but `sched_mm_cid_fork()` did not return.
    Unborn,
    /// Runnable or running.
    Alive,
    /// Past `sched_mm_cid_exit()`, still running towards its last switch.
    Exiting,
    /// Between `sched_mm_cid_before_execve()` and the
    /// `sched_mm_cid_after_execve()` of an execve() that fails before the
    /// point of no return: runnable, not a CID user, the mm unchanged.
    Execing,
    /// Switched out for the last time.
    Dead,
}

/// A fork or exit in progress, run by the task that owns it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// Nothing in progress.
    None,
    /// Spinning in `mm_get_cid()` inside the `mm_cid::lock` section of
    /// `sched_mm_cid_fork()` (interrupts off: cannot be preempted).
    ForkLockedCid {
        /// The task being forked.
        child: u8,
        /// Which `mm_get_cid()` of the fork.
        next: ForkNext,
    },
    /// `mm_cid_fixup_tasks_to_cpus()` at position `i` of `user_list`.
    ForkTasksToCpus {
        /// The task being forked.
        child: u8,
        /// Walk position.
        i: u8,
    },
    /// `mm_cid_fixup_cpus_to_tasks()` of a fork at `cpu`.
    ForkCpusToTasks {
        /// The task being forked.
        child: u8,
        /// Walk position.
        cpu: u8,
    },
    /// `t->mm_cid.cid = mm_get_cid(mm)` after a fork's CPU to task fixup.
    ForkCid {
        /// The task being forked.
        child: u8,
    },
    /// `mm_cid_fixup_cpus_to_tasks()` of an exit at `cpu`.
    ExitCpusToTasks {
        /// Walk position.
        cpu: u8,
    },
    /// The rest of `copy_process()` after a `sched_mm_cid_fork()` that ran
    /// in `copy_mm()` (fork-invisible): the child is a CID user, not yet
    /// on the thread list.  `mm_cid::mutex` is not held.
    Attach {
        /// The task being forked.
        child: u8,
    },
}

/// One atomic step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// `__schedule()` on `cpu` from `prev` to `next` (None: another mm).
    Switch {
        /// The CPU.
        cpu: u8,
        /// Task switched out.
        prev: Option<u8>,
        /// Task switched in.
        next: Option<u8>,
        /// `prev` blocks (leaves the runqueue) instead of being preempted.
        sleep: bool,
    },
    /// A spinning `mm_get_cid()` on `cpu` finds a CID.
    GotCid {
        /// The CPU.
        cpu: u8,
    },
    /// `task` runs `sched_mm_cid_fork()` for `child` (its lock section).
    Fork {
        /// The forking task.
        task: u8,
        /// The new task.
        child: u8,
        /// The child is a process of its own sharing the mm (vfork(),
        /// CLONE_VM without CLONE_THREAD), not a thread.
        process: bool,
    },
    /// fork-invisible: the forker puts the child on the thread and task
    /// lists and wakes it.
    Attach {
        /// The forking task.
        task: u8,
    },
    /// Weak memory: the `mm_cid::mode` bits in `bits` (TRANSIT 1, ONCPU
    /// 2) as last stored become visible to `cpu`.
    Flush {
        /// The CPU that sees them.
        cpu: u8,
        /// Which bits (both at once when the mode is one word).
        bits: u8,
    },
    /// A fork's `mm_get_cid()` for the child succeeds.
    ForkCid {
        /// The forking task.
        task: u8,
    },
    /// One iteration of `mm_cid_fixup_tasks_to_cpus()`.
    FixupTask {
        /// The walking task.
        task: u8,
        /// The task fixed up (under its runqueue lock).
        target: u8,
    },
    /// One iteration of `mm_cid_fixup_cpus_to_tasks()`.
    FixupCpu {
        /// The walking task.
        task: u8,
        /// The CPU fixed up (under its runqueue lock).
        cpu: u8,
    },
    /// `mm_cid_complete_transit()` at the end of a walk.
    Complete {
        /// The walking task.
        task: u8,
    },
    /// `task` runs `sched_mm_cid_exit()` (its lock section).
    Exit {
        /// The exiting task.
        task: u8,
    },
    /// `task` calls execve(): `sched_mm_cid_before_execve()`, which is
    /// `sched_mm_cid_exit()`.
    Execve {
        /// The task.
        task: u8,
    },
    /// `task`'s execve() failed: `sched_mm_cid_after_execve()` on the old
    /// mm, which is `sched_mm_cid_fork(current)`.
    ExecveFailed {
        /// The task.
        task: u8,
    },
    /// `sched_setaffinity(task)` from anywhere: under `task_rq_lock(task)`,
    /// `set_cpus_allowed_common()` sets its mask and calls
    /// `mm_update_cpus_allowed()`, which may queue the deferred work.
    Affinity {
        /// The task whose mask changes.
        task: u8,
        /// The scenario's wide mask (else its narrow one).
        wide: bool,
    },
    /// The queued `mm_cid_work_fn()` starts: `mm_cid::mutex`, then its
    /// `mm_cid::lock` section.
    Work,
    /// One iteration of the work's `mm_cid_fixup_cpus_to_tasks()`.
    WorkFixupCpu {
        /// The CPU fixed up (under its runqueue lock).
        cpu: u8,
    },
    /// `mm_cid_complete_transit()` at the end of the work's walk.
    WorkComplete,
}

/// Per task scheduler state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TaskState {
    /// Life cycle.
    pub life: Life,
    /// Operation in progress.
    pub op: Op,
    /// Blocked, on no runqueue: a wakeup may place it on any CPU without
    /// the lock of the runqueue it last ran on.  A task that is neither
    /// running nor sleeping is queued on `task_cpu()`, and moving it
    /// elsewhere needs that runqueue's lock.
    pub sleeping: bool,
    /// A process of its own that shares the mm (vfork()), not a thread of
    /// the first task's thread group.
    pub process: bool,
    /// `p->cpus_mask`, CPU c at bit c: the CPUs the task may switch in on.
    /// [`ALL_CPUS`] in the scenarios without affinity steps.
    pub allowed: u8,
}

/// A mask of every CPU the explorer can model.
pub const ALL_CPUS: u8 = u8::MAX;

impl TaskState {
    /// A slot no fork has used yet.
    pub const UNBORN: TaskState = TaskState {
        life: Life::Unborn,
        op: Op::None,
        sleeping: false,
        process: false,
        allowed: ALL_CPUS,
    };
}

/// A safety property broken in one state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Violation {
    /// Two running tasks expose the same CID to user space.
    DuplicateCid {
        /// One task.
        a: u8,
        /// The other.
        b: u8,
        /// The CID both see.
        cid: u32,
    },
    /// A running task exposes a CID >= the number of possible CPUs.
    CidOutOfRange {
        /// The task.
        task: u8,
        /// Its CID.
        cid: u32,
    },
    /// The model hit a C-level bug (out of bounds `clear_bit()`, WARN).
    Fault(Fault),
    /// A fixup completed but left a CID with the wrong owner.
    TransitionUnfinished {
        /// The mode the fixup completed to.
        mode: u32,
        /// A task (`Some`) or CPU (`None`) that still owns a CID.
        task: Option<u8>,
        /// The CPU, when `task` is `None`.
        cpu: u8,
    },
    /// A context switch read per task mode while the task it switches
    /// out and its CPU still hold a CPU owned CID: the switch back
    /// completed before its walk reached this CPU
    /// ([`invariants::walk_passed()`]).
    WalkBehind {
        /// The CPU.
        cpu: u8,
        /// The task switched out.
        task: u8,
    },
    /// Per CPU mode with fewer users than the threshold of the allowed
    /// set, nothing in flight to switch back
    /// ([`invariants::mode_stuck()`]).
    ModeStuck {
        /// `mm_cid::users`.
        users: u32,
        /// The threshold per CPU mode has when entered with this mask.
        thrs: u32,
        /// `mm_cid::nr_cpus_allowed`.
        nr_cpus_allowed: u32,
        /// `mm_cid::pcpu_thrs`, which `mm_update_cpus_allowed()` left.
        pcpu_thrs: u32,
    },
}

/// A [`World::switches_left`] that never runs out.
pub const UNBOUNDED: u8 = u8::MAX;

/// The whole explored state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct World {
    /// The model.
    pub s: Sched,
    /// `Some` while the CPU spins in `mm_get_cid()` under its runqueue lock.
    pub spin: [Option<Spin>; SMALL_CPUS],
    /// Scheduler state of each task.
    pub task: [TaskState; SMALL_TASKS],
    /// Tasks below this number fork; the others may exit.
    pub forkers: u8,
    /// Forks of threads left in the budget.
    pub forks_left: u8,
    /// Forks of processes that share the mm (vfork()) left in the budget.
    pub vforks_left: u8,
    /// Exits left in the budget.
    pub exits_left: u8,
    /// Failing execve() calls left in the budget.
    pub execs_left: u8,
    /// Context switches left in the budget; [`UNBOUNDED`] for no bound.
    pub switches_left: u8,
    /// May a task be switched out in the middle of a fixup walk?  The C
    /// allows it; the changelog's story assumes it does not happen.
    pub preempt_walkers: bool,
    /// Report a CID with the wrong owner after `mm_cid_complete_transit()`
    /// ([`Violation::TransitionUnfinished`]), and a switch that finds the
    /// mode completed before the walk reached its CPU
    /// ([`Violation::WalkBehind`]).
    pub check_transitions: bool,
    /// Report a task back in user space (running, no call in flight) that
    /// is a CID user without a CID: rseq shows it `task_mm_cid()` =
    /// `MM_CID_UNSET` ([`Violation::CidOutOfRange`]).  Constant in a run,
    /// so not encoded.
    pub check_unset: bool,
    /// Weak memory: which stores to `mm_cid::mode` each CPU has seen.
    pub weak: Weak,
    /// The masks `sched_setaffinity()` may give a non-forker, narrow and
    /// wide; `None` in the scenarios without affinity steps.  Fixed for a
    /// run.
    pub masks: Option<[u8; 2]>,
    /// `sched_setaffinity()` calls left in the budget.
    pub affinity_left: u8,
    /// `mm_update_cpus_allowed()` queued the irq work that schedules
    /// `mm_cid_work_fn()`, which has not started.
    pub work_pending: bool,
    /// `mm_cid_work_fn()`'s `mm_cid_fixup_cpus_to_tasks()` at this CPU.
    pub work_walk: Option<u8>,
    /// Violation found by the step that made this state.
    pub violation: Option<Violation>,
}

impl World {
    /// Number of CPUs.
    pub fn nr_cpus(&self) -> usize {
        self.s.nr_possible_cpus as usize
    }

    /// The CPU `t` runs on, if it runs.
    pub fn running_on(&self, t: usize) -> Option<usize> {
        let cpu = usize::from(self.s.tasks[t].cpu);
        (self.s.curr(cpu) == Some(t)).then_some(cpu)
    }

    /// Tasks that exist (forked, not dead).
    fn live(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.s.nr_tasks).filter(|&t| {
            matches!(
                self.task[t].life,
                Life::Alive | Life::Exiting | Life::Execing
            )
        })
    }

    /// The CPU whose runqueue lock `task_rq_lock(t)` takes.
    fn task_rq(&self, t: usize) -> usize {
        usize::from(self.s.tasks[t].cpu)
    }

    /// Would `mm_get_cid()` find a CID now?  Its first try is bounded by
    /// max_cids, which never exceeds the possible CPUs its retries search,
    /// so one turn of the retry loop decides for both.
    fn cid_free(&self) -> bool {
        let mut probe = self.s;
        mm_get_cid_retry(&mut probe).is_ok()
    }

    /// Some task is in a fork or exit, or the deferred work in its walk,
    /// so holds `mm_cid::mutex`.
    pub fn mutex_held(&self) -> bool {
        self.work_walk.is_some()
            || self.task[..self.s.nr_tasks]
                .iter()
                .any(|t| !matches!(t.op, Op::None | Op::Attach { .. }))
    }

    /// Is `t` on the thread and task lists?  Tasks not forked yet are not,
    /// nor (fork-invisible) a child whose fork has not attached it, nor
    /// dead tasks.
    fn listed(&self, t: usize) -> bool {
        let life = self.task[t].life;
        t < self.s.nr_tasks
            && life != Life::Dead
            && (life != Life::Unborn || !self.s.variant.forks_before_visible())
    }

    /// The tasks `mm_cid_fixup_tasks_to_cpus()` of `current` visits, in
    /// order.  7.3 walks `mm_cid::user_list`.  The code before it
    /// (walks_thread_list()) walks `for_other_threads(current)`, counting
    /// the active tasks it meets against `users - 1`, and when that leaves
    /// users unaccounted for, every task of the mm in
    /// `for_each_process_thread()` order: the first thread group, then
    /// the vfork()ed processes, oldest first.  vfork-count decrements the
    /// count there too, for threads it already met, and stops at zero.
    pub fn walk_targets(&self, current: usize) -> ([u8; 2 * SMALL_TASKS], usize) {
        let mut out = [0u8; 2 * SMALL_TASKS];
        let mut n = 0;
        if !self.s.variant.walks_thread_list() {
            for t in self.s.mm_cid.user_list.iter() {
                out[n] = t as u8;
                n += 1;
            }
            return (out, n);
        }
        let mut left = self.s.mm_cid.users.saturating_sub(1);
        let own_group = !self.task[current].process;
        for t in (0..self.s.nr_tasks).filter(|&t| t != current && self.listed(t)) {
            if own_group && !self.task[t].process {
                out[n] = t as u8;
                n += 1;
                left = left.saturating_sub(u32::from(self.s.tasks[t].active));
            }
        }
        if left == 0 {
            return (out, n);
        }
        let threads = (0..self.s.nr_tasks).filter(|&t| !self.task[t].process);
        let processes = (0..self.s.nr_tasks).filter(|&t| self.task[t].process);
        for t in threads.chain(processes) {
            if t == current || !self.listed(t) {
                continue;
            }
            out[n] = t as u8;
            n += 1;
            if self.s.variant.walk_stops_on_count() && self.s.tasks[t].active {
                left -= 1;
                if left == 0 {
                    break;
                }
            }
        }
        (out, n)
    }

    /// Can `cpu` pick `t`: woken from sleep, queued on `cpu`, or pulled from
    /// another runqueue whose lock is free?
    fn can_switch_in(&self, t: usize, cpu: usize) -> bool {
        let ts = &self.task[t];
        matches!(ts.life, Life::Alive | Life::Execing)
            && cpu_in(u64::from(ts.allowed), cpu)
            && self.running_on(t).is_none()
            && (ts.sleeping || self.task_rq(t) == cpu || self.spin[self.task_rq(t)].is_none())
    }

    /// Can `t`, running, make progress on its own (not preempted, its CPU
    /// not spinning)?
    fn runs_free(&self, t: usize) -> Option<usize> {
        self.running_on(t).filter(|&cpu| self.spin[cpu].is_none())
    }

    /// Every step enabled in this state.
    pub fn actions(&self, out: &mut Vec<Action>) {
        out.clear();
        for cpu in 0..self.nr_cpus() {
            if self.spin[cpu].is_some() {
                if self.cid_free() {
                    out.push(Action::GotCid { cpu: cpu as u8 });
                }
                continue;
            }
            let prev = self.s.curr(cpu);
            // A fork spinning with interrupts off cannot be switched out,
            // nor, unless walkers are preemptible, a fork or exit at all.
            if prev.is_some_and(|p| match self.task[p].op {
                Op::None | Op::Attach { .. } => false,
                Op::ForkLockedCid { .. } => true,
                _ => !self.preempt_walkers,
            }) {
                continue;
            }
            if self.switches_left == 0 {
                continue;
            }
            let prev8 = prev.map(|p| p as u8);
            // An exiting task leaves for good; others block or are preempted.
            let sleeps: &[bool] = match prev {
                Some(p) if self.task[p].life != Life::Exiting => &[false, true],
                _ => &[false],
            };
            for &sleep in sleeps {
                if prev.is_some() {
                    out.push(Action::Switch {
                        cpu: cpu as u8,
                        prev: prev8,
                        next: None,
                        sleep,
                    });
                }
                for t in self.live() {
                    if self.can_switch_in(t, cpu) {
                        out.push(Action::Switch {
                            cpu: cpu as u8,
                            prev: prev8,
                            next: Some(t as u8),
                            sleep,
                        });
                    }
                }
            }
        }
        for t in self.live() {
            if self.runs_free(t).is_some() {
                self.task_actions(t, out);
            }
        }
        self.affinity_actions(out);
        self.flush_actions(out);
    }

    /// `sched_setaffinity()` on a non-forker, by any task of any mm: it
    /// needs the target's runqueue lock, not the target's cooperation.
    /// And the deferred work, which waits for `mm_cid::mutex`.
    fn affinity_actions(&self, out: &mut Vec<Action>) {
        let Some(masks) = self.masks else {
            return;
        };
        if self.affinity_left > 0 {
            for t in usize::from(self.forkers)..self.s.nr_tasks {
                let ts = &self.task[t];
                if ts.life != Life::Alive || self.spin[self.task_rq(t)].is_some() {
                    continue;
                }
                for (wide, &m) in [false, true].into_iter().zip(&masks) {
                    if m != ts.allowed {
                        out.push(Action::Affinity {
                            task: t as u8,
                            wide,
                        });
                    }
                }
            }
        }
        match self.work_walk {
            Some(cpu) => self.cpu_walk_actions(cpu, Action::WorkComplete, out, |cpu| {
                Action::WorkFixupCpu { cpu }
            }),
            None if self.work_pending && !self.mutex_held() => out.push(Action::Work),
            None => {}
        }
    }

    /// The next step of a `mm_cid_fixup_cpus_to_tasks()` at `cpu`: the
    /// iteration, under that runqueue's lock, or `done` past the last CPU.
    fn cpu_walk_actions(
        &self,
        cpu: u8,
        done: Action,
        out: &mut Vec<Action>,
        fixup: impl FnOnce(u8) -> Action,
    ) {
        if usize::from(cpu) == self.nr_cpus() {
            out.push(done);
        } else if self.spin[usize::from(cpu)].is_none() {
            out.push(fixup(cpu));
        }
    }

    /// Weak memory: the stores to `mm_cid::mode` that may reach each CPU
    /// next.  One word reaches a CPU whole; split-mode's two fields each on
    /// their own, in either order.
    fn flush_actions(&self, out: &mut Vec<Action>) {
        for cpu in 0..self.nr_cpus() {
            let stale = self.weak.stale(cpu);
            if stale == 0 {
                continue;
            }
            let c = cpu as u8;
            if self.weak.one_word {
                out.push(Action::Flush { cpu: c, bits: 3 });
                continue;
            }
            for bits in [1, 2] {
                if stale & bits != 0 {
                    out.push(Action::Flush { cpu: c, bits });
                }
            }
        }
    }

    /// Weak memory: who sees the mode after `a`, which found `before`
    /// (the rules are in [`crate::weak`]).  The fork and exit lock
    /// sections read the mode under `mm_cid::lock`, after the last writer
    /// released it: the latest value, `s.mm_cid.mode`.
    fn propagate(&mut self, a: Action, before: u32) {
        if !self.weak.on {
            return;
        }
        let actor = match a {
            Action::Fork { task, .. }
            | Action::Exit { task }
            | Action::Execve { task }
            | Action::ExecveFailed { task }
            | Action::Complete { task } => self.running_on(usize::from(task)),
            _ => None,
        };
        if let Some(cpu) = actor.filter(|_| self.s.mm_cid.mode != before) {
            self.weak.store(cpu, self.s.mm_cid.mode);
        }
        match a {
            Action::FixupTask { task, target } if task != target => {
                let t = usize::from(target);
                self.weak.walker_release(self.task_rq(t), Some(t));
            }
            Action::FixupCpu { cpu, .. } | Action::WorkFixupCpu { cpu } => {
                self.weak.walker_release(usize::from(cpu), None)
            }
            Action::Flush { cpu, bits } => self.weak.flush(usize::from(cpu), bits),
            _ => {}
        }
    }

    fn task_actions(&self, t: usize, out: &mut Vec<Action>) {
        let task = t as u8;
        match self.task[t].op {
            Op::None => {
                // fork() and exit() hold mm_cid::mutex from their start to
                // the end of their fixup: one at a time.
                if self.mutex_held() {
                    return;
                }
                if self.task[t].life == Life::Execing {
                    out.push(Action::ExecveFailed { task });
                    return;
                }
                if self.task[t].life != Life::Alive {
                    return;
                }
                if self.execs_left > 0 {
                    out.push(Action::Execve { task });
                }
                let forker = t < usize::from(self.forkers);
                let child = self.s.nr_tasks as u8;
                if forker && self.s.nr_tasks < SMALL_TASKS {
                    for (left, process) in [(self.forks_left, false), (self.vforks_left, true)] {
                        if left > 0 {
                            out.push(Action::Fork {
                                task,
                                child,
                                process,
                            });
                        }
                    }
                }
                if !forker && self.exits_left > 0 {
                    out.push(Action::Exit { task });
                }
            }
            Op::Attach { .. } => out.push(Action::Attach { task }),
            Op::ForkLockedCid { .. } | Op::ForkCid { .. } => {
                if self.cid_free() {
                    out.push(Action::ForkCid { task });
                }
            }
            Op::ForkTasksToCpus { i, .. } => {
                let (targets, n) = self.walk_targets(t);
                match targets[..n].get(usize::from(i)) {
                    None => out.push(Action::Complete { task }),
                    Some(&target) => {
                        // task_rq_lock() waits while that runqueue's lock
                        // is held.
                        let target_rq = self.task_rq(usize::from(target));
                        if usize::from(target) == t || self.spin[target_rq].is_none() {
                            out.push(Action::FixupTask { task, target });
                        }
                    }
                }
            }
            Op::ForkCpusToTasks { cpu, .. } | Op::ExitCpusToTasks { cpu } => {
                self.cpu_walk_actions(cpu, Action::Complete { task }, out, |cpu| {
                    Action::FixupCpu { task, cpu }
                })
            }
        }
    }

    /// Apply `a`, which must be one of [`World::actions`].
    pub fn step(&mut self, a: Action) {
        self.violation = None;
        let before = self.s.mm_cid.mode;
        match a {
            Action::Flush { .. } => {}
            Action::Switch {
                cpu,
                prev,
                next,
                sleep,
            } => self.switch(usize::from(cpu), prev, next, sleep),
            Action::GotCid { cpu } => {
                let cpu = usize::from(cpu);
                let t = self.s.curr(cpu).expect("a spinning CPU runs a task");
                let spin = self.spin[cpu].take().expect("GotCid on a spinning CPU");
                let r = mm_cid_schedin_retry(&mut self.s, cpu, t, spin);
                assert!(r.is_ok(), "GotCid enabled only when a CID is free");
            }
            Action::Fork {
                task,
                child,
                process,
            } => self.fork(usize::from(task), usize::from(child), process),
            Action::Attach { task } => {
                let t = usize::from(task);
                let Op::Attach { child } = self.task[t].op else {
                    unreachable!("Attach outside a fork");
                };
                self.task[t].op = Op::None;
                self.born(child);
            }
            Action::ForkCid { task } => self.fork_cid(usize::from(task)),
            Action::FixupTask { task, target } => {
                if target != task {
                    mm_cid_fixup_task_to_cpu(&mut self.s, usize::from(target));
                }
                let t = &mut self.task[usize::from(task)];
                if let Op::ForkTasksToCpus { i, .. } = &mut t.op {
                    *i += 1;
                }
            }
            Action::FixupCpu { task, cpu } => {
                mm_cid_fixup_cpu_to_task(&mut self.s, usize::from(cpu));
                match &mut self.task[usize::from(task)].op {
                    Op::ForkCpusToTasks { cpu, .. } | Op::ExitCpusToTasks { cpu } => *cpu += 1,
                    _ => unreachable!("FixupCpu outside a CPU walk"),
                }
            }
            Action::Complete { task } => self.complete(usize::from(task)),
            Action::Exit { task } => {
                self.exits_left -= 1;
                self.exit(usize::from(task), Life::Exiting);
            }
            Action::Execve { task } => {
                self.execs_left -= 1;
                self.exit(usize::from(task), Life::Execing);
            }
            Action::ExecveFailed { task } => {
                let t = usize::from(task);
                let cpu = self.running_on(t).expect("execve runs");
                let next = sched_mm_cid_fork_locked(&mut self.s, cpu, t, t);
                self.fork_next(t, task, next);
            }
            Action::Affinity { task, wide } => {
                let t = usize::from(task);
                let masks = self.masks.expect("affinity steps have masks");
                let mask = masks[usize::from(wide)];
                self.affinity_left -= 1;
                // set_cpus_allowed_common(): the mask first, then the mm's.
                // A task running outside it is migrated by its next switch.
                self.task[t].allowed = mask;
                if mm_update_cpus_allowed(&mut self.s, u64::from(mask)) {
                    // irq_work_queue(), whose handler does schedule_work():
                    // one work item, pending at most once.
                    self.work_pending = true;
                }
            }
            Action::Work => {
                // The workqueue clears PENDING before it calls the function.
                self.work_pending = false;
                if mm_cid_work_fn(&mut self.s) {
                    self.work_walk = Some(0);
                }
            }
            Action::WorkFixupCpu { cpu } => {
                mm_cid_fixup_cpu_to_task(&mut self.s, usize::from(cpu));
                self.work_walk = Some(cpu + 1);
            }
            Action::WorkComplete => {
                self.work_walk = None;
                self.complete_transit(0);
            }
        }
        self.propagate(a, before);
        if self.violation.is_none() {
            self.violation = self.check().or_else(|| self.check_mode_stuck());
        }
    }

    fn switch(&mut self, cpu: usize, prev: Option<u8>, next: Option<u8>, sleep: bool) {
        let prev = prev.map(usize::from);
        let next = next.map(usize::from);
        if self.switches_left != UNBOUNDED {
            self.switches_left -= 1;
        }
        if let Some(p) = prev {
            self.task[p].sleeping = sleep;
        }
        // __schedule(): rq->curr = next; set_task_cpu() happened at wakeup
        // or migration.
        self.weak.switch_in(cpu, next.map(|n| (n, self.task_rq(n))));
        if let Some(n) = next {
            self.s.tasks[n].cpu = cpu as u8;
            self.task[n].sleeping = false;
        }
        self.s.set_curr(cpu, next);
        // The mode as this CPU sees it; the switch does not store it.
        let mode = self.s.mm_cid.mode;
        self.s.mm_cid.mode = self.weak.seen(cpu, mode);
        if let Some(p) = prev.filter(|_| self.check_transitions && self.s.variant.transit_to_task())
        {
            if !invariants::walk_passed(
                self.s.mm_cid.mode,
                self.s.mm_cid.pcpu[cpu],
                self.s.tasks[p].cid,
            ) {
                self.violation = self.violation.or(Some(Violation::WalkBehind {
                    cpu: cpu as u8,
                    task: p as u8,
                }));
            }
        }
        if let Err(spin) = mm_cid_switch_to(&mut self.s, cpu, prev, next) {
            self.spin[cpu] = Some(spin);
        }
        self.s.mm_cid.mode = mode;
        self.weak.switch_out(cpu, prev);
        if let Some(p) = prev {
            if self.task[p].life == Life::Exiting {
                self.task[p].life = Life::Dead;
            }
        }
    }

    /// `sched_mm_cid_exit()` of `t`, which then is `after` (an exit or
    /// the first half of an execve()) once its CPU walk, if any, is done.
    fn exit(&mut self, t: usize, after: Life) {
        let cpu = self.running_on(t).expect("exiting task runs");
        // The walk runs with the task out of the CID users already.
        if after == Life::Execing {
            self.task[t].life = Life::Execing;
        }
        match sched_mm_cid_exit_locked(&mut self.s, cpu, t, t) {
            ExitNext::Done => self.task[t].life = after,
            ExitNext::CpusToTasks => self.task[t].op = Op::ExitCpusToTasks { cpu: 0 },
        }
    }

    fn fork(&mut self, task: usize, child: usize, process: bool) {
        let cpu = self.running_on(task).expect("forking task runs");
        let c = self
            .s
            .new_task(cpu)
            .expect("fork enabled below SMALL_TASKS");
        debug_assert_eq!(c, child);
        self.task[child].process = process;
        // dup_task_struct() copies the forker's cpus_mask.
        self.task[child].allowed = self.task[task].allowed;
        if process {
            self.vforks_left -= 1;
        } else {
            self.forks_left -= 1;
        }
        let next = sched_mm_cid_fork_locked(&mut self.s, cpu, task, child);
        self.fork_next(task, child as u8, next);
    }

    /// What `sched_mm_cid_fork()` does after its first lock section, for a
    /// fork (`child` is new) or a failed execve() (`child` is `task`).
    fn fork_next(&mut self, task: usize, child: u8, next: ForkNext) {
        self.task[task].op = match next {
            ForkNext::Done => self.fork_done(task, child),
            next @ (ForkNext::FirstUserCid | ForkNext::TaskCid) => {
                Op::ForkLockedCid { child, next }
            }
            ForkNext::TasksToCpus => Op::ForkTasksToCpus { child, i: 0 },
            ForkNext::CpusToTasks => Op::ForkCpusToTasks { child, cpu: 0 },
        };
        if matches!(self.task[task].op, Op::ForkLockedCid { .. }) {
            // The common case: a CID is free, no spinning.
            if self.cid_free() {
                self.fork_cid(task);
            }
        }
    }

    fn fork_cid(&mut self, task: usize) {
        let cpu = self.running_on(task).expect("forking task runs");
        let (child, next) = match self.task[task].op {
            Op::ForkLockedCid { child, next } => (child, next),
            Op::ForkCid { child } => (child, ForkNext::CpusToTasks),
            _ => unreachable!("ForkCid outside a fork"),
        };
        let r = sched_mm_cid_fork_get_cid(&mut self.s, cpu, usize::from(child), next);
        assert!(r.is_ok(), "ForkCid enabled only when a CID is free");
        self.task[task].op = self.fork_done(task, child);
    }

    /// The end of `sched_mm_cid_fork()`: the op `task` goes on with.  In
    /// 7.3 the child is on the thread list already and is woken next; a
    /// fork-invisible fork still has to attach it.
    fn fork_done(&mut self, task: usize, child: u8) -> Op {
        if usize::from(child) != task && self.s.variant.forks_before_visible() {
            return Op::Attach { child };
        }
        self.born(child);
        Op::None
    }

    /// `wake_up_new_task()`: the child may start on any CPU.  A task back
    /// from a failed execve() just goes on running.
    fn born(&mut self, child: u8) {
        let t = &mut self.task[usize::from(child)];
        if t.life != Life::Execing {
            t.sleeping = true;
        }
        t.life = Life::Alive;
    }

    fn complete(&mut self, task: usize) {
        let mode = match self.task[task].op {
            Op::ForkTasksToCpus { .. } => MM_CID_ONCPU,
            _ => 0,
        };
        self.complete_transit(mode);
        self.task[task].op = match self.task[task].op {
            Op::ForkTasksToCpus { child, .. } => self.fork_done(task, child),
            Op::ForkCpusToTasks { child, .. } => Op::ForkCid { child },
            Op::ExitCpusToTasks { .. } => {
                // An execve() goes on running, out of the CID users.
                if self.task[task].life != Life::Execing {
                    self.task[task].life = Life::Exiting;
                }
                Op::None
            }
            _ => unreachable!("Complete outside a walk"),
        };
    }

    /// `mm_cid_complete_transit(mode)` at the end of any walk, checked.
    fn complete_transit(&mut self, mode: u32) {
        mm_cid_complete_transit(&mut self.s, mode);
        if self.check_transitions {
            self.violation = self.check_transition_finished(mode);
        }
    }

    /// Per CPU mode stuck after an affinity widening: checked only while
    /// nothing that could still switch back is in flight (no fork, exit
    /// or work holding `mm_cid::mutex`, no work queued).
    fn check_mode_stuck(&self) -> Option<Violation> {
        if self.mutex_held() || self.work_pending {
            return None;
        }
        let mc = &self.s.mm_cid;
        let thrs = invariants::mode_stuck(
            mc.mode,
            mc.users,
            mc.nr_cpus_allowed,
            mc.update_deferred,
            self.s.nr_possible_cpus,
        )?;
        Some(Violation::ModeStuck {
            users: mc.users,
            thrs,
            nr_cpus_allowed: mc.nr_cpus_allowed,
            pcpu_thrs: mc.pcpu_thrs,
        })
    }

    /// After `mm_cid_complete_transit(mode)`: in per CPU mode no task owns
    /// a CID, in per task mode no CPU does.
    fn check_transition_finished(&self, mode: u32) -> Option<Violation> {
        let n = self.s.nr_possible_cpus as usize;
        let users = (0..self.s.nr_tasks).map(|t| (self.s.tasks[t].active, self.s.tasks[t].cid));
        let held_curr = (0..n)
            .filter(|&c| {
                self.s
                    .curr(c)
                    .is_some_and(|t| self.s.tasks[t].active && cid_on_cpu(self.s.tasks[t].cid))
            })
            .fold(0u64, |m, c| m | 1 << c);
        match invariants::transition_finished(
            mode,
            users,
            &self.s.mm_cid.pcpu[..n],
            held_curr,
            u32::MAX,
        )? {
            invariants::Owner::Task(t) => Some(Violation::TransitionUnfinished {
                mode,
                task: Some(t as u8),
                cpu: self.s.tasks[t].cpu,
            }),
            invariants::Owner::Cpu(cpu) => Some(Violation::TransitionUnfinished {
                mode,
                task: None,
                cpu: cpu as u8,
            }),
            // The range is checked with the other promises, in check(),
            // and mm_cid_complete_transit() clears TRANSIT by definition.
            invariants::Owner::TaskOutOfRange(_)
            | invariants::Owner::CpuOutOfRange(_)
            | invariants::Owner::ModeInTransit => None,
            // Only cid_accounting() and counters_consistent() name these.
            invariants::Owner::Twice(_)
            | invariants::Owner::Leaked(_)
            | invariants::Owner::NotInBitmap(_)
            | invariants::Owner::MaxCids(_)
            | invariants::Owner::PcpuThrs
            | invariants::Owner::Users(_) => None,
        }
    }

    /// The promises to user space and the model's faults.
    pub fn check(&self) -> Option<Violation> {
        if let Some(f) = self.s.fault {
            return Some(Violation::Fault(f));
        }
        let mut seen: [Option<u8>; SMALL_CPUS] = [None; SMALL_CPUS];
        for t in 0..self.s.nr_tasks {
            if self.runs_free(t).is_none() {
                continue;
            }
            let st = self.s.tasks[t];
            if !st.active {
                continue;
            }
            if st.cid & MM_CID_UNSET != 0 {
                // Back in user space (no call in flight) with no CID:
                // rseq shows it task_mm_cid() = MM_CID_UNSET, which a
                // failed execve() in per CPU mode does.  With TRANSIT on
                // it, transit-unset's fault reports it.
                if self.check_unset
                    && matches!(self.task[t].op, Op::None)
                    && st.cid & MM_CID_TRANSIT == 0
                {
                    return Some(Violation::CidOutOfRange {
                        task: t as u8,
                        cid: task_mm_cid(st.cid),
                    });
                }
                continue;
            }
            let cid = task_mm_cid(st.cid);
            if cid >= self.s.nr_possible_cpus {
                return Some(Violation::CidOutOfRange { task: t as u8, cid });
            }
            if let Some(a) = seen[cid as usize] {
                return Some(Violation::DuplicateCid { a, b: t as u8, cid });
            }
            seen[cid as usize] = Some(t as u8);
        }
        None
    }

    /// The CPUs below the returned number may be renamed without changing
    /// what can happen: `mm_cid_fixup_cpus_to_tasks()` is the only code
    /// that depends on CPU numbers as an order (`for_each_possible_cpu()`),
    /// and CPUs a walk in progress has passed, or all CPUs once no walk
    /// can come ([`World::cpu_walk_ahead`]), are out of its reach.
    pub fn cpu_walk_from(&self) -> usize {
        if self.cpu_walk_ahead() {
            return 0;
        }
        if let Some(cpu) = self.work_walk {
            return usize::from(cpu);
        }
        for t in &self.task[..self.s.nr_tasks] {
            if let Op::ForkCpusToTasks { cpu, .. } | Op::ExitCpusToTasks { cpu } = t.op {
                return usize::from(cpu);
            }
        }
        self.nr_cpus()
    }

    /// Can a CPU walk start after this state (one in progress aside)?
    ///
    /// The walk comes with a switch back to per task mode, which only a
    /// user leaving (an exit, the first half of an execve()) makes: a fork
    /// would need `users + 1 < pcpu_thrs`, but `pcpu_thrs` is at most
    /// `min(nr_cpus_allowed, users)` when it is set
    /// (`mm_cid_calc_pcpu_thrs()`) and every exit that takes `users` below
    /// it switches back at once.  An affinity widening may raise
    /// `pcpu_thrs` above `users` (affinity-switchback), but only together
    /// with queueing the work that switches back: while affinity steps
    /// are left or the work is queued, a walk may come.  So in
    /// per CPU mode a walk needs `users` to drop below `pcpu_thrs` with the
    /// departures left; in per task mode it first needs a switch to per CPU
    /// mode, which needs more users than `nr_cpus_allowed`.  Both bounds
    /// only grow along a path, so once no walk can come, none can.
    pub fn cpu_walk_ahead(&self) -> bool {
        if self.affinity_left > 0 || self.work_pending {
            return true;
        }
        let mc = &self.s.mm_cid;
        let leave = u32::from(self.exits_left) + u32::from(self.execs_left);
        if leave == 0 {
            return false;
        }
        if cid_on_cpu(mc.mode) {
            return mc.users.saturating_sub(leave) < mc.pcpu_thrs;
        }
        let back = self.task[..self.s.nr_tasks]
            .iter()
            .filter(|t| t.life == Life::Execing)
            .count() as u32;
        mc.users + u32::from(self.forks_left) + u32::from(self.vforks_left) + back
            > mc.nr_cpus_allowed
    }

    /// Nothing left to happen but steady-state scheduling: no budget, no
    /// fork or exit in progress, no CPU spinning, no CID in transit.  The
    /// search does not expand such states: from here on only the fast
    /// paths of `mm_cid_schedin()` run, which the unit tests cover.
    pub fn quiescent(&self) -> bool {
        self.affinity_left == 0
            && !self.work_pending
            && self.work_walk.is_none()
            && self.forks_left == 0
            && self.vforks_left == 0
            && self.exits_left == 0
            && self.execs_left == 0
            && self.task.iter().all(|t| t.life != Life::Execing)
            && self.spinning() == 0
            && self.task.iter().all(|t| t.op == Op::None)
            && self.weak.settled(self.nr_cpus())
            && !cid_in_transit(self.s.mm_cid.mode)
            && self.s.tasks[..self.s.nr_tasks]
                .iter()
                .all(|t| !cid_in_transit(t.cid))
            && self
                .s
                .possible_cpus()
                .all(|c| !cid_in_transit(self.s.mm_cid.pcpu[c]))
    }

    /// Do the tasks' masks treat every CPU alike, now and from now on?
    /// Every task that may still switch in may do so on every possible
    /// CPU, and no `sched_setaffinity()` is left: CPU numbers then only
    /// matter through [`World::cpu_walk_from`].
    pub fn masks_symmetric(&self) -> bool {
        let all = self.s.possible as u8;
        self.affinity_left == 0
            && self.task[..self.s.nr_tasks]
                .iter()
                .all(|t| t.life == Life::Dead || t.allowed & all == all)
    }

    /// The CPUs below the returned number may be renamed: those of
    /// [`World::cpu_walk_from`] when the masks treat CPUs alike
    /// ([`World::masks_symmetric`]), none otherwise.
    pub fn cpus_renamable(&self) -> usize {
        if self.masks_symmetric() {
            self.cpu_walk_from().min(self.nr_cpus())
        } else {
            0
        }
    }

    /// Bit mask of the CPUs spinning in `mm_get_cid()`.
    pub fn spinning(&self) -> u16 {
        (0..self.nr_cpus())
            .filter(|&c| self.spin[c].is_some())
            .fold(0, |m, c| m | (1 << c))
    }
}
