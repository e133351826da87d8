// SPDX-License-Identifier: GPL-2.0

//! Symmetry reduction: states that differ only in the names of
//! interchangeable tasks and CPUs behave the same, so the search stores one
//! representative of each class, the one with the smallest encoding.
//!
//! Why renaming is sound (docs/explorer.md has the long form):
//!
//! - Tasks other than the forking one.  The mirrored C never compares two
//!   task pointers except for identity (`t != current`, `rq->curr == t`),
//!   and the one order among tasks it depends on, `mm_cid::user_list`, is
//!   part of the state and is renamed with them.  Forkers are renamed
//!   only among themselves (only they fork, the others exit), and the slots
//!   of tasks not forked yet keep theirs (a fork takes the next free
//!   slot).  The variants that walk the thread list instead of
//!   `user_list` depend on the order tasks were created: no task renaming
//!   there.
//! - CPUs.  CPU numbers reach the code as `task_cpu()`, `rq->curr` and the
//!   per CPU slot, all renamed together, and as one order:
//!   `for_each_possible_cpu()` in `mm_cid_fixup_cpus_to_tasks()`.  So CPUs
//!   may be renamed only where that walk cannot tell: CPUs it has already
//!   visited, and all of them once no CPU walk can come
//!   ([`World::cpu_walk_from`]).
//! - Not symmetric: CIDs.  `__mm_get_cid()` takes the lowest free bit and
//!   `mm_cid_converge()` compares CIDs with `max_cids`, so CID numbers are
//!   values, never renamed.  (The C's CIDs are not CPU numbers either.)
//!
//! Besides renaming, [`canonical`] forgets what the C never reads again:
//! per CPU CIDs that are not CPU owned (the code only tests their class),
//! the CPU and sleep flag of a dead task, and the allocation count, which
//! is not C state.

use crate::codec::{encode_scratch, Code};
use crate::world::{Action, Life, Op, World, ALL_CPUS};
use mmcid_model::*;

/// A renaming: task `t` becomes `task[t]`, CPU `c` becomes `cpu[c]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Perm {
    /// New name of each task.
    pub task: [u8; SMALL_TASKS],
    /// New name of each CPU.
    pub cpu: [u8; SMALL_CPUS],
}

impl Perm {
    /// No renaming.
    pub const IDENTITY: Perm = {
        let mut p = Perm {
            task: [0; SMALL_TASKS],
            cpu: [0; SMALL_CPUS],
        };
        let mut i = 0;
        while i < SMALL_TASKS {
            p.task[i] = i as u8;
            i += 1;
        }
        let mut c = 0;
        while c < SMALL_CPUS {
            p.cpu[c] = c as u8;
            c += 1;
        }
        p
    };

    /// The renaming that undoes this one.
    pub fn inverse(&self) -> Perm {
        let mut inv = Perm::IDENTITY;
        for (t, &n) in self.task.iter().enumerate() {
            inv.task[usize::from(n)] = t as u8;
        }
        for (c, &n) in self.cpu.iter().enumerate() {
            inv.cpu[usize::from(n)] = c as u8;
        }
        inv
    }

    /// `self` after `first`: a name goes through `first`, then `self`.
    pub fn after(&self, first: &Perm) -> Perm {
        let mut p = Perm::IDENTITY;
        for t in 0..SMALL_TASKS {
            p.task[t] = self.task[usize::from(first.task[t])];
        }
        for c in 0..SMALL_CPUS {
            p.cpu[c] = self.cpu[usize::from(first.cpu[c])];
        }
        p
    }

    fn t(&self, t: u8) -> u8 {
        self.task[usize::from(t)]
    }

    fn c(&self, c: u8) -> u8 {
        self.cpu[usize::from(c)]
    }

