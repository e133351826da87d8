// SPDX-License-Identifier: GPL-2.0

//! Configurations to explore and the initial states they start from.  The
//! initial state is built by running the model's own fork, exit and
//! schedule-in functions, never written by hand, so it is reachable.

use crate::world::{Life, TaskState, World};
use mmcid_model::*;

/// Where exploration starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// Per task mode: `tasks` tasks, task i running on CPU i.
    TaskMode,
    /// Steady per CPU mode with the fewest users that keep it: forked past
    /// max_cids on every CPU, then exited down to `pcpu_thrs` users.
    CpuMode,
    /// T0 alone, started under `taskset` with the narrow mask, running
    /// on CPU0: `mm_cpus_allowed()` is that mask.
    Pinned,
}

/// What to explore.  [`Config::new`] gives the defaults; the builder methods
/// and [`Config::from_env`] override them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Model variant.
    pub variant: Variant,
    /// Possible CPUs.
    pub cpus: u32,
    /// Tasks at the start (task mode start only).
    pub tasks: u32,
    /// Forks of threads the forkers may do.
    pub forks: u8,
    /// Forks of processes sharing the mm (vfork()) the forkers may do.
    pub vforks: u8,
    /// Tasks T0.. that fork; the others may exit.
    pub forkers: u8,
    /// Exits the other tasks may do.
    pub exits: u8,
    /// Failing execve() calls any task may do.
    pub execs: u8,
    /// Initial state.
    pub start: Start,
    /// Context switches allowed (the bound of the search); 255 for none.
    pub switches: u8,
    /// May the task running a fixup walk be preempted (the C allows it)?
    pub preempt_walkers: bool,
    /// Report a CID left with the wrong owner by a completed transition.
    pub check_transitions: bool,
    /// Report a task back in user space without a CID, which rseq shows
    /// `MM_CID_UNSET` ([`crate::world::World::check_unset`]).
    pub check_unset: bool,
    /// Weak memory: stores to `mm_cid::mode` reach other CPUs late.
    pub weak: bool,
    /// `sched_setaffinity()` calls on the non-forkers.
    pub affinity: u8,
    /// The narrow and the wide mask those calls set (CPU c at bit c);
    /// `None`: every task may run on every CPU, always.
    pub masks: Option<[u8; 2]>,
    /// Give up after this many states.
    pub max_states: usize,
    /// Threads that expand states ([`crate::search::explore`]); any count
    /// gives the same result.
    pub threads: usize,
}

/// Named configurations.  Their command line names are the kebab-case
/// of the variant names (`bpf-ci`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// The fix's changelog: T0 and N-1 threads on N CPUs, T0 forks the
    /// N+1-th user, which switches to per CPU mode.
    BpfCi,
    /// bpf-ci with the forking task never preempted during
    /// its fixup walk, as the changelog tells the story.
    Changelog,
    /// The way back: per CPU mode on N CPUs, one exit drops the users
    /// below the threshold and switches to per task mode.
    CpuToTask,
    /// An affinity widening (docs/affinity.md): T0, pinned to CPU0, forks
    /// T1 (per CPU mode: 2 users, 1 allowed CPU), then T1's mask is
    /// widened to CPUs 0-2 and narrowed back, on 6 possible CPUs by
    /// default.
    Affinity,
}

impl Scenario {
    /// Every scenario, in the order the help lists them.
    pub const ALL: [Scenario; 4] = [
        Scenario::BpfCi,
        Scenario::Changelog,
        Scenario::CpuToTask,
        Scenario::Affinity,
    ];

    /// The possible CPUs the scenario is about.  Affinity needs 6: per
    /// CPU mode under a narrow mask needs users > nr_cpus_allowed, and
    /// the threshold of the wide mask, at most num_possible_cpus() / 2,
    /// must exceed users.
    pub const fn default_cpus(self) -> u32 {
        match self {
            Scenario::Affinity => 6,
            _ => 4,
        }
    }
}

impl Config {
    /// The BPF CI configuration on 4 CPUs.
    pub const fn new(variant: Variant) -> Self {
        Self {
            variant,
            cpus: 4,
            tasks: 4,
            forks: 1,
            vforks: 0,
            forkers: 1,
            exits: 0,
            execs: 0,
            start: Start::TaskMode,
            switches: 6,
            preempt_walkers: true,
            check_transitions: true,
            check_unset: true,
            weak: false,
            affinity: 0,
            masks: None,
            max_states: 50_000_000,
            threads: 1,
        }
    }

    /// Apply a named scenario on `cpus` CPUs.
    pub const fn scenario(mut self, sc: Scenario, cpus: u32) -> Self {
        self.cpus = cpus;
        match sc {
            Scenario::BpfCi | Scenario::Changelog => {
                self.tasks = cpus;
                self.forks = 1;
                self.exits = 0;
                self.start = Start::TaskMode;
                self.preempt_walkers = matches!(sc, Scenario::BpfCi);
            }
            Scenario::CpuToTask => {
                self.forks = 0;
                self.exits = 1;
                self.start = Start::CpuMode;
            }
            Scenario::Affinity => {
                self.tasks = 1;
                self.forks = 1;
                self.exits = 0;
                self.start = Start::Pinned;
                self.affinity = 2;
                self.masks = Some([0b1, 0b111]);
            }
        }
        self
    }

