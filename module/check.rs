// SPDX-License-Identifier: GPL-2.0

//! Compare what the C did in one context switch with what the model says
//! `mm_cid_switch_to()` does from the same state.
//!
//! The snapshots are taken under the switching CPU's runqueue lock, but
//! other CPUs may still change the shared parts of `mm->mm_cid` between
//! them: the CID bitmap (their own allocations and drops) and, under
//! `mm_cid::lock`, the mode and `max_cids` (a fork or exit elsewhere).
//! The model runs again with each state they may have left the C to read,
//! and only what none of them explains is a mismatch (see
//! [`check_switch`]).  Forks and exits are checked in `op.rs`.

use super::ffi::SwitchSnap;
use super::model::invariants;
use super::model::*;

/// What a context switch did with the CID of the task switched in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SwitchKind {
    /// The task owns its CID (per task mode).
    TaskOwned,
    /// The CPU owns the CID (per CPU mode).
    CpuOwned,
    /// The CID is borrowed during a mode transition.
    Transit,
    /// Only the task switched out was involved.
    Out,
}

/// The way `mm_cid_schedin()` went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Path {
    /// Nothing to do: next is not an active task of this mm.
    Out,
    /// The fast path of `mm_cid_from_task()` / `mm_cid_from_cpu()`: the
    /// owner's CID is below max_cids.
    Kept,
    /// `mm_cid_converge()` moved the owner's CID below max_cids.
    Converged,
    /// `mm_cid_converge()` took no CID below max_cids and kept the old one.
    NotConverged,
    /// "Hand over or drop the task owned CID" (or the CPU owned one) and
    /// nothing to allocate.
    HandOver,
    /// `mm_get_cid()` took a CID.
    Allocated,
    /// `mm_get_cid()` took a CID though the snapshot's bitmap had none
    /// free: another CPU freed one while the C spun (or before it looked).
    Spun,
    /// `mm_get_cid()` gave up with MM_CID_UNSET (a variant whose wait is
    /// bounded, `Variant::cid_wait_gives_up()`): other CPUs took every CID
    /// while it looked.
    GaveUp,
}

/// A switch the model explains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Agreement {
    /// What next's CID is now.
    pub kind: SwitchKind,
    /// The way the schedule-in went.
    pub path: Path,
    /// The C read a mode that another CPU wrote after the first snapshot.
    pub mode_changed: bool,
    /// The C read a max_cids that another CPU wrote after the first snapshot.
    pub max_cids_changed: bool,
    /// The allocation returned another CID than the lowest one free in the
    /// snapshot: other CPUs took or freed CIDs meanwhile.
    pub other_cid: bool,
    /// The branches of the C the agreeing run took ([`Sched::paths`]).
    pub paths: u64,
}

/// The outcome of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SwitchVerdict {
    /// The C did what the model does from the first snapshot, or from a
    /// state that other CPUs may have made of it by the time the C read it.
    Agree(Agreement),
    /// Not decided: see [`SwitchRace`].
    Raced(SwitchRace),
    /// The model cannot describe this machine (too many CPUs).
    Unsupported,
    /// The C did something else.
    Mismatch(Mismatch),
}

/// Why a check was not decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SwitchRace {
    /// `users` moved by two or more between the snapshots, so several forks
    /// or exits wrote max_cids meanwhile, not necessarily in one direction,
    /// and only a max_cids value that neither snapshot holds explains the C.
    MaxCids,
}

/// What the model expects after the switch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prediction {
    /// `prev->mm_cid.cid`, if prev has this mm.
    pub prev_cid: Option<u32>,
    /// `next->mm_cid.cid`, if next has this mm.
    pub next_cid: Option<u32>,
    /// This CPU's `pcpu->cid`.
    pub pcpu_cid: u32,
}

