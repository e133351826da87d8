// SPDX-License-Identifier: GPL-2.0

//! The compact encoding of a [`World`]: a few dozen bytes instead of the
//! struct's several hundred.  The queue of the search holds these bytes,
//! and the visited set holds the 128-bit xxh3 hash of them.
//!
//! One function, [`layout`], walks the fields in order for both directions,
//! so the encoder and the decoder cannot disagree.  What a run keeps
//! constant (the variant, the possible CPUs, tasks not forked yet) is not
//! encoded: [`decode`] takes it from the run's initial state.
//!
//! A task's `rq_curr` entry is stored as one "running" bit of the task:
//! `rq_curr[c] == Some(t)` implies `task_cpu(t) == c` (every switch sets
//! both), so the bit and the task's CPU give `rq_curr` back.

use crate::weak::Weak;
use crate::world::{Action, Life, Op, TaskState, World};
use mmcid_model::*;

/// Longest encoding: 8 CPUs and 16 tasks fit with room to spare.
pub const MAX_CODE: usize = 96;

/// An encoded world.
#[derive(Clone, Copy)]
pub struct Code {
    len: u8,
    bytes: [u8; MAX_CODE],
}

impl Code {
    /// The encoded bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// 128-bit xxh3 of the bytes: the visited set's key.
    pub fn fingerprint(&self) -> u128 {
        xxhash_rust::xxh3::xxh3_128(self.as_bytes())
    }
}

/// A direction of [`layout`]: write the fields to bits or read them back.
trait Bits {
    /// Reading the code back into the world (not writing it)?
    const DECODING: bool;

    /// Move `v`, which fits in `width` bits, through the code.
    fn field(&mut self, v: &mut u32, width: u32);
}

struct Writer {
    code: Code,
    acc: u64,
    nbits: u32,
}

impl Bits for Writer {
    const DECODING: bool = false;

