// SPDX-License-Identifier: GPL-2.0

//! Exhaustive breadth-first search over a configuration's reachable states,
//! and a seeded random walk for configurations too big to exhaust.
//!
//! Safety violations stop the search at once; breadth-first order makes
//! the trace a shortest one.  Live locks need the whole graph: a CPU that
//! spins in `mm_get_cid()` is live locked in a state from which no
//! reachable state has it done spinning.

use crate::codec::{decode, from_bytes, pack_action, unpack_action, Code};
use crate::scenario::Config;
use crate::symmetry::canonical;
use crate::world::{Action, Violation, World, UNBOUNDED};
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::time::{Duration, Instant};

/// The hasher of the sets keyed by 128-bit xxh3 fingerprints: they are
/// already well mixed, so their low half is the hash.
#[derive(Default)]
pub struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, _: &[u8]) {
        unreachable!("only u128 fingerprints are hashed");
    }

    fn write_u128(&mut self, i: u128) {
        self.0 = i as u64;
    }
}

type FpSet = HashSet<u128, BuildHasherDefault<PassThrough>>;
type FpMap<V> = HashMap<u128, V, BuildHasherDefault<PassThrough>>;

/// The visited set: fingerprints of canonical states (hash compaction, as
/// TLC and SPIN do).  With 10^9 states the chance that two of them collide
/// is below 10^-20.  256 shards, chosen by the top byte, so that growing
/// one never holds two copies of the whole set.
pub struct Visited {
    shards: Vec<FpSet>,
    len: usize,
}

impl Default for Visited {
    fn default() -> Self {
        Self::new()
    }
}

impl Visited {
    /// An empty set.
    pub fn new() -> Self {
        Self {
            shards: (0..256).map(|_| FpSet::default()).collect(),
            len: 0,
        }
    }

    /// Add `fp`; false if it was there.
    pub fn insert(&mut self, fp: u128) -> bool {
        let new = self.shards[(fp >> 120) as usize].insert(fp);
        self.len += usize::from(new);
        new
    }

    /// Fingerprints stored.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Is it empty?
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes the tables hold: a 16-byte key and a control byte a bucket.
    pub fn bytes(&self) -> usize {
        self.shards.iter().map(|s| s.capacity() * 8 / 7 * 17).sum()
    }
}

/// A FIFO of encoded states in 1 MiB blocks, each record its length byte
/// and its bytes.
#[derive(Default)]
struct CodeQueue {
    blocks: VecDeque<Vec<u8>>,
    head: usize,
    len: usize,
}

const BLOCK: usize = 1 << 20;

impl CodeQueue {
    fn push(&mut self, code: &Code) {
        let b = code.as_bytes();
        if self
            .blocks
            .back()
            .map_or(true, |blk| blk.len() + 1 + b.len() > BLOCK)
        {
            self.blocks.push_back(Vec::with_capacity(BLOCK));
        }
        let blk = self.blocks.back_mut().expect("a block");
        blk.push(b.len() as u8);
        blk.extend_from_slice(b);
        self.len += 1;
    }

    fn pop(&mut self) -> Option<Code> {
        let blk = self.blocks.front()?;
        let n = usize::from(blk[self.head]);
        let code = from_bytes(&blk[self.head + 1..self.head + 1 + n]);
        self.head += 1 + n;
        if self.head == blk.len() {
            self.blocks.pop_front();
            self.head = 0;
        }
        self.len -= 1;
        Some(code)
    }

    fn bytes(&self) -> usize {
        self.blocks.len() * BLOCK
    }
}

/// For each state, in breadth-first order, the state it was reached from
/// and the action (on the parent's representative): 8 bytes a state, in
/// chunks so that growing never copies the whole log.
#[derive(Default)]
struct ParentLog {
    chunks: Vec<Vec<u64>>,
    len: usize,
}

const CHUNK: usize = 1 << 20;