/// A switch the model does not explain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// The model's prediction with every read seeing the first snapshot
    /// and the allocation taking the lowest CID free in it, or, when it
    /// has none, the lowest one another CPU may free; `None` when no CID
    /// can be found at all.  With `bit_clear`, the C's CIDs.
    pub want: Option<Prediction>,
    /// The C's CIDs are explained, but this CID, which the switch leaves
    /// owned on this CPU, has its bit clear in the second snapshot.
    pub bit_clear: Option<u32>,
    /// The switch read per task mode while prev and this CPU still held
    /// the CPU owned CID that the walk back to per task mode takes away:
    /// the mode completed before the walk reached this CPU
    /// ([`invariants::walk_passed`]).
    pub walk_behind: bool,
}

const PREV: TaskId = 0;
const NEXT: TaskId = 1;

/// Check one context switch of `pre` into `post` against `variant`.
///
/// Both snapshots are taken under the switching CPU's runqueue lock, so
/// prev's and next's CIDs and this CPU's `pcpu->cid` change only by
/// `mm_cid_switch_to()` in between.  Three things other CPUs may change
/// meanwhile, and the check accepts exactly what each of them allows:
///
/// - The mode and max_cids, which forks and exits elsewhere write (under
///   `mm_cid::lock`, and `mm_cid::mutex` for the mode).  The C reads them
///   at four points: `mm_cid_schedout()` reads
///   `READ_ONCE(mm->mm_cid.mode)` then `READ_ONCE(mm->mm_cid.max_cids)`,
///   `mm_cid_schedin()` reads `READ_ONCE(mm->mm_cid.mode)`, and
///   `mm_cid_from_cpu()` / `mm_cid_from_task()` read
///   `READ_ONCE(mm->mm_cid.max_cids)`.  Each read sees the first or the
///   second snapshot's value, in time order: once a read has seen a newer
///   value, later reads of that field do too.  The mode also takes the
///   values in between, as `mm_update_max_cids()` flips it (`mode ^
///   (MM_CID_TRANSIT | MM_CID_ONCPU)`) and `mm_cid_complete_transit()`
///   clears TRANSIT: see [`Values::mode_path`].  The fifth read, in
///   `mm_get_cid()`, only bounds a search whose result is covered below.
/// - The CID bitmap, with atomic bit operations and no lock.  A switch
///   allocates at most once (`mm_cid_converge()` or `mm_get_cid()`;
///   `mm_cid_schedout()` only drops), and `__mm_get_cid()` is a
///   `find_first_zero_bit()` then `test_and_set_bit()` on the shared bitmap,
///   so the C is free to return any CID that another CPU may have left
///   free, or for `mm_cid_converge()` none below max_cids (a lost
///   `test_and_set_bit()` is enough), but nothing else: see [`pinned`].
/// - Whether `mm_get_cid()` spins: the second snapshot exists, so the C
///   found a CID; which one is decided as above.
///
/// Then the CIDs the switch leaves owned on this CPU must have their bit
/// set in the second snapshot (see [`unowned`]).  Before all that, the
/// mode the first snapshot read must not be per task while prev and this
/// CPU still hold a CPU owned CID ([`invariants::walk_passed`]): the
/// prev, the slot and that read are all under this runqueue's lock.
///
/// One case stays undecided ([`SwitchRace::MaxCids`]): a fork or exit writes
/// max_cids once (`__mm_update_max_cids()` under `mm_cid::lock`), so with
/// `users` at most one apart the C read the old or the new value; two or
/// more apart, forks and exits may have moved it both ways in between and
/// only a value neither snapshot holds may explain the C.  Forks and
/// exits that cancel out in `users`, or an affinity change
/// (`mm_update_cpus_allowed()` also writes max_cids) next to one, leave no
/// trace: the check assumes they do not happen within one switch, and
/// would call a switch that read such a value a mismatch.
///
/// `s` is room for the model: each CPU's own, or any for one CPU's
/// switches (see [`Sched::reset_on`]).
pub fn check_switch(
    variant: Variant,
    pre: &SwitchSnap,
    post: &SwitchSnap,
    s: &mut SwitchSched,
) -> SwitchVerdict {
    let cpu = pre.cpu as usize;
    if !cpu_in(pre.possible, cpu) || pre.possible.count_ones() != pre.nr_possible {
        return SwitchVerdict::Unsupported;
    }
    let mut sw = Switch::new(variant, pre, s);
    if variant.transit_to_task()
        && sw.prev.is_some()
        && !invariants::walk_passed(pre.mm.mode, pre.mm.pcpu_cid, pre.prev.cid)
    {
        return SwitchVerdict::Mismatch(Mismatch {
            want: None,
            bit_clear: None,
            walk_behind: true,
        });
    }
    let got = Prediction {
        prev_cid: sw.prev.map(|_| post.prev.cid),
        next_cid: sw.next.map(|_| post.next.cid),
        pcpu_cid: post.mm.pcpu_cid,
    };
    let modes = Values::mode_path(variant, pre.mm.mode, post.mm.mode);
    let max_cids = Values::pre_post(pre.mm.max_cids, post.mm.max_cids);
    let several = pre.mm.users.abs_diff(post.mm.users) >= 2;
    let mut want = None;
    let verdict = match sw.search(&modes, &max_cids, got, &mut want) {
        Some(a) => SwitchVerdict::Agree(a),
        None if several
            && sw
                .search(
                    &modes,
                    &Values::any_max_cids(pre.nr_possible),
                    got,
                    &mut None,
                )
                .is_some() =>
        {
            SwitchVerdict::Raced(SwitchRace::MaxCids)
        }
        None => {
            return SwitchVerdict::Mismatch(Mismatch {
                want,
                bit_clear: None,
                walk_behind: false,
            })
        }
    };
    match unowned(pre, post, got) {
        Some(cid) => SwitchVerdict::Mismatch(Mismatch {
            want: Some(got),
            bit_clear: Some(cid),
            walk_behind: false,
        }),
        None => verdict,
    }
}

