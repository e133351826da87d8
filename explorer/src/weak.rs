// SPDX-License-Identifier: GPL-2.0

//! Weak memory for `mm_cid::mode`: which of its stores each CPU has seen.
//!
//! Everything else the mirrored code shares is read and written under a
//! runqueue lock, `mm_cid::lock` or `mm_cid::mutex`, or with fully ordered
//! atomics (`test_and_set_bit()`), so it is sequentially consistent to the
//! code.  The mode is not: the forking or exiting task stores it under
//! `mm_cid::lock`, and `mm_cid_schedin()` / `mm_cid_schedout()` read it
//! under their own runqueue lock.  So each CPU sees some prefix of the
//! stores, and learns more when
//!
//! - it stored the value itself;
//! - it takes a lock whose last holder had seen more: a runqueue lock the
//!   walker released (`task_rq_lock()` of a task, `rq_lock` of a CPU), its
//!   own runqueue lock that another CPU released, or a task handed over by
//!   a CPU or a walker that had seen more (wakeup takes `p->pi_lock` and
//!   waits for `p->on_cpu`, migration takes the old runqueue lock);
//! - the store simply arrives ([`Weak::flush`], the explorer's
//!   [`crate::world::Action::Flush`]), at any time.
//!
//! The mode is a sequence of stores (`gen` of them, `hist[g]` the bits
//! after store `g`); a view is the store each field was last seen at.  In
//! 7.3 the mode is one word, so both fields travel together; split-mode
//! (before 47ee94efccf6) keeps ONCPU and TRANSIT in two fields, which a CPU
//! can see change in either order.  The `smp_mb()` calls of 7.3 need no
//! model here: every path by which a reader meets the walker's work goes
//! through one of the locks above, whose release already orders the store.

use mmcid_model::{SMALL_CPUS, SMALL_TASKS};

/// The two bits of `mm_cid::mode` that matter: TRANSIT 1, ONCPU 2.
const fn mode_bits(mode: u32) -> u8 {
    ((mode >> 29) & 3) as u8
}

/// The mode word of [`mode_bits()`].
const fn bits_mode(bits: u8) -> u32 {
    (bits as u32) << 29
}

/// Most stores to the mode one search follows (two a mode switch).
pub const MAX_STORES: usize = 32;

/// A view: for the TRANSIT field and the ONCPU field, the store last seen.
pub type View = [u8; 2];

/// Who has seen which store to the mode.
///
/// # Invariants
///
/// Every view is at most `gen`, and `hist[..=gen]` holds the bits after
/// each store.  With `on` false nothing changes and every view is 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Weak {
    /// Weak memory is modelled at all.
    pub on: bool,
    /// The mode is one word (7.3): its fields are seen together.
    pub one_word: bool,
    /// Stores so far.
    pub gen: u8,
    /// `mode_bits()` after each store; `hist[0]` is the initial mode.
    pub hist: [u8; MAX_STORES],
    /// What each CPU sees.
    pub cpu: [View; SMALL_CPUS],
    /// What the last holder of each runqueue lock had seen.
    pub rq: [View; SMALL_CPUS],
    /// What the last CPU or walker that handed each task on had seen.
    pub task: [View; SMALL_TASKS],
}

fn join(a: &mut View, b: View) {
    a[0] = a[0].max(b[0]);
    a[1] = a[1].max(b[1]);
}

impl Weak {
    /// Sequential consistency: the views never lag.
    pub const OFF: Weak = Weak {
        on: false,
        one_word: true,
        gen: 0,
        hist: [0; MAX_STORES],
        cpu: [[0; 2]; SMALL_CPUS],
        rq: [[0; 2]; SMALL_CPUS],
        task: [[0; 2]; SMALL_TASKS],
    };

    /// Weak memory from a mode everybody has seen.
    pub fn new(on: bool, one_word: bool, mode: u32) -> Self {
        let mut w = Self::OFF;
        w.on = on;
        w.one_word = one_word;
        w.hist[0] = mode_bits(mode);
        w
    }

    fn latest(&self) -> View {
        [self.gen, self.gen]
    }