impl ParentLog {
    fn push(&mut self, parent: u32, a: Option<Action>) {
        if self.len % CHUNK == 0 {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        let a = a.map_or(u32::MAX, pack_action);
        self.chunks[self.len / CHUNK].push(u64::from(parent) << 32 | u64::from(a));
        self.len += 1;
    }

    fn get(&self, id: u32) -> (u32, Option<Action>) {
        let id = id as usize;
        let v = self.chunks[id / CHUNK][id % CHUNK];
        let a = v as u32;
        ((v >> 32) as u32, (a != u32::MAX).then(|| unpack_action(a)))
    }

    fn bytes(&self) -> usize {
        self.chunks.len() * CHUNK * 8
    }
}

/// Where a search is, for the progress line.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// Distinct states so far.
    pub states: usize,
    /// States waiting to be expanded.
    pub queued: usize,
    /// Transitions followed.
    pub edges: usize,
    /// Since the start.
    pub elapsed: Duration,
    /// Bytes of the visited set, the parent log and the queue.
    pub bytes: usize,
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
    /// The model's paths the transitions took, bit `p as u8` for
    /// [`Path`](mmcid_model::paths::Path) `p`; not those of the setup of
    /// the initial state.
    pub paths: u64,
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

/// How often [`explore`] reports progress.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// States [`explore`] takes off the queue at once: their successors are
/// computed on `cfg.threads` threads, then merged in the order a single
/// thread takes them.
const BATCH: usize = 1 << 10;

/// One successor of a queued state, as a worker computed it.
struct Succ {
    action: Action,
    /// The paths of the step (decode() zeroed the state's).
    paths: u64,
    violation: Option<Violation>,
    /// The representative's encoding.
    code: Code,
    /// The representative itself when a CPU in it spins (the live-lock
    /// search needs it); boxed, as few states have one.
    spinning: Option<Box<World>>,
}

/// The successors of each of `codes`, in order; none for a quiescent
/// state.  Decoding, stepping and canonicalising are the search's work;
/// they depend on nothing but the state.
fn expand(init: &World, codes: &[Code]) -> Vec<Vec<Succ>> {
    let mut acts = Vec::new();
    codes
        .iter()
        .map(|code| {
            let w = decode(init, code);
            if w.quiescent() {
                return Vec::new();
            }
            w.actions(&mut acts);
            acts.iter()
                .map(|&action| {
                    let mut n = w;
                    n.step(action);
                    let c = canonical(&n);
                    Succ {
                        action,
                        paths: n.s.paths,
                        violation: n.violation,
                        code: c.code,
                        spinning: (c.world.spinning() != 0).then(|| Box::new(c.world)),
                    }
                })
                .collect()
        })
        .collect()
}

/// [`expand`] on `threads` threads, each a contiguous share of `codes`.
fn expand_parallel(init: &World, codes: &[Code], threads: usize) -> Vec<Vec<Succ>> {
    if threads <= 1 || codes.len() < 2 * threads {
        return expand(init, codes);
    }
    let share = codes.len().div_ceil(threads);
    std::thread::scope(|s| {
        let workers: Vec<_> = codes
            .chunks(share)
            .map(|part| s.spawn(move || expand(init, part)))
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("an expanding thread panicked"))
            .collect()
    })
}

