// SPDX-License-Identifier: GPL-2.0

//! Exhaustive breadth-first search over a configuration's reachable states,
//! and a seeded random walk for configurations too big to exhaust.
//!
//! Safety violations stop the search at once; breadth-first order makes
//! the trace a shortest one.  Live locks need the whole graph: a CPU that
//! spins in `mm_get_cid()` is live locked in a state from which no
//! reachable state has it done spinning.

use crate::scenario::Config;
use crate::world::{Action, Violation, World, UNBOUNDED};
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::time::{Duration, Instant};

/// Feed `bytes` to `f` as little-endian 64-bit words.
fn for_each_word(bytes: &[u8], mut f: impl FnMut(u64)) {
    for chunk in bytes.chunks(8) {
        let mut b = [0u8; 8];
        b[..chunk.len()].copy_from_slice(chunk);
        f(u64::from_le_bytes(b));
    }
}

/// The hasher of the maps keyed by fingerprints: they are already well
/// mixed, so their low half is the hash.
#[derive(Default)]
pub struct FxHasher(u64);

impl Hasher for FxHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for_each_word(bytes, |w| self.0 ^= w);
    }

    fn write_u128(&mut self, i: u128) {
        self.0 = i as u64;
    }
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// A 128-bit fingerprint of a state: the visited set stores these instead
/// of whole states (hash compaction, as TLC and SPIN do).  With 10^9
/// states the chance that two of them collide is below 10^-20.
struct Fingerprint(u64, u64);

impl Hasher for Fingerprint {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for_each_word(bytes, |w| self.write_u64(w));
    }

    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0 ^ i)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(29);
        self.1 = (self.1.wrapping_add(i) ^ (self.1 >> 31)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    }
}

/// murmur3's 64-bit finaliser.
fn fmix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

fn fingerprint(w: &World) -> u128 {
    let mut h = Fingerprint(0x243f_6a88_85a3_08d3, 0x1319_8a2e_0370_7344);
    w.hash(&mut h);
    (u128::from(fmix(h.0)) << 64) | u128::from(fmix(h.1 ^ h.0.rotate_left(17)))
}

/// What a search found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finding {
    /// Every reachable state explored, nothing wrong.
    Clean,
    /// A safety violation in the last state of the trace.
    Violation(Violation),
    /// `cpu` spins forever in the last state of the trace.
    LiveLock {
        /// The spinning CPU.
        cpu: u8,
    },
    /// The state bound was hit before the search finished.
    Incomplete,
}

/// A search result.
#[derive(Clone, Debug)]
pub struct Report {
    /// The verdict.
    pub finding: Finding,
    /// Actions from the initial state to the offending state.
    pub trace: Vec<Action>,
    /// Distinct states visited.
    pub states: usize,
    /// Transitions followed.
    pub edges: usize,
    /// Wall time.
    pub elapsed: Duration,
}

/// Replay `trace` from the configuration's initial state.
pub fn replay(cfg: &Config, trace: &[Action]) -> World {
    let mut w = cfg.initial();
    for &a in trace {
        w.step(a);
    }
    w
}

/// Breadth-first search of every state reachable from `cfg.initial()`
/// within the configuration's switch bound.  `progress` is called about
/// once a second with the states so far and the queue length.
pub fn explore(cfg: &Config, mut progress: impl FnMut(usize, usize)) -> Report {
    let t0 = Instant::now();
    let mut last = t0;
    let init = cfg.initial().canonical();
    let mut index: FxMap<u128, ()> = FxMap::default();
    let mut parent: Vec<(u32, Option<Action>)> = vec![(0, None)];
    let mut edges = 0usize;
    let mut queue: VecDeque<(u32, World)> = VecDeque::new();
    let mut acts = Vec::new();
    let mut escape = Escape::new(cfg.max_states);

    index.insert(fingerprint(&init), ());
    queue.push_back((0, init));
    let report = |finding, trace, states, edges, t0: Instant| Report {
        finding,
        trace,
        states,
        edges,
        elapsed: t0.elapsed(),
    };
    while let Some((id, w)) = queue.pop_front() {
        if w.quiescent() {
            continue;
        }
        w.actions(&mut acts);
        for &a in &acts {
            let mut n = w;
            n.step(a);
            let n = n.canonical();
            edges += 1;
            if index.insert(fingerprint(&n), ()).is_some() {
                continue;
            }
            let nid = parent.len() as u32;
            parent.push((id, Some(a)));
            if let Some(v) = n.violation {
                let trace = trace_to(&parent, nid);
                return report(Finding::Violation(v), trace, parent.len(), edges, t0);
            }
            if let Some(cpu) = escape.stuck_cpu(&n) {
                let trace = trace_to(&parent, nid);
                return report(Finding::LiveLock { cpu }, trace, parent.len(), edges, t0);
            }
            if parent.len() >= cfg.max_states || escape.undecided > 0 {
                return report(Finding::Incomplete, Vec::new(), parent.len(), edges, t0);
            }
            queue.push_back((nid, n));
        }
        if last.elapsed() >= Duration::from_secs(1) {
            last = Instant::now();
            progress(parent.len(), queue.len());
        }
    }
    report(Finding::Clean, Vec::new(), parent.len(), edges, t0)
}