    /// `cpu` stores `mode`; it sees its own store at once.
    pub fn store(&mut self, cpu: usize, mode: u32) {
        if !self.on {
            return;
        }
        assert!(
            usize::from(self.gen) + 1 < MAX_STORES,
            "weak: more than {} stores to the mode",
            MAX_STORES - 1
        );
        self.gen += 1;
        self.hist[usize::from(self.gen)] = mode_bits(mode);
        self.cpu[cpu] = self.latest();
    }

    /// The walker, which has seen all stores (it made them, holding
    /// `mm_cid::mutex`), releases `rq`'s lock, and `task`'s `pi_lock`
    /// after `task_rq_lock()`.
    pub fn walker_release(&mut self, rq: usize, task: Option<usize>) {
        if !self.on {
            return;
        }
        let l = self.latest();
        join(&mut self.rq[rq], l);
        if let Some(t) = task {
            join(&mut self.task[t], l);
        }
    }

    /// `__schedule()` on `cpu` takes its runqueue lock and picks `next`,
    /// coming from runqueue `from` (its wakeup or migration).
    pub fn switch_in(&mut self, cpu: usize, next: Option<(usize, usize)>) {
        if !self.on {
            return;
        }
        let mut v = self.cpu[cpu];
        join(&mut v, self.rq[cpu]);
        if let Some((t, from)) = next {
            join(&mut v, self.task[t]);
            join(&mut v, self.rq[from]);
        }
        self.cpu[cpu] = v;
    }

    /// The switch on `cpu` ends: `prev` leaves the CPU and the runqueue
    /// lock is released, both carrying what the CPU has seen.
    pub fn switch_out(&mut self, cpu: usize, prev: Option<usize>) {
        if !self.on {
            return;
        }
        let v = self.cpu[cpu];
        join(&mut self.rq[cpu], v);
        if let Some(p) = prev {
            join(&mut self.task[p], v);
        }
    }

    /// The mode as `cpu` sees it.
    pub fn seen(&self, cpu: usize, mode: u32) -> u32 {
        if !self.on {
            return mode;
        }
        let [t, o] = self.cpu[cpu];
        bits_mode((self.hist[usize::from(t)] & 1) | (self.hist[usize::from(o)] & 2))
    }

    /// The fields (TRANSIT 1, ONCPU 2) whose latest store `cpu` has not
    /// seen.
    pub fn stale(&self, cpu: usize) -> u8 {
        if !self.on {
            return 0;
        }
        let [t, o] = self.cpu[cpu];
        u8::from(t < self.gen) | u8::from(o < self.gen) << 1
    }

    /// The latest store to the fields `bits` reaches `cpu`.
    pub fn flush(&mut self, cpu: usize, bits: u8) {
        for (f, bit) in [(0, 1), (1, 2)] {
            if bits & bit != 0 {
                self.cpu[cpu][f] = self.gen;
            }
        }
    }

    /// Forget what cannot matter, for the representative of a state: a
    /// lock's or task's view at or below what every CPU has seen teaches
    /// nobody anything (a join takes the maximum), so it becomes that
    /// minimum; and stores older than everything anybody still sees are
    /// dropped, the rest renumbered from 0.  Both keep every `seen()`,
    /// `stale()` and future join as they were.
    pub fn normalise(&mut self, ncpu: usize, ntasks: usize) {
        if !self.on {
            return;
        }
        let mut min = [self.gen; 2];
        for v in &self.cpu[..ncpu] {
            min = [min[0].min(v[0]), min[1].min(v[1])];
        }
        for v in self.rq[..ncpu]
            .iter_mut()
            .chain(self.task[..ntasks].iter_mut())
        {
            *v = [v[0].max(min[0]), v[1].max(min[1])];
        }
        let base = min[0].min(min[1]);
        if base == 0 {
            return;
        }
        let views = self.cpu[..ncpu]
            .iter_mut()
            .chain(self.rq[..ncpu].iter_mut())
            .chain(self.task[..ntasks].iter_mut());
        for v in views {
            *v = [v[0] - base, v[1] - base];
        }
        let (b, g) = (usize::from(base), usize::from(self.gen));
        self.hist.copy_within(b..=g, 0);
        self.hist[g - b + 1..].fill(0);
        self.gen -= base;
    }