/// Breadth-first search of every state reachable from `cfg.initial()`
/// within the configuration's switch bound, one representative of each
/// symmetry class ([`crate::symmetry`]).  `progress` is called every
/// [`PROGRESS_EVERY`].
///
/// Work sharing, as TLC's workers do, but deterministic: each batch of
/// queued states is expanded on `cfg.threads` threads, and one thread
/// merges the successors into the visited set, the parent log and the
/// queue in the order the sequential search would, so that any thread
/// count gives the same states, transitions, finding and trace.
pub fn explore(cfg: &Config, mut progress: impl FnMut(&Progress)) -> Report {
    let t0 = Instant::now();
    let mut last = t0;
    let init = cfg.initial();
    let start = canonical(&init);
    let mut visited = Visited::new();
    let mut parents = ParentLog::default();
    let mut queue = CodeQueue::default();
    let mut edges = 0usize;
    let mut paths = 0u64;
    let mut escape = Escape::new(cfg.max_states);
    let mut batch = Vec::with_capacity(BATCH);

    visited.insert(start.code.fingerprint());
    parents.push(0, None);
    queue.push(&start.code);
    let done = |finding, nid: Option<u32>, parents: &ParentLog, edges, paths| {
        let (finding, trace) = match nid {
            Some(id) => concrete_trace(cfg, &init, parents, id, finding),
            None => (finding, Vec::new()),
        };
        Report {
            finding,
            trace,
            states: parents.len,
            edges,
            paths,
            elapsed: t0.elapsed(),
        }
    };
    let mut id = 0u32;
    loop {
        batch.clear();
        while batch.len() < BATCH {
            match queue.pop() {
                Some(code) => batch.push(code),
                None => break,
            }
        }
        if batch.is_empty() {
            break;
        }
        for succs in expand_parallel(&init, &batch, cfg.threads) {
            let wid = id;
            id += 1;
            for s in succs {
                edges += 1;
                paths |= s.paths;
                if !visited.insert(s.code.fingerprint()) {
                    continue;
                }
                let nid = u32::try_from(parents.len).expect("fewer than 2^32 states");
                parents.push(wid, Some(s.action));
                if let Some(v) = s.violation {
                    return done(Finding::Violation(v), Some(nid), &parents, edges, paths);
                }
                if let Some(cpu) = s.spinning.as_deref().and_then(|w| escape.stuck_cpu(w)) {
                    return done(Finding::LiveLock { cpu }, Some(nid), &parents, edges, paths);
                }
                if parents.len >= cfg.max_states || escape.undecided > 0 {
                    return done(Finding::Incomplete, None, &parents, edges, paths);
                }
                queue.push(&s.code);
            }
        }
        if last.elapsed() >= PROGRESS_EVERY {
            last = Instant::now();
            progress(&Progress {
                states: parents.len,
                queued: queue.len,
                edges,
                elapsed: t0.elapsed(),
                bytes: visited.bytes() + parents.bytes() + queue.bytes() + escape.bytes(),
            });
        }
    }
    done(Finding::Clean, None, &parents, edges, paths)
}

/// The trace to state `id` in the names of the initial state, and
/// `finding` renamed to match.
///
/// The log holds each action in the names of its parent's representative.
/// Replaying the search's own steps (decode, step, canonicalise) gives
/// each representative's renaming, and so the original names.
fn concrete_trace(
    cfg: &Config,
    init: &World,
    parents: &ParentLog,
    mut id: u32,
    finding: Finding,
) -> (Finding, Vec<Action>) {
    let mut canon_trace = Vec::new();
    while let (p, Some(a)) = parents.get(id) {
        canon_trace.push(a);
        id = p;
    }
    canon_trace.reverse();
    let start = canonical(init);
    let mut rep = start.world;
    // Representative names to original names.
    let mut back = start.perm.inverse();
    let mut trace = Vec::with_capacity(canon_trace.len());
    for a in canon_trace {
        trace.push(back.action(a));
        rep.step(a);
        let c = canonical(&rep);
        back = back.after(&c.perm.inverse());
        rep = c.world;
    }
    let last = replay(cfg, &trace);
    let finding = match finding {
        Finding::Violation(_) => Finding::Violation(last.violation.expect("the trace replays")),
        Finding::LiveLock { cpu } => Finding::LiveLock {
            cpu: back.cpu[usize::from(cpu)],
        },
        f => f,
    };
    (finding, trace)
}