    /// The same world with tasks and CPUs renamed.
    pub fn world(&self, w: &World) -> World {
        let mut n = *w;
        let ncpu = w.nr_cpus();
        for t in 0..w.s.nr_tasks {
            let to = usize::from(self.task[t]);
            n.s.tasks[to] = w.s.tasks[t];
            n.s.tasks[to].cpu = self.c(w.s.tasks[t].cpu);
            n.task[to] = w.task[t];
            n.task[to].op = self.op(w.task[t].op);
            n.task[to].allowed = self.mask(u64::from(w.task[t].allowed)) as u8;
            n.weak.task[to] = w.weak.task[t];
        }
        for c in 0..ncpu {
            let to = usize::from(self.cpu[c]);
            n.s.mm_cid.pcpu[to] = w.s.mm_cid.pcpu[c];
            n.spin[to] = w.spin[c];
            n.weak.cpu[to] = w.weak.cpu[c];
            n.weak.rq[to] = w.weak.rq[c];
            n.s.rq_curr[to] = w.s.rq_curr[c].map(|t| self.t(t));
        }
        n.s.mm_cid.cpus_allowed = self.mask(w.s.mm_cid.cpus_allowed);
        let list = &mut n.s.mm_cid.user_list;
        while let Some(t) = list.get(0) {
            list.del(t);
        }
        for i in (0..w.s.mm_cid.user_list.len()).rev() {
            if let Some(t) = w.s.mm_cid.user_list.get(i) {
                list.add_head(usize::from(self.task[t]));
            }
        }
        n
    }

    /// A CPU mask with its CPUs renamed.
    fn mask(&self, m: u64) -> u64 {
        cpus_in(m).fold(0, |r, c| {
            r | 1 << self.cpu.get(c).copied().unwrap_or(c as u8)
        })
    }

    fn op(&self, op: Op) -> Op {
        match op {
            Op::None | Op::ExitCpusToTasks { .. } => op,
            Op::Attach { child } => Op::Attach {
                child: self.t(child),
            },
            Op::ForkLockedCid { child, next } => Op::ForkLockedCid {
                child: self.t(child),
                next,
            },
            Op::ForkTasksToCpus { child, i } => Op::ForkTasksToCpus {
                child: self.t(child),
                i,
            },
            Op::ForkCpusToTasks { child, cpu } => Op::ForkCpusToTasks {
                child: self.t(child),
                cpu,
            },
            Op::ForkCid { child } => Op::ForkCid {
                child: self.t(child),
            },
        }
    }

    /// The same action with tasks and CPUs renamed.
    pub fn action(&self, a: Action) -> Action {
        match a {
            Action::Switch {
                cpu,
                prev,
                next,
                sleep,
            } => Action::Switch {
                cpu: self.c(cpu),
                prev: prev.map(|t| self.t(t)),
                next: next.map(|t| self.t(t)),
                sleep,
            },
            Action::GotCid { cpu } => Action::GotCid { cpu: self.c(cpu) },
            // The child takes the next free slot, which no renaming moves.
            Action::Fork {
                task,
                child,
                process,
            } => Action::Fork {
                task: self.t(task),
                child,
                process,
            },
            Action::Attach { task } => Action::Attach { task: self.t(task) },
            Action::Flush { cpu, bits } => Action::Flush {
                cpu: self.c(cpu),
                bits,
            },
            Action::ForkCid { task } => Action::ForkCid { task: self.t(task) },
            Action::FixupTask { task, target } => Action::FixupTask {
                task: self.t(task),
                target: self.t(target),
            },
            // The walk position is a CPU number the walk has not passed:
            // never renamed (cpu_walk_from()).
            Action::FixupCpu { task, cpu } => Action::FixupCpu {
                task: self.t(task),
                cpu,
            },
            Action::Complete { task } => Action::Complete { task: self.t(task) },
            Action::Exit { task } => Action::Exit { task: self.t(task) },
            Action::Execve { task } => Action::Execve { task: self.t(task) },
            Action::ExecveFailed { task } => Action::ExecveFailed { task: self.t(task) },
            Action::Affinity { task, wide } => Action::Affinity {
                task: self.t(task),
                wide,
            },
            Action::Work | Action::WorkComplete => a,
            // As FixupCpu: a position the walk has not passed.
            Action::WorkFixupCpu { .. } => a,
        }
    }
}