    /// Every CPU of `0..ncpu` has seen every store.
    pub fn settled(&self, ncpu: usize) -> bool {
        (0..ncpu).all(|c| self.stale(c) == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmcid_model::{MM_CID_ONCPU, MM_CID_TRANSIT};

    const FLIP: u32 = MM_CID_ONCPU | MM_CID_TRANSIT;

    #[test]
    fn a_store_is_seen_by_its_cpu_and_nobody_else() {
        let mut w = Weak::new(true, true, 0);
        w.store(0, FLIP);
        assert_eq!(w.seen(0, FLIP), FLIP);
        assert_eq!(w.seen(1, FLIP), 0);
        assert_eq!(w.stale(1), 3);
        assert!(!w.settled(2));
    }

    #[test]
    fn the_walkers_runqueue_lock_carries_the_store() {
        let mut w = Weak::new(true, true, 0);
        w.store(0, FLIP);
        w.walker_release(1, Some(5));
        // CPU1's next switch takes rq1; CPU2 picking T5 meets its pi_lock.
        w.switch_in(1, None);
        w.switch_in(2, Some((5, 3)));
        assert_eq!((w.seen(1, FLIP), w.seen(2, FLIP)), (FLIP, FLIP));
        // CPU3 learned nothing.
        w.switch_in(3, None);
        assert_eq!(w.seen(3, FLIP), 0);
    }

    #[test]
    fn a_task_carries_what_its_last_cpu_saw() {
        let mut w = Weak::new(true, true, 0);
        w.store(0, FLIP);
        w.switch_out(0, Some(4));
        w.switch_in(2, Some((4, 0)));
        assert_eq!(w.seen(2, FLIP), FLIP);
    }

    #[test]
    fn one_word_arrives_whole_two_fields_in_either_order() {
        let mut one = Weak::new(true, true, 0);
        one.store(0, FLIP);
        one.flush(1, 3);
        assert_eq!(one.seen(1, FLIP), FLIP);
        let mut split = Weak::new(true, false, 0);
        split.store(0, FLIP);
        split.flush(1, 2);
        // ONCPU without TRANSIT: a mode no store ever wrote.
        assert_eq!(split.seen(1, FLIP), MM_CID_ONCPU);
        assert_eq!(split.stale(1), 1);
    }

    #[test]
    fn views_never_go_back() {
        let mut w = Weak::new(true, true, 0);
        w.store(0, FLIP);
        w.flush(1, 3);
        w.store(0, MM_CID_ONCPU);
        // rq1 was last released by CPU1 before the second store.
        w.switch_out(1, None);
        w.switch_in(1, None);
        assert_eq!(w.seen(1, MM_CID_ONCPU), FLIP);
    }

    #[test]
    fn normalising_forgets_only_what_nobody_can_learn() {
        let mut w = Weak::new(true, false, 0);
        w.store(0, FLIP);
        w.store(0, MM_CID_ONCPU);
        w.flush(1, 3);
        w.walker_release(0, Some(1));
        w.rq[1] = [0, 1];
        let mut n = w;
        n.normalise(2, 2);
        // Both CPUs have seen store 2: the stores before it go, and rq1's
        // older view rises to what every CPU has seen.
        assert_eq!(
            (n.gen, n.cpu[..2].to_vec(), n.rq[1], n.task[1]),
            (0, vec![[0, 0]; 2], [0, 0], [0, 0])
        );
        for c in 0..2 {
            assert_eq!(n.seen(c, MM_CID_ONCPU), w.seen(c, MM_CID_ONCPU));
            assert_eq!(n.stale(c), w.stale(c));
        }
    }

    #[test]
    fn off_is_sequentially_consistent() {
        let mut w = Weak::new(false, false, 0);
        w.store(0, FLIP);
        assert_eq!((w.seen(3, FLIP), w.stale(3)), (FLIP, 0));
        assert_eq!(w, Weak::new(false, false, 0));
    }
}