/// The bit of `cid` in a snapshot's bitmap (its first 64 bits).
fn bit(cid: u32) -> u64 {
    1u64.checked_shl(cid).unwrap_or(0)
}

/// A CID that the C's result leaves owned on this CPU but whose bit is
/// clear after the switch: next's CID, this CPU's CID, and a task owned CID
/// prev kept.  No other CPU can have cleared it before the second
/// snapshot, as it would need this runqueue's lock (see [`pinned`]).
fn unowned(pre: &SwitchSnap, post: &SwitchSnap, got: Prediction) -> Option<u32> {
    let next = got
        .next_cid
        .filter(|&c| pre.next.active != 0 && c & MM_CID_UNSET == 0);
    let pcpu = Some(got.pcpu_cid).filter(|&c| cid_on_cpu(c));
    let prev = got.prev_cid.filter(|&c| cid_on_task(c));
    [next, pcpu, prev]
        .into_iter()
        .flatten()
        .map(task_mm_cid)
        .find(|&c| c < 64 && post.mm.cidmask & bit(c) == 0)
}

/// The CIDs no other CPU can free during the switch, as bits: a task owned
/// (or in transit) CID of prev or next and this CPU's own CID.  Their
/// owners do not run elsewhere meanwhile, and every remote change of them
/// holds this runqueue's lock, which the switching CPU holds from the
/// first snapshot to the second: `guard(task_rq_lock)(t)` in
/// `mm_cid_fixup_task_to_cpu()` and `guard(rq_lock_irq)(rq)` in
/// `mm_cid_fixup_cpus_to_tasks()` ("Remote access to mm::mm_cid::pcpu
/// requires rq_lock").  A CPU's slot without ONCPU owns nothing: its
/// number may be held, and dropped, by a task elsewhere; a task's ONCPU
/// CID belongs to the CPU it last ran on.  Only bits that are set count:
/// an owned CID whose bit is clear is an earlier switch's fault, and this
/// one's `find_first_zero_bit()` may return it.  Taken after
/// `mm_cid_schedout()`, which may drop prev's.
fn pinned(s: &SwitchSched, cpu: usize, tasks: [Option<TaskId>; 2]) -> u64 {
    let task = |t: TaskId| {
        let cid = s.tasks[t].cid;
        if cid & (MM_CID_UNSET | MM_CID_ONCPU) == 0 {
            bit(cid_from_transit_cid(cid))
        } else {
            0
        }
    };
    let pcpu = s.mm_cid.pcpu[cpu];
    let own = if cid_on_cpu(pcpu) {
        bit(cpu_cid_to_cid(pcpu))
    } else {
        0
    };
    let theirs = tasks.into_iter().flatten().fold(0, |m, t| m | task(t));
    (own | theirs) & s.mm_cid.cidmask
}