/// Forget what the C never reads again (see the module comment).
fn normalise(w: &World) -> World {
    let mut n = *w;
    n.s.cid_allocs = 0;
    for c in 0..n.nr_cpus() {
        let p = n.s.mm_cid.pcpu[c];
        if !cid_on_cpu(p) && p & MM_CID_UNSET == 0 {
            n.s.mm_cid.pcpu[c] = p & MM_CID_TRANSIT;
        }
    }
    forget_dead(&mut n);
    let (ncpu, ntasks) = (n.nr_cpus(), n.s.nr_tasks);
    n.weak.normalise(ncpu, ntasks);
    n
}

/// A dead task's CPU, sleep flag and mask are never read again: CPU 0,
/// awake, every CPU, before renaming (for its key) and after (renaming
/// moves CPU 0).
fn forget_dead(w: &mut World) {
    for t in 0..w.s.nr_tasks {
        if w.task[t].life == Life::Dead {
            w.s.tasks[t].cpu = 0;
            w.task[t].sleeping = false;
            w.task[t].allowed = ALL_CPUS;
        }
    }
}

/// What each task is, without its name and its CPU (the low byte, which
/// the caller fills in once CPUs are renamed): tasks with equal keys and
/// CPUs are equal in every encoded field.
fn task_keys(w: &World) -> [u64; SMALL_TASKS] {
    let mut pos = [0xffu64; SMALL_TASKS];
    for (i, t) in w.s.mm_cid.user_list.iter().enumerate() {
        pos[t] = i as u64;
    }
    let child = w.task[..w.s.nr_tasks].iter().find_map(|t| op_child(t.op));
    let mut keys = [0u64; SMALL_TASKS];
    for (t, key) in keys.iter_mut().enumerate().take(w.s.nr_tasks) {
        let st = w.s.tasks[t];
        let ts = w.task[t];
        let op = match ts.op {
            Op::None => 0,
            Op::ForkLockedCid { next, .. } => 1 << 8 | next as u64,
            Op::ForkTasksToCpus { i, .. } => 2 << 8 | u64::from(i),
            Op::ForkCpusToTasks { cpu, .. } => 3 << 8 | u64::from(cpu),
            Op::ForkCid { .. } => 4 << 8,
            Op::ExitCpusToTasks { cpu } => 5 << 8 | u64::from(cpu),
            Op::Attach { .. } => 6 << 8,
        };
        let running = w.running_on(t).is_some();
        // The weak memory views and the affinity masks never come
        // together (Config::validate()): they share bits 16 to 31.
        let views = if w.masks.is_some() {
            u64::from(ts.allowed) << 16
        } else {
            u64::from(w.weak.task[t][1]) << 24 | u64::from(w.weak.task[t][0]) << 16
        };
        *key = pos[t] << 56
            | (ts.life as u64) << 53
            | u64::from(ts.sleeping) << 52
            | u64::from(running) << 51
            | u64::from(child == Some(t as u8)) << 50
            | u64::from(st.active) << 49
            | u64::from(ts.process) << 48
            | op << 36
            | u64::from(st.cid >> 29) << 32
            | views
            | u64::from(task_mm_cid(st.cid) & 0xff) << 8;
    }
    keys
}

fn op_child(op: Op) -> Option<u8> {
    match op {
        Op::None | Op::ExitCpusToTasks { .. } => None,
        Op::Attach { child }
        | Op::ForkLockedCid { child, .. }
        | Op::ForkTasksToCpus { child, .. }
        | Op::ForkCpusToTasks { child, .. }
        | Op::ForkCid { child } => Some(child),
    }
}