    fn field(&mut self, v: &mut u32, width: u32) {
        // A value that does not fit would alias another state: never
        // truncate silently.
        assert!(
            u64::from(*v) < 1u64 << width,
            "codec: {} does not fit in {} bits",
            *v,
            width
        );
        self.acc |= u64::from(*v) << self.nbits;
        self.nbits += width;
        while self.nbits >= 8 {
            let len = usize::from(self.code.len);
            assert!(
                len < MAX_CODE,
                "codec: state longer than {} bytes",
                MAX_CODE
            );
            self.code.bytes[len] = self.acc as u8;
            self.code.len += 1;
            self.acc >>= 8;
            self.nbits -= 8;
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    acc: u64,
    nbits: u32,
}

impl Bits for Reader<'_> {
    const DECODING: bool = true;

    fn field(&mut self, v: &mut u32, width: u32) {
        while self.nbits < width {
            let b = self.bytes.get(self.pos).copied().unwrap_or(0);
            self.acc |= u64::from(b) << self.nbits;
            self.pos += 1;
            self.nbits += 8;
        }
        *v = (self.acc & ((1u64 << width) - 1)) as u32;
        self.acc >>= width;
        self.nbits -= width;
    }
}

/// A CID word in 8 bits: UNSET, ONCPU and TRANSIT, then the number.
const CID_NUM_BITS: u32 = 5;

fn pack_cid(cid: u32) -> u32 {
    let flags = cid >> 29;
    let num = cid & !(MM_CID_UNSET | MM_CID_ONCPU | MM_CID_TRANSIT);
    assert!(
        num < 1 << CID_NUM_BITS,
        "codec: CID {:#x} out of range",
        cid
    );
    (flags << CID_NUM_BITS) | num
}

fn unpack_cid(v: u32) -> u32 {
    ((v >> CID_NUM_BITS) << 29) | (v & ((1 << CID_NUM_BITS) - 1))
}

/// Move a CID word through `b`.
fn cid_field(b: &mut impl Bits, cid: &mut u32) {
    let mut v = pack_cid(*cid);
    b.field(&mut v, 8);
    *cid = unpack_cid(v);
}

fn bool_field(b: &mut impl Bits, x: &mut bool) {
    let mut v = u32::from(*x);
    b.field(&mut v, 1);
    *x = v != 0;
}

fn u8_field(b: &mut impl Bits, x: &mut u8, width: u32) {
    let mut v = u32::from(*x);
    b.field(&mut v, width);
    *x = v as u8;
}

/// `mode` has two bits that matter: ONCPU and TRANSIT.
fn mode_field(b: &mut impl Bits, mode: &mut u32) {
    let mut v = *mode >> 29;
    b.field(&mut v, 2);
    *mode = v << 29;
}

fn fork_next_code(n: ForkNext) -> u32 {
    match n {
        ForkNext::Done => 0,
        ForkNext::FirstUserCid => 1,
        ForkNext::TaskCid => 2,
        ForkNext::TasksToCpus => 3,
        ForkNext::CpusToTasks => 4,
    }
}

const FORK_NEXT: [ForkNext; 5] = [
    ForkNext::Done,
    ForkNext::FirstUserCid,
    ForkNext::TaskCid,
    ForkNext::TasksToCpus,
    ForkNext::CpusToTasks,
];

/// An [`Op`] as a kind and up to two small arguments.
fn op_field(b: &mut impl Bits, op: &mut Op) {
    let (mut kind, mut x, mut y) = match *op {
        Op::None => (0, 0, 0),
        Op::ForkLockedCid { child, next } => (1, u32::from(child), fork_next_code(next)),
        Op::ForkTasksToCpus { child, i } => (2, u32::from(child), u32::from(i)),
        Op::ForkCpusToTasks { child, cpu } => (3, u32::from(child), u32::from(cpu)),
        Op::ForkCid { child } => (4, u32::from(child), 0),
        Op::ExitCpusToTasks { cpu } => (5, 0, u32::from(cpu)),
        Op::Attach { child } => (6, u32::from(child), 0),
    };
    b.field(&mut kind, 3);
    if kind != 0 {
        b.field(&mut x, 4);
        b.field(&mut y, 5);
    }
    *op = match kind {
        0 => Op::None,
        1 => Op::ForkLockedCid {
            child: x as u8,
            next: FORK_NEXT[y as usize],
        },
        2 => Op::ForkTasksToCpus {
            child: x as u8,
            i: y as u8,
        },
        3 => Op::ForkCpusToTasks {
            child: x as u8,
            cpu: y as u8,
        },
        4 => Op::ForkCid { child: x as u8 },
        5 => Op::ExitCpusToTasks { cpu: y as u8 },
        _ => Op::Attach { child: x as u8 },
    };
}

fn spin_field(b: &mut impl Bits, spin: &mut Option<Spin>) {
    let (mut kind, mut mode) = match *spin {
        None => (0, 0),
        Some(Spin::FromCpu { mode }) => (1, mode),
        Some(Spin::FromTask { mode }) => (2, mode),
    };
    b.field(&mut kind, 2);
    if kind != 0 {
        mode_field(b, &mut mode);
    }
    *spin = match kind {
        0 => None,
        1 => Some(Spin::FromCpu { mode }),
        _ => Some(Spin::FromTask { mode }),
    };
}

fn life_field(b: &mut impl Bits, life: &mut Life) {
    let mut v = match *life {
        Life::Unborn => 0,
        Life::Alive => 1,
        Life::Exiting => 2,
        Life::Dead => 3,
        Life::Execing => 4,
    };
    b.field(&mut v, 3);
    *life = [
        Life::Unborn,
        Life::Alive,
        Life::Exiting,
        Life::Dead,
        Life::Execing,
    ][v as usize];
}

/// The weak memory views, when there are any.  Call after `nr_tasks`.
fn weak_field(b: &mut impl Bits, weak: &mut Weak, ncpu: usize, ntasks: usize) {
    bool_field(b, &mut weak.on);
    if !weak.on {
        return;
    }
    bool_field(b, &mut weak.one_word);
    u8_field(b, &mut weak.gen, 5);
    for h in &mut weak.hist[..=usize::from(weak.gen)] {
        u8_field(b, h, 2);
    }
    let views = weak.cpu[..ncpu]
        .iter_mut()
        .chain(weak.rq[..ncpu].iter_mut())
        .chain(weak.task[..ntasks].iter_mut());
    for v in views {
        u8_field(b, &mut v[0], 5);
        u8_field(b, &mut v[1], 5);
    }
}

/// The one description of the encoding.  `w` is read by the encoder and
/// written by the decoder; `running` carries the tasks' running bits.
fn layout<B: Bits>(b: &mut B, w: &mut World, running: &mut u32) {
    let ncpu = w.nr_cpus();
    u8_field(b, &mut w.forks_left, 8);
    u8_field(b, &mut w.exits_left, 8);
    u8_field(b, &mut w.execs_left, 8);
    u8_field(b, &mut w.switches_left, 8);
    bool_field(b, &mut w.preempt_walkers);
    bool_field(b, &mut w.check_transitions);
    u8_field(b, &mut w.forkers, 5);
    u8_field(b, &mut w.vforks_left, 8);
    let mut nr_tasks = w.s.nr_tasks as u32;
    b.field(&mut nr_tasks, 5);
    w.s.nr_tasks = nr_tasks as usize;
    weak_field(b, &mut w.weak, ncpu, w.s.nr_tasks);
    // A fault ends the search before its state is queued, so no decoded
    // state has one; the bit keeps a faulty state apart from its clean
    // twin in the live lock search, which hashes without queueing codes.
    let mut fault = w.s.fault.is_some();
    bool_field(b, &mut fault);
    let mc = &mut w.s.mm_cid;
    mode_field(b, &mut mc.mode);
    bool_field(b, &mut mc.update_deferred);
    b.field(&mut mc.max_cids, 7);
    b.field(&mut mc.nr_cpus_allowed, 7);
    b.field(&mut mc.users, 5);
    b.field(&mut mc.pcpu_thrs, 7);
    let mut cidmask = mc.cidmask as u32;
    assert!(mc.cidmask >> ncpu == 0, "codec: CID bitmap past the CPUs");
    b.field(&mut cidmask, ncpu as u32);
    mc.cidmask = u64::from(cidmask);
    let mut allowed = mc.cpus_allowed as u32;
    b.field(&mut allowed, ncpu as u32);
    mc.cpus_allowed = u64::from(allowed);
    for c in 0..ncpu {
        cid_field(b, &mut mc.pcpu[c]);
        spin_field(b, &mut w.spin[c]);
    }
    let mut ids = [0u8; SMALL_TASKS];
    let mut len = mc.user_list.len() as u32;
    for (i, t) in mc.user_list.iter().enumerate() {
        ids[i] = t as u8;
    }
    b.field(&mut len, 5);
    for id in &mut ids[..len as usize] {
        u8_field(b, id, 4);
    }
    if B::DECODING {
        while let Some(t) = mc.user_list.get(0) {
            mc.user_list.del(t);
        }
        for &id in ids[..len as usize].iter().rev() {
            mc.user_list.add_head(usize::from(id));
        }
    }
    for t in 0..w.s.nr_tasks {
        let st = &mut w.s.tasks[t];
        bool_field(b, &mut st.active);
        cid_field(b, &mut st.cid);
        u8_field(b, &mut st.cpu, 3);
        let ts = &mut w.task[t];
        life_field(b, &mut ts.life);
        bool_field(b, &mut ts.sleeping);
        bool_field(b, &mut ts.process);
        op_field(b, &mut ts.op);
        let mut r = (*running >> t) & 1;
        b.field(&mut r, 1);
        *running = (*running & !(1 << t)) | (r << t);
    }
    if fault && w.s.fault.is_none() {
        w.s.fault = Some(Fault::Warn("decoded: a fault of the encoded state"));
    }
    // Last, so that the runs without affinity steps, which encode none of
    // it (`masks` is the run's, from the initial state), keep their codes.
    if w.masks.is_some() {
        u8_field(b, &mut w.affinity_left, 8);
        bool_field(b, &mut w.work_pending);
        let mut walk = w.work_walk.map_or(0, |c| u32::from(c) + 1);
        b.field(&mut walk, 4);
        w.work_walk = walk.checked_sub(1).map(|c| c as u8);
        for t in 0..w.s.nr_tasks {
            u8_field(b, &mut w.task[t].allowed, 8);
        }
    }
}

/// Encode `w`.  Panics on a state the encoding cannot hold (a CID number
/// past 31, more than 8 CPUs, a CPU running a task that is not on it):
/// none is reachable, and aliasing two states would be worse.
pub fn encode(w: &World) -> Code {
    encode_scratch(&mut w.clone())
}

/// [`encode`] of a world the caller no longer needs as it was: the layout
/// writes every field back (the same values, `user_list` rebuilt), which
/// saves the copy.
pub fn encode_scratch(w: &mut World) -> Code {
    assert!(w.nr_cpus() <= 8, "codec: at most 8 CPUs");
    let mut running = 0u32;
    for c in 0..w.nr_cpus() {
        if let Some(t) = w.s.curr(c) {
            assert_eq!(usize::from(w.s.tasks[t].cpu), c, "codec: rq_curr");
            running |= 1 << t;
        }
    }
    let mut wr = Writer {
        code: Code {
            len: 0,
            bytes: [0; MAX_CODE],
        },
        acc: 0,
        nbits: 0,
    };
    layout(&mut wr, w, &mut running);
    let mut pad = 0;
    let rest = (8 - wr.nbits % 8) % 8;
    wr.field(&mut pad, rest);
    wr.code
}

/// Decode `code` into a world of the run whose initial state is `init`.
pub fn decode(init: &World, code: &Code) -> World {
    let mut w = *init;
    let mut rd = Reader {
        bytes: code.as_bytes(),
        pos: 0,
        acc: 0,
        nbits: 0,
    };
    let mut running = 0u32;
    layout(&mut rd, &mut w, &mut running);
    for t in w.s.nr_tasks..SMALL_TASKS {
        w.s.tasks[t] = Sched::<SMALL_CPUS, SMALL_TASKS>::EMPTY.tasks[t];
        w.task[t] = TaskState::UNBORN;
    }
    w.s.rq_curr = [None; SMALL_CPUS];
    for t in 0..w.s.nr_tasks {
        if running & (1 << t) != 0 {
            let cpu = usize::from(w.s.tasks[t].cpu);
            w.s.set_curr(cpu, Some(t));
        }
    }
    w.s.cid_allocs = 0;
    w.s.paths = 0;
    w.violation = None;
    w
}

/// Bytes of `code` from a whole encoded record of fixed length.
pub fn from_bytes(bytes: &[u8]) -> Code {
    let mut code = Code {
        len: bytes.len() as u8,
        bytes: [0; MAX_CODE],
    };
    code.bytes[..bytes.len()].copy_from_slice(bytes);
    code
}

/// An [`Action`] in 32 bits, for the search's parent log.
pub fn pack_action(a: Action) -> u32 {
    let opt = |t: Option<u8>| u32::from(t.unwrap_or(0xff));
    let (tag, x, y, z) = match a {
        Action::Switch {
            cpu,
            prev,
            next,
            sleep,
        } => (u32::from(sleep), u32::from(cpu), opt(prev), opt(next)),
        Action::GotCid { cpu } => (2, u32::from(cpu), 0, 0),
        Action::Fork {
            task,
            child,
            process,
        } => (3, u32::from(task), u32::from(child), u32::from(process)),
        Action::Attach { task } => (11, u32::from(task), 0, 0),
        Action::Flush { cpu, bits } => (12, u32::from(cpu), u32::from(bits), 0),
        Action::ForkCid { task } => (4, u32::from(task), 0, 0),
        Action::FixupTask { task, target } => (5, u32::from(task), u32::from(target), 0),
        Action::FixupCpu { task, cpu } => (6, u32::from(task), u32::from(cpu), 0),
        Action::Complete { task } => (7, u32::from(task), 0, 0),
        Action::Exit { task } => (8, u32::from(task), 0, 0),
        Action::Execve { task } => (9, u32::from(task), 0, 0),
        Action::ExecveFailed { task } => (10, u32::from(task), 0, 0),
        Action::Affinity { task, wide } => (13, u32::from(task), u32::from(wide), 0),
        Action::Work => (14, 0, 0, 0),
        Action::WorkFixupCpu { cpu } => (15, u32::from(cpu), 0, 0),
        Action::WorkComplete => (16, 0, 0, 0),
    };
    tag << 24 | x << 16 | y << 8 | z
}

/// The [`Action`] [`pack_action`] packed.
pub fn unpack_action(v: u32) -> Action {
    let (tag, x, y, z) = (v >> 24, (v >> 16) as u8, (v >> 8) as u8, v as u8);
    let opt = |t: u8| (t != 0xff).then_some(t);
    match tag {
        0 | 1 => Action::Switch {
            cpu: x,
            prev: opt(y),
            next: opt(z),
            sleep: tag == 1,
        },
        2 => Action::GotCid { cpu: x },
        3 => Action::Fork {
            task: x,
            child: y,
            process: z != 0,
        },
        11 => Action::Attach { task: x },
        12 => Action::Flush { cpu: x, bits: y },
        4 => Action::ForkCid { task: x },
        5 => Action::FixupTask { task: x, target: y },
        6 => Action::FixupCpu { task: x, cpu: y },
        7 => Action::Complete { task: x },
        8 => Action::Exit { task: x },
        9 => Action::Execve { task: x },
        13 => Action::Affinity {
            task: x,
            wide: y != 0,
        },
        14 => Action::Work,
        15 => Action::WorkFixupCpu { cpu: x },
        16 => Action::WorkComplete,
        _ => Action::ExecveFailed { task: x },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Config, Scenario};
    use crate::search::reachable;
    use crate::symmetry::canonical;

    #[test]
    fn every_reachable_state_decodes_to_itself() {
        let cfg = Config {
            exits: 1,
            execs: 1,
            switches: 4,
            ..Config::new(Variant::V7_3).scenario(Scenario::BpfCi, 3)
        };
        let weak = Config {
            weak: true,
            variant: Variant::SplitMode,
            switches: 2,
            ..cfg
        };
        let affinity = Config {
            forks: 2,
            exits: 1,
            switches: 3,
            ..Config::new(Variant::AffinitySwitchback).scenario(Scenario::Affinity, 6)
        };
        for cfg in [cfg, weak, affinity] {
            round_trips(&cfg);
        }
    }

    fn round_trips(cfg: &Config) {
        let init = cfg.initial();
        let states = reachable(cfg);
        assert!(states.len() > 10_000, "{} states", states.len());
        for w in states.iter().filter(|w| w.s.fault.is_none()) {
            let c = canonical(w).world;
            let code = encode(&c);
            let back = decode(&init, &code);
            // UserList compares the slots past its length too; the code
            // keeps the list, not what deleted entries left behind.
            let (a, b) = (&back.s.mm_cid.user_list, &c.s.mm_cid.user_list);
            assert!(a.iter().eq(b.iter()));
            let mut want = c;
            want.violation = None;
            want.s.mm_cid.user_list = back.s.mm_cid.user_list;
            assert_eq!(back, want);
            assert_eq!(encode(&back).as_bytes(), code.as_bytes());
        }
    }

    #[test]
    fn codes_are_short() {
        let w = Config::new(Variant::V7_3)
            .scenario(Scenario::BpfCi, 8)
            .initial();
        // 8 CPUs and 8 tasks in under 6 bytes a CPU and task pair, where
        // the struct takes hundreds.
        let n = encode(&w).as_bytes().len();
        assert!(n <= 48, "{} bytes", n);
        assert!(std::mem::size_of::<World>() > 400);
    }

    #[test]
    fn a_cid_that_does_not_fit_is_refused() {
        let mut w = Config::new(Variant::V7_3).initial();
        w.s.tasks[1].cid = 40;
        assert!(std::panic::catch_unwind(|| encode(&w)).is_err());
    }

    #[test]
    fn actions_pack_and_unpack() {
        let cfg = Config::new(Variant::V7_3).scenario(Scenario::CpuToTask, 4);
        let mut acts = Vec::new();
        let mut all = std::collections::HashSet::new();
        for w in reachable(&Config { switches: 3, ..cfg }) {
            w.actions(&mut acts);
            all.extend(acts.iter().copied());
        }
        assert!(all.len() > 20);
        for a in all {
            assert_eq!(unpack_action(pack_action(a)), a);
        }
    }
}