/// Most values [`Values::new`] lists: a whole turn of the mode's cycle.
const LISTED: usize = 4;

/// The values a field may have had at the C's reads, in the order other
/// CPUs wrote them; the first is the first snapshot's.
struct Values {
    /// The values, or with `every` none: value `i` is `i`.
    v: [u32; LISTED],
    len: usize,
    /// Every value in `0..len` ([`Values::any_max_cids`]).
    every: bool,
    /// Reads see them in this order (a later read never sees an earlier
    /// value); otherwise in any order.
    ordered: bool,
}

impl Values {
    fn new(vals: impl Iterator<Item = u32>, ordered: bool) -> Self {
        let mut s = Self {
            v: [0; LISTED],
            len: 0,
            every: false,
            ordered,
        };
        for x in vals.take(LISTED) {
            s.v[s.len] = x;
            s.len += 1;
        }
        s
    }

    /// Value `i`.
    fn at(&self, i: usize) -> u32 {
        if self.every {
            i as u32
        } else {
            self.v[i]
        }
    }

    /// `pre`, then `post` if it differs.
    fn pre_post(pre: u32, post: u32) -> Self {
        let post = (post != pre).then_some(post);
        Self::new([Some(pre), post].into_iter().flatten(), true)
    }

    /// Every max_cids `__mm_update_max_cids()` can write.  Built only when
    /// the snapshots' values explain nothing: a rare, slow path.
    fn any_max_cids(nr_possible: u32) -> Self {
        Self {
            v: [0; LISTED],
            len: nr_possible as usize + 1,
            every: true,
            ordered: false,
        }
    }

    /// The modes from `pre` to `post` along the cycle that forks and exits
    /// move the mode through: `mm_update_max_cids()` flips per task mode to
    /// `MM_CID_ONCPU | MM_CID_TRANSIT` and per CPU mode to `MM_CID_TRANSIT`,
    /// `mm_cid_fixup_tasks_to_cpus()` and `mm_cid_fixup_cpus_to_tasks()`
    /// end with `mm_cid_complete_transit()` to `MM_CID_ONCPU` and 0 (one
    /// fork's flip then its completion gives pre, an intermediate, post).
    /// The variants without TRANSIT in a direction skip that step.  Equal
    /// modes mean no change: a whole turn needs both walks to finish, and
    /// each would wait for this runqueue's lock (`mm_cid_fixup_cpus_to_tasks()`
    /// takes every CPU's, `mm_cid_fixup_tasks_to_cpus()` `task_rq_lock()`s
    /// prev and next).  A mode off the variant's cycle gives just `pre` and
    /// `post`.
    fn mode_path(variant: Variant, pre: u32, post: u32) -> Self {
        // The common case, on every switch: no change.
        if pre == post {
            return Self::new([pre].into_iter(), true);
        }
        let mut cycle = [0; 4];
        let mut n = 0;
        for m in [
            Some(0),
            variant
                .transit_to_cpu()
                .then_some(MM_CID_ONCPU | MM_CID_TRANSIT),
            Some(MM_CID_ONCPU),
            variant.transit_to_task().then_some(MM_CID_TRANSIT),
        ]
        .into_iter()
        .flatten()
        {
            cycle[n] = m;
            n += 1;
        }
        let at = |m: u32| cycle[..n].iter().position(|&c| c == m);
        match (at(pre), at(post)) {
            (Some(i), Some(j)) => {
                // Forward from i to j, around the cycle (no division: the
                // check runs on every switch).
                let steps = if j >= i { j - i } else { j + n - i };
                let wrap = |x: usize| if x >= n { x - n } else { x };
                Self::new((0..=steps).map(|k| cycle[wrap(i + k)]), true)
            }
            _ => Self::pre_post(pre, post),
        }
    }