/// What a CPU is, without its name: its per CPU CID, whether it spins,
/// and what its current task is.
fn cpu_key(w: &World, keys: &[u64; SMALL_TASKS], c: usize) -> u128 {
    let spin = match w.spin[c] {
        None => 0,
        Some(Spin::FromCpu { mode }) => 4 | (mode >> 29),
        Some(Spin::FromTask { mode }) => 8 | (mode >> 29),
    };
    let curr = w.s.curr(c).map_or(0, |t| keys[t] | 1);
    u128::from(w.s.mm_cid.pcpu[c]) << 96
        | u128::from(w.weak.cpu[c][0]) << 91
        | u128::from(w.weak.cpu[c][1]) << 86
        | u128::from(w.weak.rq[c][0]) << 81
        | u128::from(w.weak.rq[c][1]) << 76
        | u128::from(spin) << 64
        | u128::from(curr)
}

/// Most CPU orders [`canonical`] tries when CPUs tie; past that it keeps
/// the best so far, which is still sound, only less reduced.
const MAX_CPU_ORDERS: usize = 64;

/// The representative of a class of states.
#[derive(Clone, Copy)]
pub struct Canon {
    /// The representative.
    pub world: World,
    /// The renaming that maps the state to it.
    pub perm: Perm,
    /// Its encoding.
    pub code: Code,
}

/// The representative of `w`'s class, the one with the smallest encoding
/// among the renamings allowed in `w`.
pub fn canonical(w: &World) -> Canon {
    let n = normalise(w);
    let tkeys = task_keys(&n);
    let movable = n.cpus_renamable();
    let mut keys = [0u128; SMALL_CPUS];
    let mut order = [0u8; SMALL_CPUS];
    for c in 0..movable {
        keys[c] = cpu_key(&n, &tkeys, c);
        order[c] = c as u8;
    }
    let order = &mut order[..movable];
    order.sort_unstable_by_key(|&c| keys[usize::from(c)]);
    let mut best: Option<Canon> = None;
    let mut tries = 0;
    for_each_tie_order(order, &keys, 0, &mut |order| {
        tries += 1;
        if tries > MAX_CPU_ORDERS {
            return;
        }
        let mut p = Perm::IDENTITY;
        for (to, &from) in order.iter().enumerate() {
            p.cpu[usize::from(from)] = to as u8;
        }
        rename_tasks(&n, &tkeys, &mut p);
        let mut r = if p == Perm::IDENTITY { n } else { p.world(&n) };
        forget_dead(&mut r);
        let code = encode_scratch(&mut r);
        if best
            .as_ref()
            .map_or(true, |b| code.as_bytes() < b.code.as_bytes())
        {
            best = Some(Canon {
                world: r,
                perm: p,
                code,
            });
        }
    });
    best.expect("at least one CPU order")
}

/// Sort the tasks that may be renamed by their keys under the CPU renaming
/// already in `p`.
///
/// Forkers are renamed among themselves, the other tasks among
/// themselves.  The variants that walk the thread list keep every task
/// name: that walk goes in the order tasks were created.
fn rename_tasks(n: &World, keys: &[u64; SMALL_TASKS], p: &mut Perm) {
    if n.s.variant.walks_thread_list() {
        return;
    }
    let forkers = usize::from(n.forkers).min(n.s.nr_tasks);
    for range in [0..forkers, forkers..n.s.nr_tasks] {
        let mut tasks = [(0u64, 0u8); SMALL_TASKS];
        let mut k = 0;
        for t in range.clone() {
            tasks[k] = (keys[t] | u64::from(p.c(n.s.tasks[t].cpu)), t as u8);
            k += 1;
        }
        tasks[..k].sort_unstable();
        for (slot, &(_, t)) in range.zip(&tasks[..k]) {
            p.task[usize::from(t)] = slot as u8;
        }
    }
}