fn trace_to(parent: &[(u32, Option<Action>)], mut id: u32) -> Vec<Action> {
    let mut trace = Vec::new();
    while let (p, Some(a)) = parent[id as usize] {
        trace.push(a);
        id = p;
    }
    trace.reverse();
    trace
}

/// Decides whether a CPU spinning in `mm_get_cid()` can ever stop: a
/// search, without the switch bound, of the states reachable while it
/// spins, for one in which it got a CID.  A state from which none is
/// reachable is a live lock, and so is every state reachable from it.
struct Escape {
    memo: FxMap<u128, bool>,
    limit: usize,
    /// Searches that hit `limit` before deciding.
    undecided: usize,
}

impl Escape {
    fn new(limit: usize) -> Self {
        Self {
            memo: FxMap::default(),
            limit,
            undecided: 0,
        }
    }

    /// A CPU of `w` that spins forever, if any.
    fn stuck_cpu(&mut self, w: &World) -> Option<u8> {
        let m = w.spinning();
        (0..16u8).find(|&c| m & (1 << c) != 0 && !self.can_escape(w, c))
    }

    fn can_escape(&mut self, w: &World, cpu: u8) -> bool {
        let mut start = *w;
        start.switches_left = UNBOUNDED;
        start.violation = None;
        let key = |w: &World| fingerprint(w) ^ u128::from(cpu);
        if let Some(&r) = self.memo.get(&key(&start)) {
            return r;
        }
        let bit = 1u16 << cpu;
        let mut seen: FxMap<u128, ()> = FxMap::default();
        let mut queue = VecDeque::from([start]);
        let mut acts = Vec::new();
        seen.insert(key(&start), ());
        while let Some(s) = queue.pop_front() {
            s.actions(&mut acts);
            for &a in &acts {
                let mut n = s;
                n.step(a);
                n.violation = None;
                let n = n.canonical();
                let k = key(&n);
                if n.spinning() & bit == 0 || self.memo.get(&k) == Some(&true) {
                    self.memo.insert(key(&start), true);
                    return true;
                }
                if seen.insert(k, ()).is_none() {
                    if seen.len() > self.limit {
                        self.undecided += 1;
                        return true;
                    }
                    queue.push_back(n);
                }
            }
        }
        // Nothing reachable frees a CID: all of it is live locked.
        for (k, ()) in seen {
            self.memo.insert(k, false);
        }
        false
    }
}

/// A seeded random walk of at most `steps` steps of `cfg.unbounded()`
/// (replay its trace with that configuration).  A CPU that spins for
/// `spin_bound` consecutive steps is checked with the exact live lock
/// search.
pub fn random_walk(cfg: &Config, seed: u64, steps: usize, spin_bound: usize) -> Report {
    let t0 = Instant::now();
    let cfg = &cfg.unbounded();
    let mut rng = seed | 1;
    let mut escape = Escape::new(cfg.max_states);
    let mut w = cfg.initial();
    let mut trace = Vec::new();
    let mut acts = Vec::new();
    let mut spun = [0usize; 16];
    for _ in 0..steps {
        w.actions(&mut acts);
        if acts.is_empty() {
            break;
        }
        // xorshift64
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let a = acts[(rng % acts.len() as u64) as usize];
        w.step(a);
        trace.push(a);
        if let Some(v) = w.violation {
            return Report {
                finding: Finding::Violation(v),
                states: trace.len(),
                trace,
                edges: 0,
                elapsed: t0.elapsed(),
            };
        }
        let m = w.spinning();
        for (cpu, n) in spun.iter_mut().enumerate().take(cfg.cpus as usize) {
            *n = if m & (1 << cpu) != 0 { *n + 1 } else { 0 };
            if *n >= spin_bound && !escape.can_escape(&w.canonical(), cpu as u8) {
                return Report {
                    finding: Finding::LiveLock { cpu: cpu as u8 },
                    states: trace.len(),
                    trace,
                    edges: 0,
                    elapsed: t0.elapsed(),
                };
            }
        }
    }
    Report {
        finding: Finding::Clean,
        states: trace.len(),
        trace: Vec::new(),
        edges: 0,
        elapsed: t0.elapsed(),
    }
}