/// Decides whether a CPU spinning in `mm_get_cid()` can ever stop: a
/// search, without the switch bound, of the states reachable while it
/// spins, for one in which it got a CID.  A state from which none is
/// reachable is a live lock, and so is every state reachable from it.
struct Escape {
    memo: FpMap<bool>,
    limit: usize,
    /// Searches that hit `limit` before deciding.
    undecided: usize,
}

impl Escape {
    fn new(limit: usize) -> Self {
        Self {
            memo: FpMap::default(),
            limit,
            undecided: 0,
        }
    }

    fn bytes(&self) -> usize {
        self.memo.capacity() * 8 / 7 * 17
    }

    /// A CPU of the representative `w` that spins forever, if any.
    fn stuck_cpu(&mut self, w: &World) -> Option<u8> {
        let m = w.spinning();
        (0..16u8).find(|&c| m & (1 << c) != 0 && !self.can_escape(w, c))
    }

    /// `w` must be a representative; the search follows `cpu` through the
    /// renamings of the states it reaches.
    fn can_escape(&mut self, w: &World, cpu: u8) -> bool {
        let mut start = *w;
        start.switches_left = UNBOUNDED;
        start.violation = None;
        let start = canonical(&start);
        let cpu = start.perm.cpu[usize::from(cpu)];
        let key = |code: &Code, cpu: u8| code.fingerprint() ^ u128::from(cpu);
        let k0 = key(&start.code, cpu);
        if let Some(&r) = self.memo.get(&k0) {
            return r;
        }
        let mut seen = FpSet::default();
        let mut queue = VecDeque::from([(start.world, cpu)]);
        let mut acts = Vec::new();
        seen.insert(k0);
        while let Some((s, cpu)) = queue.pop_front() {
            s.actions(&mut acts);
            for &a in &acts {
                let mut n = s;
                n.step(a);
                n.violation = None;
                if n.spinning() & (1 << cpu) == 0 {
                    self.memo.insert(k0, true);
                    return true;
                }
                let c = canonical(&n);
                let ncpu = c.perm.cpu[usize::from(cpu)];
                let k = key(&c.code, ncpu);
                if self.memo.get(&k) == Some(&true) {
                    self.memo.insert(k0, true);
                    return true;
                }
                if seen.insert(k) {
                    if seen.len() > self.limit {
                        self.undecided += 1;
                        return true;
                    }
                    queue.push_back((c.world, ncpu));
                }
            }
        }
        // Nothing reachable frees a CID: all of it is live locked.
        for k in seen {
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
    w.s.paths = 0;
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
                paths: w.s.paths,
                elapsed: t0.elapsed(),
            };
        }
        let m = w.spinning();
        for (cpu, n) in spun.iter_mut().enumerate().take(cfg.cpus as usize) {
            *n = if m & (1 << cpu) != 0 { *n + 1 } else { 0 };
            if *n >= spin_bound && !escape.can_escape(&w, cpu as u8) {
                return Report {
                    finding: Finding::LiveLock { cpu: cpu as u8 },
                    states: trace.len(),
                    trace,
                    edges: 0,
                    paths: w.s.paths,
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
        paths: w.s.paths,
        elapsed: t0.elapsed(),
    }
}

/// Every state reachable from `cfg.initial()`, without symmetry
/// reduction: what the tests of the reduction compare it with.
#[cfg(test)]
pub(crate) fn reachable(cfg: &Config) -> Vec<World> {
    let init = cfg.initial();
    let mut seen = std::collections::HashSet::from([init]);
    let mut out = vec![init];
    let mut acts = Vec::new();
    let mut i = 0;
    while i < out.len() {
        let w = out[i];
        i += 1;
        if w.quiescent() || w.violation.is_some() {
            continue;
        }
        w.actions(&mut acts);
        for &a in &acts {
            let mut n = w;
            n.step(a);
            if seen.insert(n) {
                out.push(n);
            }
        }
    }
    out
}