    /// Does an earlier value give the same `test` as value `i`?
    fn repeats<T: PartialEq>(&self, i: usize, test: impl Fn(u32) -> T) -> bool {
        (0..i).any(|j| test(self.at(j)) == test(self.at(i)))
    }

    /// Indices a read may take once the read before it took `i`.
    fn after(&self, i: usize) -> core::ops::Range<usize> {
        if self.ordered {
            i..self.len
        } else {
            0..self.len
        }
    }
}

/// The values of the shared fields that `mm_cid_switch_to()` read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Reads {
    /// `mode` in `mm_cid_schedout()`.
    out_mode: u32,
    /// `max_cids` in `mm_cid_schedout()`.
    out_max_cids: u32,
    /// `mode` in `mm_cid_schedin()`.
    in_mode: u32,
    /// `max_cids` in `mm_cid_from_cpu()` / `mm_cid_from_task()`.
    in_max_cids: u32,
}

/// What the one allocation of a switch returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Alloc {
    /// The lowest CID free in the model's bitmap.
    Snapshot,
    /// This CID: other CPUs took every free CID below it meanwhile
    /// (`Sched::replay_alloc`).  A CID at or
    /// above max_cids also stands for `mm_cid_converge()` finding none
    /// below max_cids (all taken, or its `test_and_set_bit()` lost), and
    /// for `mm_get_cid()`'s first attempt failing and its
    /// `num_possible_cpus()` retry finding this one.  The number of
    /// possible CPUs stands for other CPUs taking every CID: 7.3's
    /// `mm_get_cid()` spins then (no run), a bounded wait gives up.
    Cid(u32),
}

/// What one run of the model gave.
#[derive(Clone, Copy, Debug)]
struct Outcome {
    got: Prediction,
    path: Path,
    /// The branches the run took.
    paths: u64,
    /// The run took a CID from the bitmap.
    allocated: bool,
}

/// The model a switch check runs: every CPU the module loads on, prev and
/// next.
pub type SwitchSched = Sched<MAX_CPUS, 2>;

/// One switch as the model sees it: the first snapshot's mm with prev in
/// slot [`PREV`] and next in slot [`NEXT`], loaded into `s` afresh for
/// each run.
struct Switch<'a> {
    s: &'a mut SwitchSched,
    pre: &'a SwitchSnap,
    variant: Variant,
    cpu: usize,
    /// [`PREV`] if prev has this mm.
    prev: Option<TaskId>,
    /// [`NEXT`] if next has this mm.
    next: Option<TaskId>,
}

impl<'a> Switch<'a> {
    fn new(variant: Variant, pre: &'a SwitchSnap, s: &'a mut SwitchSched) -> Self {
        let mine = |t: &super::ffi::TaskSnap| t.mm == pre.mm.mm;
        Self {
            s,
            pre,
            variant,
            cpu: pre.cpu as usize,
            prev: mine(&pre.prev).then_some(PREV),
            next: mine(&pre.next).then_some(NEXT),
        }
    }

    /// Make the model the first snapshot: written where a switch on this
    /// CPU writes, not copied whole (a run changes it).
    fn load(&mut self) {
        let (pre, cpu) = (self.pre, self.cpu);
        let m = &pre.mm;
        self.s.load_mm_on(
            1 << cpu,
            self.variant,
            pre.possible,
            &MmRead {
                mode: m.mode,
                max_cids: m.max_cids,
                users: m.users,
                cidmask: m.cidmask,
                ..MmRead::default()
            },
        );
        for t in [&pre.prev, &pre.next] {
            self.s.load_task(cpu, t.cid, t.active != 0);
        }
        self.s.load_cpu(cpu, m.pcpu_cid, self.next);
    }