    /// The same configuration without the switch bound.
    pub fn unbounded(mut self) -> Self {
        self.switches = crate::world::UNBOUNDED;
        self
    }

    /// `MMCID_EXPLORER_MAX_STATES` overrides the state bound.
    pub fn from_env(mut self) -> Self {
        if let Some(n) = std::env::var("MMCID_EXPLORER_MAX_STATES")
            .ok()
            .and_then(|v| v.parse().ok())
        {
            self.max_states = n;
        }
        self
    }

    /// Check the sizes against the model's fixed arrays.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=SMALL_CPUS as u32).contains(&self.cpus) {
            return Err(format!("--cpus must be 1..={}", SMALL_CPUS));
        }
        if !(1..=SMALL_TASKS as u32).contains(&self.tasks) {
            return Err(format!("--tasks must be 1..={}", SMALL_TASKS));
        }
        if self.tasks as usize + usize::from(self.forks) + usize::from(self.vforks) > SMALL_TASKS {
            return Err(format!(
                "--tasks plus --forks plus --vforks must be at most {}",
                SMALL_TASKS
            ));
        }
        if self.forkers == 0 || u32::from(self.forkers) > self.tasks {
            return Err(format!("--forkers must be 1..={} (--tasks)", self.tasks));
        }
        if self.start == Start::CpuMode && self.cpus < 2 {
            return Err("per CPU mode needs at least 2 CPUs".into());
        }
        if self.start == Start::Pinned && self.tasks != 1 {
            return Err("a pinned start has T0 alone (--tasks 1)".into());
        }
        if self.affinity > 0 && self.masks.is_none() {
            return Err("--affinity needs masks: --scenario affinity".into());
        }
        if let Some(masks) = self.masks {
            let possible = (1u16 << self.cpus) - 1;
            if masks
                .iter()
                .any(|&m| m == 0 || u16::from(m) & !possible != 0)
            {
                return Err(format!(
                    "affinity masks must be within the {} CPUs",
                    self.cpus
                ));
            }
            if masks[0] & 1 == 0 {
                return Err("the narrow mask must have CPU0, where T0 runs".into());
            }
            if self.weak {
                return Err("weak memory with affinity steps is not modelled".into());
            }
        }
        Ok(())
    }

    /// The initial state.
    pub fn initial(&self) -> World {
        let mut w = World {
            // T0 execs: the first user of a fresh mm, running on CPU0.
            s: Sched::forked_by_t0(self.variant, self.cpus, 1).expect("first user gets CID 0"),
            spin: [None; SMALL_CPUS],
            task: [TaskState::UNBORN; SMALL_TASKS],
            forkers: self.forkers,
            forks_left: self.forks,
            vforks_left: self.vforks,
            exits_left: self.exits,
            execs_left: self.execs,
            switches_left: self.switches,
            preempt_walkers: self.preempt_walkers,
            check_transitions: self.check_transitions,
            check_unset: self.check_unset,
            weak: crate::weak::Weak::OFF,
            masks: self.masks,
            affinity_left: if self.masks.is_some() {
                self.affinity
            } else {
                0
            },
            work_pending: false,
            work_walk: None,
            violation: None,
        };
        if self.start == Start::Pinned {
            let narrow = self.masks.map_or(crate::world::ALL_CPUS, |m| m[0]);
            w.s = Sched::pinned_t0(self.variant, self.cpus, u64::from(narrow))
                .expect("T0 runs on CPU0 of its mask");
            w.task[0].allowed = narrow;
        }
        let s = &mut w.s;
        let ncpu = self.cpus as usize;
        // T0 forks the others on CPU0.
        let setup_fork = |s: &mut Sched| s.fork_by_t0().expect("setup fork finds a CID");
        match self.start {
            Start::Pinned => {}
            Start::TaskMode => {
                for _ in 1..self.tasks {
                    setup_fork(s);
                }
            }
            Start::CpuMode => {
                while !cid_on_cpu(s.mm_cid.mode) {
                    setup_fork(s);
                }
                // Exit from the newest down to the threshold.
                let mut t = s.nr_tasks;
                while s.mm_cid.users > s.mm_cid.pcpu_thrs {
                    t -= 1;
                    let cpu = t % ncpu;
                    let back = s.curr(cpu);
                    s.switch_in(cpu, t).expect(SETUP_SWITCH);
                    sched_mm_cid_exit(s, cpu, t, t);
                    s.set_curr(cpu, None);
                    // The exited task's own CPU goes to another mm.
                    if let Some(b) = back.filter(|&b| b != t) {
                        s.switch_in(cpu, b).expect(SETUP_SWITCH);
                    }
                    w.task[t].life = Life::Dead;
                }
            }
        }
        for t in 0..w.s.nr_tasks {
            if w.task[t].life == Life::Unborn {
                w.task[t].life = Life::Alive;
                w.task[t].sleeping = w.running_on(t).is_none();
            }
        }
        w.weak =
            crate::weak::Weak::new(self.weak, self.variant.mode_in_one_word(), w.s.mm_cid.mode);
        w
    }
}

/// Why a setup schedule-in cannot spin: a CID is free for each task.
const SETUP_SWITCH: &str = "setup schedule-in finds a CID";