/// Call `f` with every order of `order` that keeps it sorted by `keys`
/// (permutations within runs of equal keys), starting at `from`.
fn for_each_tie_order(order: &mut [u8], keys: &[u128], from: usize, f: &mut impl FnMut(&[u8])) {
    let tie = |i: usize| keys[usize::from(order[i])] == keys[usize::from(order[i + 1])];
    if from == 0 && !(0..order.len().saturating_sub(1)).any(tie) {
        // The common case: one order.
        f(order);
        return;
    }
    if from >= order.len() {
        f(order);
        return;
    }
    let k = keys[usize::from(order[from])];
    let end = (from..order.len())
        .find(|&i| keys[usize::from(order[i])] != k)
        .unwrap_or(order.len());
    permute(order, from, end, &mut |o| {
        for_each_tie_order(o, keys, end, f)
    });
}

/// Heap's algorithm over `order[lo..hi]`.
fn permute(order: &mut [u8], lo: usize, hi: usize, f: &mut impl FnMut(&mut [u8])) {
    fn rec(order: &mut [u8], lo: usize, k: usize, f: &mut impl FnMut(&mut [u8])) {
        if k <= 1 {
            f(order);
            return;
        }
        for i in 0..k - 1 {
            rec(order, lo, k - 1, f);
            let j = if k % 2 == 0 { lo + i } else { lo };
            order.swap(j, lo + k - 1);
        }
        rec(order, lo, k - 1, f);
    }
    rec(order, lo, hi - lo, f);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Config, Scenario};
    use crate::search::{explore, reachable};
    use std::collections::HashSet;

    /// Three CPUs, a fork that switches to per CPU mode and an exit.
    fn small() -> Config {
        Config {
            exits: 1,
            switches: 4,
            ..Config::new(Variant::V7_3).scenario(Scenario::BpfCi, 3)
        }
    }

    /// Four CPUs in per CPU mode, an exit that switches back (a CPU walk),
    /// a fork and a failed execve().  A clean search to count its
    /// states: the MM_CID_UNSET a failed execve() shows user space in per
    /// CPU mode is left out.
    fn back() -> Config {
        Config {
            check_unset: false,
            forks: 1,
            execs: 1,
            switches: 3,
            ..Config::new(Variant::V7_3).scenario(Scenario::CpuToTask, 4)
        }
    }

    /// Two forkers, one of which may vfork().
    fn forkers() -> Config {
        Config {
            forkers: 2,
            vforks: 1,
            switches: 3,
            ..Config::new(Variant::V7_3).scenario(Scenario::BpfCi, 3)
        }
    }

    /// Weak memory, the mode in two fields.
    fn weak() -> Config {
        Config {
            weak: true,
            switches: 2,
            ..Config::new(Variant::SplitMode).scenario(Scenario::BpfCi, 3)
        }
    }

    /// Affinity steps on two threads, the deferred work and its walk,
    /// an exit.
    fn affinity() -> Config {
        Config {
            forks: 2,
            exits: 1,
            switches: 3,
            ..Config::new(Variant::AffinitySwitchback).scenario(Scenario::Affinity, 6)
        }
    }

    /// The states of all five.
    fn states() -> Vec<World> {
        let mut all = reachable(&small());
        all.extend(reachable(&back()));
        all.extend(reachable(&forkers()));
        all.extend(reachable(&weak()));
        all.extend(reachable(&affinity()));
        all
    }

    /// A renaming `w` allows, drawn from `seed`: tasks other than the
    /// forker, CPUs below `cpus_renamable()`.
    fn allowed(w: &World, mut seed: u64) -> Perm {
        let mut next = |n: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize % n
        };
        let mut p = Perm::IDENTITY;
        let f = usize::from(w.forkers).min(w.s.nr_tasks);
        for range in [0..f, f..w.s.nr_tasks] {
            let movable: Vec<usize> = range.collect();
            for i in (1..movable.len()).rev() {
                p.task.swap(movable[i], movable[next(i + 1)]);
            }
        }
        let m = w.cpus_renamable();
        for i in (1..m).rev() {
            p.cpu.swap(i, next(i + 1));
        }
        p
    }

    fn code(w: &World) -> Vec<u8> {
        canonical(w).code.as_bytes().to_vec()
    }

    #[test]
    fn a_state_and_its_permuted_twin_hash_alike() {
        let mut renamed = 0;
        for (i, w) in states().iter().enumerate() {
            let p = allowed(w, i as u64);
            let twin = p.world(w);
            renamed += usize::from(twin != *w);
            assert_eq!(
                canonical(&twin).code.fingerprint(),
                canonical(w).code.fingerprint(),
                "{:?}\n{:?}",
                w,
                p
            );
        }
        assert!(renamed > 1000, "{} states renamed", renamed);
    }

    #[test]
    fn the_forker_keeps_its_name() {
        // T0 and T1 swapped: T0 would be a thread that cannot fork.
        let w = Config::new(Variant::V7_3).initial();
        let mut p = Perm::IDENTITY;
        p.task.swap(0, 1);
        assert_ne!(p.world(&w), w);
        assert_ne!(code(&p.world(&w)), code(&w));
    }

    #[test]
    fn cpus_ahead_of_a_cpu_walk_keep_their_names() {
        // for_each_possible_cpu() visits them in order: swapping two that
        // the walk has yet to visit changes what can happen.
        let states = reachable(&Config { execs: 0, ..back() });
        let w = states
            .iter()
            .find(|w| {
                w.task
                    .iter()
                    .any(|t| t.op == Op::ExitCpusToTasks { cpu: 1 })
                    && w.s.mm_cid.pcpu[1] != w.s.mm_cid.pcpu[2]
            })
            .expect("an exit walk at CPU1");
        assert_eq!(w.cpu_walk_from(), 1);
        let mut p = Perm::IDENTITY;
        p.cpu.swap(1, 2);
        assert_ne!(code(&p.world(w)), code(w));
    }

    #[test]
    fn renamings_commute_with_every_step() {
        let mut acts = Vec::new();
        let succ = |w: &World, acts: &mut Vec<Action>| -> HashSet<Vec<u8>> {
            w.actions(acts);
            acts.iter()
                .map(|&a| {
                    let mut n = *w;
                    n.step(a);
                    code(&n)
                })
                .collect()
        };
        for (i, w) in states().iter().enumerate().step_by(7) {
            let p = allowed(w, i as u64 ^ 0x5555);
            assert_eq!(succ(&p.world(w), &mut acts), succ(w, &mut acts), "{:?}", p);
        }
    }

    #[test]
    fn cpu_walks_only_visit_cpus_that_keep_their_names() {
        let mut acts = Vec::new();
        let mut walks = 0;
        for w in states() {
            let m = w.cpu_walk_from();
            w.actions(&mut acts);
            for &a in &acts {
                if let Action::FixupCpu { cpu, .. } | Action::WorkFixupCpu { cpu } = a {
                    assert!(usize::from(cpu) >= m, "{:?} with {} movable", a, m);
                    walks += 1;
                }
                let mut n = w;
                n.step(a);
                assert!(n.cpu_walk_from() >= m.min(n.nr_cpus()), "{:?}", a);
            }
        }
        assert!(walks > 100, "{} walk steps", walks);
    }

    #[test]
    fn the_search_stores_one_state_a_class() {
        for cfg in [small(), back(), forkers(), affinity()] {
            let all = reachable(&cfg);
            let classes: HashSet<Vec<u8>> = all.iter().map(code).collect();
            let r = explore(&cfg, |_| {});
            assert_eq!(r.finding, crate::search::Finding::Clean);
            assert_eq!(r.states, classes.len());
            assert!(all.len() > classes.len(), "{}", all.len());
        }
    }
}