    /// Does `mm_cid_schedout()` read the mode and max_cids?
    fn reads_out(&self) -> bool {
        self.prev.is_some() && cid_in_transit(self.pre.prev.cid)
    }

    /// Does `mm_cid_schedin()` read them?
    fn reads_in(&self) -> bool {
        self.next.is_some() && self.pre.next.active != 0
    }

    /// Run the model for every reading of `modes` and `max_cids` the C may
    /// have had, the first snapshot's values first, and for each with every
    /// value its allocation may have returned: what the first run that
    /// gives `got` did.  `want` gets the first prediction found, if it has
    /// none.
    fn search(
        &mut self,
        modes: &Values,
        max_cids: &Values,
        got: Prediction,
        want: &mut Option<Prediction>,
    ) -> Option<Agreement> {
        let (out, inn) = (self.reads_out(), self.reads_in());
        // A read that does not happen takes one value and holds back no
        // later read.
        let span = |v: &Values, from: usize, reads: bool| {
            let r = v.after(from);
            if reads {
                r
            } else {
                r.start..r.start + 1
            }
        };
        // mm_cid_schedout() only tests the mode for TRANSIT and ONCPU and
        // compares prev's CID with max_cids: a value that does the same as
        // an earlier one gives nothing new, as the reads after the earlier
        // one may take every value the reads after it may.
        let cid = cid_from_transit_cid(self.pre.prev.cid);
        let mode_test = |m: u32| (cid_in_transit(m), cid_on_cpu(m));
        let max_test = |m: u32| cid < m;
        for i1 in span(modes, 0, out) {
            if modes.repeats(i1, mode_test) {
                continue;
            }
            for j2 in span(max_cids, 0, out) {
                if max_cids.repeats(j2, max_test) {
                    continue;
                }
                for i3 in span(modes, i1, inn) {
                    for j4 in span(max_cids, j2, inn) {
                        let reads = Reads {
                            out_mode: modes.at(i1),
                            out_max_cids: max_cids.at(j2),
                            in_mode: modes.at(i3),
                            in_max_cids: max_cids.at(j4),
                        };
                        let Some((path, other_cid, paths)) = self.allocations(reads, got, want)
                        else {
                            continue;
                        };
                        let (mode, max) = (modes.at(0), max_cids.at(0));
                        return Some(Agreement {
                            kind: kind(got.next_cid.filter(|_| inn)),
                            path,
                            mode_changed: (out && reads.out_mode != mode)
                                || (inn && reads.in_mode != mode),
                            max_cids_changed: (out && reads.out_max_cids != max)
                                || (inn && reads.in_max_cids != max),
                            other_cid,
                            paths,
                        });
                    }
                }
            }
        }
        None
    }

    /// The runs of one reading: with the snapshot's allocation, then, if
    /// the switch allocates, with every other result.  For the first that
    /// gives `got`, the path, whether its allocation differs from the
    /// snapshot's, and the branches it took.
    fn allocations(
        &mut self,
        reads: Reads,
        got: Prediction,
        want: &mut Option<Prediction>,
    ) -> Option<(Path, bool, u64)> {
        let mut note = |o: &Outcome| {
            want.get_or_insert(o.got);
            o.got == got
        };
        let first = self.run(reads, Alloc::Snapshot);
        match first {
            Some(o) if note(&o) => return Some((o.path, false, o.paths)),
            // No allocation to replay.  A converge that found nothing in
            // the snapshot did search, and the C may have found a CID
            // another CPU freed meanwhile.
            Some(o) if !o.allocated && o.path != Path::NotConverged => return None,
            _ => {}
        }
        let spun = first.is_none();
        let every = self.pre.nr_possible;
        for r in 0..=every {
            match self.run(reads, Alloc::Cid(r)) {
                Some(o) if note(&o) => {
                    let path = match o.path {
                        Path::Allocated if spun => Path::Spun,
                        Path::HandOver if r == every => Path::GaveUp,
                        p => p,
                    };
                    return Some((path, true, o.paths));
                }
                _ => {}
            }
        }
        None
    }

    /// `mm_cid_switch_to()` on the model, with the C's `reads` and its
    /// allocation returning `alloc`; `None` when it spins in
    /// `mm_get_cid()` (nothing free).
    fn run(&mut self, reads: Reads, alloc: Alloc) -> Option<Outcome> {
        self.load();
        let (s, cpu) = (&mut *self.s, self.cpu);
        if let Some(prev) = self.prev {
            s.mm_cid.mode = reads.out_mode;
            s.mm_cid.max_cids = reads.out_max_cids;
            mm_cid_schedout(s, cpu, prev);
        }
        s.mm_cid.mode = reads.in_mode;
        s.mm_cid.max_cids = reads.in_max_cids;
        // Nothing in mm_cid_schedin() drops a CID before it allocates, so
        // the bitmap it allocates from is this one.
        if let Alloc::Cid(r) = alloc {
            // Owned on this runqueue: never free for the C's search.
            if pinned(s, cpu, [self.prev, self.next]) & bit(r) != 0 {
                return None;
            }
            s.replay_alloc = Some(r);
        }
        // What path() reads of the state mm_cid_schedin() starts from.
        let from = SchedinFrom {
            next: self
                .next
                .filter(|&t| s.tasks[t].active)
                .map(|t| s.tasks[t].cid),
            cpu_cid: s.mm_cid.pcpu[cpu],
            allocs: s.cid_allocs,
        };
        if let Some(next) = self.next {
            mm_cid_schedin(s, cpu, next).ok()?;
        }
        let allocated = s.cid_allocs > from.allocs;
        Some(Outcome {
            got: Prediction {
                prev_cid: self.prev.map(|t| s.tasks[t].cid),
                next_cid: self.next.map(|t| s.tasks[t].cid),
                pcpu_cid: s.mm_cid.pcpu[cpu],
            },
            path: path(&from, reads, allocated),
            paths: s.paths,
            allocated,
        })
    }
}

/// What `mm_cid_schedin()` started from, as [`path`] needs it.
struct SchedinFrom {
    /// next's CID, if next is an active task of this mm.
    next: Option<u32>,
    /// This CPU's `pcpu->cid`.
    cpu_cid: u32,
    /// [`Sched::cid_allocs`] before it.
    allocs: u32,
}

/// The way `mm_cid_schedin()` went from `from`, by the tests with which
/// `mm_cid_from_cpu()` and `mm_cid_from_task()` choose it, and whether it
/// `allocated`.
fn path(from: &SchedinFrom, reads: Reads, allocated: bool) -> Path {
    let Some(tcid) = from.next else {
        return Path::Out;
    };
    let cpu_cid = from.cpu_cid;
    // "Optimize for the common case": the CID of the mode's owner, if the
    // fast path takes it.
    let owned = if cid_on_cpu(reads.in_mode) {
        cid_on_cpu(cpu_cid & tcid).then_some(cpu_cid_to_cid(cpu_cid))
    } else {
        cid_on_task(tcid | cpu_cid).then_some(tcid)
    };
    match (owned, allocated) {
        (Some(_), true) => Path::Converged,
        (Some(cid), false) if cid < reads.in_max_cids => Path::Kept,
        (Some(_), false) => Path::NotConverged,
        (None, true) => Path::Allocated,
        (None, false) => Path::HandOver,
    }
}

fn kind(next_cid: Option<u32>) -> SwitchKind {
    match next_cid {
        None => SwitchKind::Out,
        Some(c) if cid_in_transit(c) => SwitchKind::Transit,
        Some(c) if cid_on_cpu(c) => SwitchKind::CpuOwned,
        Some(_) => SwitchKind::TaskOwned,
    }
}
