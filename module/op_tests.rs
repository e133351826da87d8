// SPDX-License-Identifier: GPL-2.0

//! Tests of the fork and exit check: agreement, each allowance, and a bug
//! just outside each allowance that must be reported.
//!
//! Snapshots are taken of a model state, so that "the C" is the model
//! itself; each test then breaks the C side the way a bug would.

use super::ffi::*;
use super::model::invariants::Owner;
use super::model::*;
use super::op::*;

const MM: u64 = 0x1000;

fn addr(t: TaskId) -> u64 {
    0x2000 + 0x100 * t as u64
}

/// Snapshot model state `s` as the glue would: `cur` forks or exits `t`
/// on CPU `cpu`, every CPU quiet.
fn snap<const C: usize, const T: usize>(
    s: &Sched<C, T>,
    cur: TaskId,
    t: TaskId,
    cpu: usize,
) -> OpSnap {
    let task = |i: TaskId| TaskSnap {
        task: addr(i),
        mm: MM,
        cid: s.tasks[i].cid,
        active: u32::from(s.tasks[i].active),
        pid: 7,
        tid: i as i32,
    };
    let mut o = OpSnap {
        cpu: cpu as u32,
        nr_possible: s.nr_possible_cpus,
        possible: s.possible,
        cur: task(cur),
        t: task(t),
        t_cpu: u32::from(s.tasks[t].cpu),
        mm: MmSnap {
            mm: MM,
            mode: s.mm_cid.mode,
            max_cids: s.mm_cid.max_cids,
            users: s.mm_cid.users,
            pcpu_cid: s.mm_cid.pcpu[cpu],
            cidmask: s.mm_cid.cidmask,
        },
        pcpu_thrs: s.mm_cid.pcpu_thrs,
        nr_cpus_allowed: s.mm_cid.nr_cpus_allowed,
        update_deferred: u32::from(s.mm_cid.update_deferred),
        cpus_allowed: s.mm_cid.cpus_allowed,
        op_seq: 1,
        ops_in_flight: 1,
        ..OpSnap::default()
    };
    for c in s.possible_cpus() {
        o.cpus[c] = CpuSnap {
            // A task of another mm (or idle) where none of ours runs.
            curr: s.curr(c).map_or(0xdead_0000, addr),
            seq: 10,
            pcpu_cid: s.mm_cid.pcpu[c],
            stable: CPU_STABLE,
            prev: 0,
            next: 0,
        };
    }
    let mut n = 0;
    for i in s.mm_cid.user_list.iter() {
        o.users[n] = UserSnap {
            task: addr(i),
            cid: s.tasks[i].cid,
            active: u32::from(s.tasks[i].active),
            cpu: u32::from(s.tasks[i].cpu),
            tid: i as i32,
            switches: 5,
        };
        n += 1;
    }
    o.nr_users = n as u32;
    o
}

/// An mm on 4 CPUs with `n` users, T0 running on CPU0 and T1..Tn-1 each
/// switched in once on CPU i % 4 and, except for those in `running`,
/// out again.
fn mm_with(n: usize, running: &[TaskId]) -> Sched {
    mm_on(0b1111, n, running)
}

/// [`mm_with`] on the CPUs of `possible`, T1..Tn-1 on its i % weight-th
/// CPU.
fn mm_on<const C: usize, const T: usize>(
    possible: u64,
    n: usize,
    running: &[TaskId],
) -> Sched<C, T> {
    let mut s = Sched::<C, T>::with_possible(Variant::V7_3, possible);
    let mut cpus = [0; C];
    let nr = s
        .possible_cpus()
        .zip(cpus.iter_mut())
        .map(|(c, d)| *d = c)
        .count();
    let t0 = s.new_task(cpus[0]).unwrap();
    sched_mm_cid_fork(&mut s, cpus[0], t0, t0).unwrap();
    s.set_curr(cpus[0], Some(t0));
    mm_cid_schedin(&mut s, cpus[0], t0).unwrap();
    for i in 1..n {
        let cpu = cpus[i % nr];
        let t = s.new_task(cpu).unwrap();
        sched_mm_cid_fork(&mut s, cpus[0], t0, t).unwrap();
        if cpu != cpus[0] {
            if let Some(prev) = s.curr(cpu) {
                mm_cid_schedout(&mut s, cpu, prev);
            }
            s.set_curr(cpu, Some(t));
            mm_cid_schedin(&mut s, cpu, t).unwrap();
        }
    }
    for &cpu in &cpus[1..nr] {
        if let Some(t) = s.curr(cpu).filter(|t| !running.contains(t)) {
            mm_cid_schedout(&mut s, cpu, t);
            s.set_curr(cpu, None);
        }
    }
    s
}

/// T0 forks a new task on T0's CPU of `s`: the snapshots at entry and
/// return, as a correct C leaves them.
fn fork<const C: usize, const T: usize>(s: &Sched<C, T>) -> (OpSnap, OpSnap, Sched<C, T>, TaskId) {
    let mut after = *s;
    let cpu = usize::from(s.tasks[0].cpu);
    let t = after.new_task(cpu).unwrap();
    let pre = snap(&after, 0, t, cpu);
    sched_mm_cid_fork(&mut after, cpu, 0, t).unwrap();
    let mut post = snap(&after, 0, t, cpu);
    post.op_seq = pre.op_seq;
    (pre, post, after, t)
}

/// `t` exits on its CPU of `s` (it is running there).
fn exit<const C: usize, const T: usize>(
    s: &Sched<C, T>,
    t: TaskId,
) -> (OpSnap, OpSnap, Sched<C, T>) {
    let mut after = *s;
    let cpu = usize::from(s.tasks[t].cpu);
    let pre = snap(&after, t, t, cpu);
    sched_mm_cid_exit(&mut after, cpu, t, t);
    let post = snap(&after, t, t, cpu);
    (pre, post, after)
}

extern crate std;

std::thread_local! {
    /// Rooms a test keeps across its checks, one per CPU number, as the
    /// module keeps one per CPU.
    static USED: core::cell::RefCell<[OpSched; 8]> =
        const { core::cell::RefCell::new([OpSched::EMPTY; 8]) };
}

/// `f` with room for the model on the stack, and again in the room of
/// `post.cpu` the checks before left (they must find the same).
fn in_rooms(post: &OpSnap, f: impl Fn(&mut OpSched) -> OpCheck) -> OpCheck {
    let fresh = f(&mut OpSched::EMPTY.clone());
    let used = USED.with(|r| f(&mut r.borrow_mut()[post.cpu as usize % 8]));
    assert_eq!(fresh, used, "a used room changes the check");
    fresh
}

/// [`check_op`] of a fork (`exit == false`) or an exit in a fresh room and
/// a used one.
fn check(variant: Variant, exit: bool, pre: &OpSnap, post: &OpSnap) -> OpCheck {
    let op = if exit { Op::Exit } else { Op::Fork };
    in_rooms(post, |s| check_op(variant, op, pre, post, s))
}

fn check_fork(pre: &OpSnap, post: &OpSnap) -> OpCheck {
    check(Variant::V7_3, false, pre, post)
}

fn user_index(o: &OpSnap, t: TaskId) -> usize {
    o.kept_users()
        .iter()
        .position(|u| u.task == addr(t))
        .unwrap()
}

#[test]
fn fork_in_per_task_mode_agrees_and_accounts() {
    let (pre, post, _, _) = fork(&mm_with(2, &[]));
    let c = check_fork(&pre, &post);
    assert_eq!(c.verdict, OpVerdict::Agree(OpKind::Fork));
    assert_eq!(c.accounting, Accounting::Kept(2));
    assert_eq!((c.compared, c.skipped), (4 + 2, 0));
}

#[test]
fn child_cid_another_cpu_raced_for_is_replayed() {
    // Another CPU took CID 2 between the snapshot and the C's
    // mm_get_cid() and dropped it again: the child got CID 3.
    let (pre, mut post, _, t) = fork(&mm_with(2, &[]));
    assert_eq!(post.t.cid, 2);
    post.t.cid = 3;
    post.mm.cidmask = 0b1011;
    let i = user_index(&post, t);
    post.users[i].cid = 3;
    let c = check_fork(&pre, &post);
    assert_eq!(c.verdict, OpVerdict::Agree(OpKind::Fork));
}

#[test]
fn child_cid_out_of_range_is_a_mismatch() {
    let (pre, mut post, _, _) = fork(&mm_with(2, &[]));
    post.t.cid = 4;
    assert!(matches!(
        check_fork(&pre, &post).verdict,
        OpVerdict::Mismatch(
            OpKind::Fork,
            OpDiff {
                field: OpField::Task,
                ..
            }
        )
    ));
}

#[test]
fn users_not_counted_is_a_mismatch_unless_another_call_ran() {
    let (pre, mut post, _, _) = fork(&mm_with(2, &[]));
    post.mm.users -= 1;
    assert!(matches!(
        check_fork(&pre, &post).verdict,
        OpVerdict::Mismatch(
            _,
            OpDiff {
                field: OpField::Users,
                ..
            }
        )
    ));
    // The same numbers with another call of the mm overlapping, which
    // wrote nothing (the users are the same): still a mismatch.
    post.op_seq += 2;
    post.ops_in_flight = 2;
    assert!(matches!(
        check_fork(&pre, &post).verdict,
        OpVerdict::Mismatch(
            _,
            OpDiff {
                field: OpField::Users,
                ..
            }
        )
    ));
    // An exit of the mm in between (T1 left the list): not decided.
    let i = user_index(&post, 1);
    post.users.copy_within(i + 1..post.nr_users as usize, i);
    post.nr_users -= 1;
    assert_eq!(
        check_fork(&pre, &post).verdict,
        OpVerdict::Raced(OpRace::Overlap)
    );
}

#[test]
fn overlapped_fork_that_met_nothing_written_is_decided() {
    // Another fork or exit of the mm was in flight at both ends, waiting
    // for mm_cid::mutex or past its part: the mutex free at both ends and
    // the same other users, so nothing of it is in between.
    let (mut pre, mut post, _, _) = fork(&mm_with(3, &[1]));
    pre.ops_in_flight = 2;
    post.op_seq += 1;
    assert_eq!(
        check_fork(&pre, &post).verdict,
        OpVerdict::Agree(OpKind::Fork)
    );
    // The mutex held at either end: another call mid-way.
    for at_return in [false, true] {
        let (mut a, mut b) = (pre, post);
        if at_return {
            b.mutex_locked = 1;
        } else {
            a.mutex_locked = 1;
        }
        assert_eq!(
            check_fork(&a, &b).verdict,
            OpVerdict::Raced(OpRace::Overlap)
        );
    }
    // A fork of the mm ran whole in between: one more user at the head
    // of the list, whatever the counters say.
    let mut grown = post;
    grown.users.copy_within(0..post.nr_users as usize, 1);
    grown.users[0].task = 0xdead_0000;
    grown.users[0].tid = 999;
    grown.nr_users += 1;
    assert_eq!(
        check_fork(&pre, &grown).verdict,
        OpVerdict::Raced(OpRace::Overlap)
    );
    // A user that exited and a new one at its address (another tid):
    // not the same users.
    let mut swapped = post;
    let i = user_index(&swapped, 1);
    swapped.users[i].tid += 1000;
    assert_eq!(
        check_fork(&pre, &swapped).verdict,
        OpVerdict::Raced(OpRace::Overlap)
    );
}

#[test]
fn two_overlapping_calls_that_may_cancel_are_not_decided() {
    // A thread forked and exited between the snapshots (or a task's
    // before_execve() and after_execve()): the other users are the same
    // at both ends and the mutex free, but the two calls may have changed
    // the mode, the counters and the CIDs (seen on 7.3: an exit of users
    // 4 -> 5 that found the mm per CPU, flipped by the other thread's
    // fork).  The C's state below is not what this fork alone makes.
    let (pre, mut post, _, _) = fork(&mm_with(3, &[1]));
    post.mm.mode ^= MM_CID_ONCPU;
    // One other call, begun and ended in between, or in flight at the
    // entry: it changed the users if it wrote, so the mode is decided.
    for (in_flight, steps) in [(1, 0), (1, 1), (0, 1), (0, 2)] {
        let (mut a, mut b) = (pre, post);
        a.ops_in_flight += in_flight;
        b.op_seq += steps;
        assert!(
            matches!(
                check_fork(&a, &b).verdict,
                OpVerdict::Mismatch(
                    _,
                    OpDiff {
                        field: OpField::Mode,
                        ..
                    }
                )
            ),
            "{in_flight} in flight, {steps} steps"
        );
    }
    // Two that ran one after the other: not decided.
    for (in_flight, steps) in [(1, 2), (0, 3), (2, 0), (0, 4)] {
        let (mut a, mut b) = (pre, post);
        a.ops_in_flight += in_flight;
        b.op_seq += steps;
        assert_eq!(
            check_fork(&a, &b).verdict,
            OpVerdict::Raced(OpRace::Overlap),
            "{in_flight} in flight, {steps} steps"
        );
    }
}

#[test]
fn max_cids_and_pcpu_thrs_are_compared() {
    let (pre, mut post, _, _) = fork(&mm_with(2, &[]));
    post.mm.max_cids += 1;
    assert!(matches!(
        check_fork(&pre, &post).verdict,
        OpVerdict::Mismatch(
            _,
            OpDiff {
                field: OpField::MaxCids,
                ..
            }
        )
    ));
    let (pre, mut post, _, _) = fork(&mm_with(4, &[]));
    assert_ne!(post.pcpu_thrs, 0);
    post.pcpu_thrs += 1;
    assert!(matches!(
        check_fork(&pre, &post).verdict,
        OpVerdict::Mismatch(
            OpKind::ForkToCpu,
            OpDiff {
                field: OpField::PcpuThrs,
                ..
            }
        )
    ));
}

#[test]
fn walk_to_per_cpu_mode_agrees_user_by_user() {
    // Four users on four CPUs, T2 running: the fifth passes max_cids 4.
    let s = mm_with(4, &[2]);
    let (pre, post, after, _) = fork(&s);
    assert_eq!(after.mm_cid.mode, MM_CID_ONCPU);
    assert_eq!(after.tasks[2].cid, 2 | MM_CID_TRANSIT);
    assert_eq!(after.tasks[1].cid, MM_CID_UNSET);
    let c = check_fork(&pre, &post);
    assert_eq!(c.verdict, OpVerdict::Agree(OpKind::ForkToCpu));
    // The agreeing run's branches: the switch and its walk.
    use super::model::paths::Path;
    for p in [Path::UpdateToCpu, Path::ForkToCpu, Path::FixupTaskTransit] {
        assert!(c.paths & p.bit() != 0, "{p:?} in {:#x}", c.paths);
    }
    // A mismatch counts none.
    let mut bad = post;
    bad.mm.mode = 0;
    assert_eq!(check_fork(&pre, &bad).paths, 0);
}

#[test]
fn walk_that_drops_a_running_tasks_cid_is_a_mismatch() {
    // The C dropped T2's CID although T2 runs on CPU2 (should be TRANSIT).
    let s = mm_with(4, &[2]);
    let (pre, mut post, _, _) = fork(&s);
    let i = user_index(&post, 2);
    post.users[i].cid = MM_CID_UNSET;
    post.cpus[2].pcpu_cid = 2;
    post.mm.cidmask &= !(1 << 2);
    let c = check_fork(&pre, &post);
    assert!(
        matches!(c.verdict, OpVerdict::Mismatch(OpKind::ForkToCpu, _)),
        "{:?}",
        c
    );
}

#[test]
fn user_switched_meanwhile_is_left_out_but_counted() {
    // The same wrong CID, but CPU2 ran a context switch meanwhile: its
    // schedout may have dropped the CID legitimately.
    let s = mm_with(4, &[2]);
    let (pre, mut post, _, _) = fork(&s);
    let i = user_index(&post, 2);
    post.users[i].cid = MM_CID_UNSET;
    post.users[i].switches += 1;
    post.cpus[2].seq += 2;
    post.cpus[2].pcpu_cid = 2;
    post.mm.cidmask &= !(1 << 2);
    let c = check_fork(&pre, &post);
    assert_eq!(c.verdict, OpVerdict::Agree(OpKind::ForkToCpu));
    assert_eq!(c.skipped, 2);
}

#[test]
fn walk_to_per_task_mode_that_leaves_a_cpu_cid_is_a_mismatch() {
    // Per CPU mode with five users (pcpu_thrs 2), T2 running on a CPU
    // owned CID: T4, T3, T1 exit, then T0's exit switches back.
    let mut s = mm_with(4, &[2]);
    let (_, _, after, _) = fork(&s);
    s = after;
    let c = usize::from(s.tasks[2].cpu);
    // T2 schedules out and in again: now on a CPU owned CID.
    mm_cid_schedout(&mut s, c, 2);
    mm_cid_schedin(&mut s, c, 2).unwrap();
    assert!(cid_on_cpu(s.mm_cid.pcpu[c]));
    let mut last = None;
    for t in [4, 3, 1, 0] {
        if let Some(c) = s.curr(0) {
            mm_cid_schedout(&mut s, 0, c);
        }
        s.set_curr(0, Some(t));
        s.tasks[t].cpu = 0;
        mm_cid_schedin(&mut s, 0, t).unwrap();
        let (pre, post, after) = exit(&s, t);
        s = after;
        s.set_curr(0, None);
        last = Some((pre, post));
        if !cid_on_cpu(s.mm_cid.mode) {
            break;
        }
    }
    let (pre, mut post) = last.unwrap();
    let ok = check(Variant::V7_3, true, &pre, &post);
    assert_eq!(ok.verdict, OpVerdict::Agree(OpKind::ExitToTask));
    assert_eq!(ok.accounting, Accounting::Kept(2));
    // The C forgot to hand CPU2's CID to T2 (still ONCPU).
    post.cpus[c].pcpu_cid = pre.cpus[c].pcpu_cid;
    let i = user_index(&post, 2);
    post.users[i].cid = pre.cpus[c].pcpu_cid;
    let r = check(Variant::V7_3, true, &pre, &post);
    assert!(
        matches!(r.verdict, OpVerdict::Mismatch(OpKind::ExitToTask, _)),
        "{:?}",
        r
    );
    assert!(
        matches!(r.accounting, Accounting::Violation(true, Owner::Cpu(_))),
        "{:?}",
        r
    );
}

#[test]
fn leaked_cid_breaks_the_accounting() {
    let (pre, mut post, _, _) = fork(&mm_with(2, &[]));
    post.mm.cidmask |= 1 << 3;
    let c = check_fork(&pre, &post);
    assert_eq!(c.accounting, Accounting::Violation(true, Owner::Leaked(3)));
    assert!(matches!(
        c.verdict,
        OpVerdict::Mismatch(
            _,
            OpDiff {
                field: OpField::Cidmask,
                ..
            }
        )
    ));
}

#[test]
fn accounting_waits_for_a_consistent_view() {
    // The same leak while CPU3 is inside a context switch: its switch may
    // hold the bit it just allocated.
    let (pre, mut post, _, _) = fork(&mm_with(2, &[]));
    post.mm.cidmask |= 1 << 3;
    post.cpus[3].stable = CPU_CHANGED;
    let c = check_fork(&pre, &post);
    assert_eq!(c.accounting, Accounting::Kept(1));
    assert_eq!(c.verdict, OpVerdict::Agree(OpKind::Fork));
    assert_eq!(c.skipped, 1);
}

/// The fork of [`leaked_cid_breaks_the_accounting`] (T0 CID 0, T1 CID 1,
/// the child CID 2, on 4 CPUs), its return snapshot taken while CPU1 was
/// inside a switch from T1 to T0: both and CPU1's slot left out, read as
/// `t0`, `t1` and `slot`, the bitmap as `cidmask`; `f` changes the rest.
fn fork_beside_a_switch(
    t0: Option<u32>,
    t1: Option<u32>,
    slot: Option<u32>,
    cidmask: u64,
    f: impl FnOnce(&mut OpSnap),
) -> OpCheck {
    let (pre, mut post, _, _) = fork(&mm_with(2, &[]));
    let (i0, i1) = (user_index(&post, 0), user_index(&post, 1));
    post.users[i0].cid = t0.unwrap_or(post.users[i0].cid);
    post.users[i1].cid = t1.unwrap_or(post.users[i1].cid);
    post.cpus[1].pcpu_cid = slot.unwrap_or(post.cpus[1].pcpu_cid);
    post.cpus[1].stable = CPU_IN_SWITCH;
    post.cpus[1].prev = addr(1);
    post.cpus[1].next = addr(0);
    post.mm.cidmask = cidmask;
    f(&mut post);
    check_fork(&pre, &post)
}

#[test]
fn accounting_beside_a_switch_in_flight() {
    // Decided, not skipped: the left-out tasks' CIDs are theirs.
    let c = fork_beside_a_switch(None, None, None, 0b0111, |_| {});
    assert_eq!(c.accounting, Accounting::Kept(2));
    assert_eq!(c.beside_switch, 1);
    // T1's CID dropped by its schedule-out (mm_drop_cid() clears the bit
    // first) and T0's dropped for CPU1's (mm_unset_cid_on_task()), both
    // bits read set: two owners the switch hides.
    let unset = Some(MM_CID_UNSET);
    let c = fork_beside_a_switch(unset, unset, unset, 0b0111, |_| {});
    assert_eq!(c.accounting, Accounting::Kept(2));
}

#[test]
fn accounting_beside_a_switch_finds_what_it_cannot_hide() {
    let unset = Some(MM_CID_UNSET);
    // Three set bits nobody holds (0, 1 and 3): one switch hides two.
    let c = fork_beside_a_switch(unset, unset, unset, 0b1111, |_| {});
    assert_eq!(c.accounting, Accounting::Violation(true, Owner::Leaked(0)));
    // What the others own stays exact: CPU3 owning the child's CID ...
    let c = fork_beside_a_switch(None, None, None, 0b0111, |p| {
        p.cpus[3].pcpu_cid = 2 | MM_CID_ONCPU;
    });
    assert_eq!(c.accounting, Accounting::Violation(true, Owner::Twice(2)));
    // ... or the child's bit clear.
    let c = fork_beside_a_switch(None, None, None, 0b0011, |_| {});
    assert_eq!(
        c.accounting,
        Accounting::Violation(true, Owner::NotInBitmap(2))
    );
}

#[test]
fn accounting_waits_while_another_call_holds_the_mutex() {
    // The leak while another fork of the mm held mm_cid::mutex: its
    // child's mm_get_cid() may have set the bit before the child's CID.
    let (mut pre, mut post, _, _) = fork(&mm_with(2, &[]));
    post.mm.cidmask |= 1 << 3;
    pre.mutex_locked = 1;
    post.mutex_locked = 1;
    let c = check_fork(&pre, &post);
    assert_eq!(
        c.accounting,
        Accounting::NotConsistent(Inconsistent::OtherCall)
    );
    // The mutex free, another call's probe still between its entry and
    // its mutex_lock(): nothing of it written yet, the leak is one.
    pre.mutex_locked = 0;
    post.mutex_locked = 0;
    pre.ops_in_flight = 2;
    post.ops_in_flight = 2;
    let c = check_fork(&pre, &post);
    assert_eq!(c.accounting, Accounting::Violation(true, Owner::Leaked(3)));
    // ... and the other call wrote nothing: the fork itself is compared.
    assert!(matches!(
        c.verdict,
        OpVerdict::Mismatch(
            OpKind::Fork,
            OpDiff {
                field: OpField::Cidmask,
                ..
            }
        )
    ));
}

/// The mode a last user's exit leaves: 2 possible CPUs (`pcpu_thrs` 1),
/// T0 on CPU0 and T1 on CPU1 past max_cids with T2, per CPU mode; T2 and
/// T1 exit (1 user is not below 1), then T0, the last user, on CPU0:
/// TRANSIT with no user and CPU1 still owning its CID.  T0's exit.
fn last_user_exit_in_per_cpu_mode() -> (OpSnap, OpSnap) {
    let mut s = mm_on::<4, 8>(0b11, 3, &[1]);
    assert_eq!(s.mm_cid.mode, MM_CID_ONCPU);
    assert_eq!(s.mm_cid.pcpu_thrs, 1);
    sched_mm_cid_exit(&mut s, 0, 2, 2);
    mm_cid_schedout(&mut s, 1, 1);
    sched_mm_cid_exit(&mut s, 1, 1, 1);
    s.set_curr(1, None);
    assert!(cid_on_cpu(s.mm_cid.pcpu[1]));
    let (pre, post, after) = exit(&s, 0);
    assert_eq!((after.mm_cid.mode, after.mm_cid.users), (MM_CID_TRANSIT, 0));
    (pre, post)
}

#[test]
fn mode_left_in_transit_by_the_last_user_is_accounted() {
    // No walk holds the mutex: the CID accounting holds at both ends.
    let (pre, mut post) = last_user_exit_in_per_cpu_mode();
    let c = check(Variant::V7_3, true, &pre, &post);
    assert_eq!(c.accounting, Accounting::Kept(2));
    assert_eq!(c.verdict, OpVerdict::Agree(OpKind::LastExit));
    // A CID nobody owns in that mode is a leak (mutant 17 leaves one when
    // a task's switch-in on CPU1 overwrites CPU1's CID).
    let free = 1 - cpu_cid_to_cid(post.cpus[1].pcpu_cid);
    post.mm.cidmask |= 1 << free;
    let c = check(Variant::V7_3, true, &pre, &post);
    assert_eq!(
        c.accounting,
        Accounting::Violation(true, Owner::Leaked(free))
    );
    // ... and so is CPU1's CID without its bit.
    let (pre, mut post) = last_user_exit_in_per_cpu_mode();
    post.mm.cidmask &= !(1 << cpu_cid_to_cid(post.cpus[1].pcpu_cid));
    let c = check(Variant::V7_3, true, &pre, &post);
    assert!(matches!(
        c.accounting,
        Accounting::Violation(true, Owner::NotInBitmap(_))
    ));
}

#[test]
fn cid_owned_twice_breaks_the_accounting() {
    let (pre, mut post, _, t) = fork(&mm_with(2, &[]));
    let i = user_index(&post, t);
    post.users[i].cid = 1;
    post.t.cid = 1;
    post.mm.cidmask = 0b0011;
    let c = check_fork(&pre, &post);
    assert_eq!(c.accounting, Accounting::Violation(true, Owner::Twice(1)));
    assert!(matches!(c.verdict, OpVerdict::Mismatch(..)));
}

#[test]
fn affinity_change_meanwhile_is_not_decided() {
    let (pre, mut post, _, _) = fork(&mm_with(2, &[]));
    post.nr_cpus_allowed += 1;
    post.mm.max_cids += 1;
    assert_eq!(
        check_fork(&pre, &post).verdict,
        OpVerdict::Raced(OpRace::Affinity)
    );
}

#[test]
fn missed_probe_is_not_decided() {
    let (pre, mut post, _, _) = fork(&mm_with(2, &[]));
    post.missed += 1;
    assert_eq!(
        check_fork(&pre, &post).verdict,
        OpVerdict::Raced(OpRace::Overlap)
    );
}

#[test]
fn pre_fix_model_disagrees_with_the_v7_3_walk() {
    // The snapshots are 7.3's; the pre-fix model hands T2's CID to CPU2
    // directly instead of through TRANSIT.
    let (pre, post, _, _) = fork(&mm_with(4, &[2]));
    assert!(matches!(
        check(Variant::PreFix, false, &pre, &post).verdict,
        OpVerdict::Mismatch(OpKind::ForkToCpu, _)
    ));
}

#[test]
fn counters_out_of_step_break_an_invariant() {
    // max_cids not recomputed for the users, at the entry.
    let (mut pre, post, _, _) = fork(&mm_with(3, &[]));
    pre.mm.max_cids += 1;
    let c = check_fork(&pre, &post);
    assert_eq!(
        c.accounting,
        Accounting::Violation(false, Owner::MaxCids(3))
    );
    // pcpu_thrs set in per task mode (an affinity change's doing), at the
    // entry; the model, started from it, flips as the C does.
    let (mut pre, mut post, _, _) = fork(&mm_with(2, &[]));
    pre.pcpu_thrs = 1;
    post.pcpu_thrs = 1;
    let c = check_fork(&pre, &post);
    assert_eq!(c.accounting, Accounting::Violation(false, Owner::PcpuThrs));
    // users not the length of user_list, at the return.
    let (pre, mut post, _, _) = fork(&mm_with(2, &[]));
    post.nr_users -= 1;
    let c = check_fork(&pre, &post);
    assert_eq!(c.accounting, Accounting::Violation(true, Owner::Users(2)));
}

#[test]
fn forker_that_is_no_user_is_a_mismatch() {
    // A thread forks although execve() never made it a user.
    let (mut pre, post, _, _) = fork(&mm_with(2, &[]));
    pre.cur.active = 0;
    assert!(matches!(
        check_fork(&pre, &post).verdict,
        OpVerdict::Mismatch(
            _,
            OpDiff {
                field: OpField::ForkerActive,
                ..
            }
        )
    ));
    // execve() itself: sched_mm_cid_after_execve() makes current the
    // first user of its new mm.
    let mut s = <Sched>::new(Variant::V7_3, 4);
    let t = s.new_task(0).unwrap();
    s.set_curr(0, Some(t));
    let pre = snap(&s, t, t, 0);
    sched_mm_cid_after_execve(&mut s, 0, t).unwrap();
    let mut post = snap(&s, t, t, 0);
    post.op_seq = pre.op_seq;
    assert_eq!(
        check_fork(&pre, &post).verdict,
        OpVerdict::Agree(OpKind::FirstUser)
    );
}

#[test]
fn child_left_inactive_is_a_mismatch() {
    let (pre, mut post, _, _) = fork(&mm_with(2, &[]));
    assert_eq!(post.t.active, 1);
    post.t.active = 0;
    assert!(matches!(
        check_fork(&pre, &post).verdict,
        OpVerdict::Mismatch(
            _,
            OpDiff {
                field: OpField::TaskActive,
                ..
            }
        )
    ));
}

/// The CPUs of a machine whose possible mask has a hole: 0-3 and 8-11.
const SPARSE: u64 = 0x0f0f;

#[test]
fn sparse_possible_mask_fork_walk_agrees() {
    // 8 users on 0-3,8-11 and the ninth fork: per task mode until then
    // (pcpu_thrs needs users > 6 with 8 CPUs), so the fork switches the
    // mm to per CPU mode and its walk hands CIDs to CPUs 8-11 too.
    let s = mm_on::<MAX_CPUS, 16>(SPARSE, 8, &[1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(s.nr_possible_cpus, 8);
    let (pre, post, after, _) = fork(&s);
    assert_eq!(after.mm_cid.mode, MM_CID_ONCPU);
    // The walk reached the CPUs past the hole.
    for c in 8..12 {
        assert_ne!(pre.cpus[c].pcpu_cid, post.cpus[c].pcpu_cid, "CPU{}", c);
    }
    let c = check_fork(&pre, &post);
    assert_eq!(c.verdict, OpVerdict::Agree(OpKind::ForkToCpu));
    assert_eq!(c.accounting, Accounting::Kept(2));
    // The holes are neither compared nor left out.
    assert_eq!(c.compared + c.skipped, 8 + 8);
}

#[test]
fn sparse_possible_mask_cpu_past_the_hole_is_compared() {
    let s = mm_on::<MAX_CPUS, 16>(SPARSE, 8, &[1, 2, 3, 4, 5, 6, 7]);
    let (pre, mut post, _, _) = fork(&s);
    // The C's walk missed CPU 10, the second past the hole.
    post.cpus[10].pcpu_cid = pre.cpus[10].pcpu_cid;
    assert!(matches!(
        check_fork(&pre, &post).verdict,
        OpVerdict::Mismatch(
            OpKind::ForkToCpu,
            OpDiff {
                field: OpField::Cpu(10),
                ..
            }
        )
    ));
}

#[test]
fn a_snapshot_of_a_cpu_that_is_not_possible_is_unsupported() {
    let s = mm_on::<MAX_CPUS, 16>(SPARSE, 3, &[]);
    let (mut pre, post, _, _) = fork(&s);
    pre.cpu = 5;
    assert_eq!(check_fork(&pre, &post).verdict, OpVerdict::Unsupported);
}

#[test]
fn two_hundred_users_fork_and_exit_agree() {
    let s = mm_on::<MAX_CPUS, 256>(0xffff, 200, &[]);
    let (pre, post, after, t) = fork(&s);
    assert_eq!(pre.nr_users, 200);
    let c = check_fork(&pre, &post);
    assert_eq!(c.verdict, OpVerdict::Agree(OpKind::Fork));
    assert_eq!((c.compared, c.skipped), (16 + 200, 0));
    let (pre, post, _) = exit(&after, t);
    assert_eq!(
        check(Variant::V7_3, true, &pre, &post).verdict,
        OpVerdict::Agree(OpKind::Exit)
    );
}

#[test]
fn two_hundred_users_the_last_one_wrong_is_a_mismatch() {
    let s = mm_on::<MAX_CPUS, 256>(0xffff, 200, &[]);
    let (pre, mut post, _, _) = fork(&s);
    // The tail of user_list: T0, the first user.
    let last = post.nr_users as usize - 1;
    let want = post.users[last].cid;
    post.users[last].cid ^= 1;
    let i = user_index(&pre, 0);
    assert_eq!(i, 199);
    assert_eq!(
        check_fork(&pre, &post).verdict,
        OpVerdict::Mismatch(
            OpKind::Fork,
            OpDiff {
                field: OpField::User(i),
                want: u64::from(want),
                got: u64::from(want ^ 1),
            }
        )
    );
}

#[test]
fn more_users_than_a_snapshot_holds_are_counted_not_compared() {
    let s = mm_on::<MAX_CPUS, 256>(0xffff, 200, &[]);
    let (mut pre, post, _, _) = fork(&s);
    pre.nr_users = OP_USERS as u32 + 1;
    assert_eq!(
        check_fork(&pre, &post).verdict,
        OpVerdict::Raced(OpRace::TooManyUsers)
    );
}

#[test]
fn offline_cpus_are_compared_as_idle() {
    // 16 possible CPUs, 12 of them offline (possible_cpus=16 on a
    // 4-vCPU guest): the walk to per CPU mode must reach them too.
    let s = mm_on::<MAX_CPUS, 20>(0xffff, 16, &[]);
    let (mut pre, mut post, _, _) = fork(&s);
    for c in 4..16 {
        pre.cpus[c].curr = CURR_OFFLINE;
        post.cpus[c].curr = CURR_OFFLINE;
    }
    let c = check_fork(&pre, &post);
    assert_eq!((c.compared, c.skipped), (16 + 16, 0));
    let want = c.verdict;
    assert!(matches!(want, OpVerdict::Agree(_)), "{:?}", want);
    post.cpus[12].pcpu_cid ^= 1;
    assert!(matches!(
        check_fork(&pre, &post).verdict,
        OpVerdict::Mismatch(
            _,
            OpDiff {
                field: OpField::Cpu(12),
                ..
            }
        )
    ));
}

#[test]
fn the_models_fit_their_budgets() {
    // docs/sizes.md: per CPU for forks and exits, on the stack for switches.
    let op = core::mem::size_of::<OpSched>();
    assert!(op <= 3 * 1024, "OpSched is {} bytes", op);
    let small = core::mem::size_of::<Sched>();
    assert!(small <= 320, "the explorer's Sched is {} bytes", small);
}

#[test]
fn child_cid_freed_while_the_fork_spun_is_replayed() {
    // Seen on 7.3 (4 vCPUs, fork pattern): CID 3 was still set for a thread
    // being switched out on CPU1 when T0 forked, so the model's bitmap was
    // full below max_cids; the C's mm_get_cid() spun until CPU1 dropped
    // it and took it.
    let (mut pre, post, _, _) = fork(&mm_with(3, &[]));
    assert_eq!(
        (pre.mm.cidmask, post.t.cid, post.mm.cidmask),
        (0b0111, 3, 0b1111)
    );
    pre.mm.cidmask = 0b1111;
    pre.cpus[1].stable = CPU_CHANGED;
    assert_eq!(
        check_fork(&pre, &post).verdict,
        OpVerdict::Agree(OpKind::Fork)
    );
    // A number the bitmap had no room for is no replay.
    let mut bad = post;
    bad.t.cid = 4;
    assert!(matches!(
        check_fork(&pre, &bad).verdict,
        OpVerdict::Mismatch(..)
    ));
}

/// The affinity case of issue 16: a process started pinned to CPU0 of 8
/// possible CPUs, T0 and T1 on CPU0 (users 2 > max_cids 1: per CPU mode,
/// pcpu_thrs 1), T0 running.  `variant` is the C's.
fn pinned_pair(variant: Variant) -> Sched {
    let mut s = Sched::with_possible(variant, 0xff);
    mm_init_cid(&mut s, 0b1);
    let t0 = s.new_task(0).unwrap();
    sched_mm_cid_fork(&mut s, 0, t0, t0).unwrap();
    s.set_curr(0, Some(t0));
    mm_cid_schedin(&mut s, 0, t0).unwrap();
    let t1 = s.new_task(0).unwrap();
    sched_mm_cid_fork(&mut s, 0, t0, t1).unwrap();
    // T0 is switched out and in again: CPU0 owns its CID.
    mm_cid_schedout(&mut s, 0, t0);
    mm_cid_schedin(&mut s, 0, t0).unwrap();
    assert_eq!(
        (s.mm_cid.mode, s.mm_cid.users, s.mm_cid.pcpu_thrs),
        (MM_CID_ONCPU, 2, 1)
    );
    assert!(cid_on_cpu(s.mm_cid.pcpu[0]));
    s
}

/// T0, running on CPU0, sets its affinity to `mask`: the snapshots at
/// the entry and the return of set_cpus_allowed_common(), as the C of
/// `s.variant` leaves them.
fn affinity(s: &Sched, mask: u64) -> (OpSnap, OpSnap, Sched) {
    let mut after = *s;
    let pre = snap(&after, 0, 0, 0);
    mm_update_cpus_allowed(&mut after, mask);
    let mut post = snap(&after, 0, 0, 0);
    post.t_cpus_mask = mask;
    (pre, post, after)
}

/// [`check_op`] of `op` in a fresh room and a used one.
fn check_call(variant: Variant, op: Op, pre: &OpSnap, post: &OpSnap) -> OpCheck {
    in_rooms(post, |s| check_op(variant, op, pre, post, s))
}

#[test]
fn widening_in_per_cpu_mode_stays_there_on_7_3() {
    let (pre, post, after) = affinity(&pinned_pair(Variant::V7_3), 0b1111);
    // mm_cid_calc_pcpu_thrs() is capped by users: 2, not under it.
    assert_eq!(
        (
            after.mm_cid.mode,
            after.mm_cid.pcpu_thrs,
            after.mm_cid.update_deferred
        ),
        (MM_CID_ONCPU, 2, false)
    );
    assert_eq!(
        check_call(Variant::V7_3, Op::Affinity, &pre, &post).verdict,
        OpVerdict::Agree(OpKind::AffinityStayCpu)
    );
    // The candidate fix's model sees 7.3's threshold as a mismatch.
    assert_eq!(
        check_call(Variant::AffinitySwitchback, Op::Affinity, &pre, &post).verdict,
        OpVerdict::Mismatch(
            OpKind::AffinitySwitchBack,
            OpDiff {
                field: OpField::PcpuThrs,
                want: 3,
                got: 2
            }
        )
    );
}

#[test]
fn widening_queues_the_switch_back_with_the_fix() {
    let (pre, post, after) = affinity(&pinned_pair(Variant::AffinitySwitchback), 0b1111);
    // T(4) = min(4 - 1, 8 / 2) = 3 > users 2: queued.
    assert_eq!(
        (after.mm_cid.pcpu_thrs, after.mm_cid.update_deferred),
        (3, true)
    );
    assert_eq!(
        check_call(Variant::AffinitySwitchback, Op::Affinity, &pre, &post).verdict,
        OpVerdict::Agree(OpKind::AffinitySwitchBack)
    );
    assert!(matches!(
        check_call(Variant::V7_3, Op::Affinity, &pre, &post).verdict,
        OpVerdict::Mismatch(
            _,
            OpDiff {
                field: OpField::PcpuThrs,
                ..
            }
        )
    ));
}

#[test]
fn narrowing_changes_nothing() {
    let mut s = pinned_pair(Variant::V7_3);
    mm_update_cpus_allowed(&mut s, 0b1111);
    let (pre, post, after) = affinity(&s, 0b0010);
    assert_eq!(after, s);
    assert_eq!(
        check_call(Variant::V7_3, Op::Affinity, &pre, &post).verdict,
        OpVerdict::Agree(OpKind::AffinitySame)
    );
    // A C that took the task's mask for the mm's (it only grows).
    let mut bad = post;
    bad.cpus_allowed = 0b0010;
    bad.nr_cpus_allowed = 1;
    assert!(matches!(
        check_call(Variant::V7_3, Op::Affinity, &pre, &bad).verdict,
        OpVerdict::Mismatch(
            _,
            OpDiff {
                field: OpField::NrCpusAllowed,
                ..
            }
        )
    ));
}

#[test]
fn widening_that_keeps_max_cids_is_a_mismatch_unless_another_call_ran() {
    // Per task mode: T0 alone, pinned, then widened.
    let mut s = Sched::with_possible(Variant::V7_3, 0xff);
    mm_init_cid(&mut s, 0b1);
    let t0 = s.new_task(0).unwrap();
    sched_mm_cid_fork(&mut s, 0, t0, t0).unwrap();
    s.set_curr(0, Some(t0));
    let (pre, post, after) = affinity(&s, 0b1111);
    assert_eq!(
        (after.mm_cid.nr_cpus_allowed, after.mm_cid.max_cids),
        (4, 1)
    );
    assert_eq!(
        check_call(Variant::V7_3, Op::Affinity, &pre, &post).verdict,
        OpVerdict::Agree(OpKind::AffinityTaskMode)
    );
    let mut bad = post;
    bad.mm.max_cids = 7;
    assert_eq!(
        check_call(Variant::V7_3, Op::Affinity, &pre, &bad).verdict,
        OpVerdict::Mismatch(
            OpKind::AffinityTaskMode,
            OpDiff {
                field: OpField::MaxCids,
                want: 1,
                got: 7
            }
        )
    );
    // A fork of the mm (mm_cid::mutex, not the runqueue lock the affinity
    // change holds) began and ended between the snapshots.
    bad.op_seq += 2;
    assert_eq!(
        check_call(Variant::V7_3, Op::Affinity, &pre, &bad).verdict,
        OpVerdict::Raced(OpRace::Overlap)
    );
    // An update_deferred the C set without a reason.
    let mut bad = post;
    bad.update_deferred = 1;
    assert!(matches!(
        check_call(Variant::V7_3, Op::Affinity, &pre, &bad).verdict,
        OpVerdict::Mismatch(
            _,
            OpDiff {
                field: OpField::UpdateDeferred,
                ..
            }
        )
    ));
}

/// The deferred work of [`widening_queues_the_switch_back_with_the_fix`],
/// run by a kworker on CPU3 (no task of the mm there): the snapshots at
/// its entry and return as the C leaves them.
fn deferred_work() -> (OpSnap, OpSnap, Sched) {
    let (_, _, s) = affinity(&pinned_pair(Variant::AffinitySwitchback), 0b1111);
    let mut after = s;
    assert!(mm_cid_work_fn(&mut after));
    mm_cid_fixup_cpus_to_tasks(&mut after);
    let kworker = TaskSnap {
        task: 0x9000,
        mm: 0,
        cid: MM_CID_UNSET,
        active: 0,
        pid: 2,
        tid: 40,
    };
    let (mut pre, mut post) = (snap(&s, 0, 0, 3), snap(&after, 0, 0, 3));
    for o in [&mut pre, &mut post] {
        (o.cur, o.t, o.t_cpu) = (kworker, kworker, 3);
    }
    (pre, post, after)
}

#[test]
fn deferred_work_switches_back_cpu_by_cpu() {
    let (pre, post, after) = deferred_work();
    assert_eq!(
        (
            after.mm_cid.mode,
            after.mm_cid.pcpu_thrs,
            after.mm_cid.update_deferred
        ),
        (0, 0, false)
    );
    let c = check_call(Variant::AffinitySwitchback, Op::Work, &pre, &post);
    assert_eq!(c.verdict, OpVerdict::Agree(OpKind::WorkToTask));
    // Every possible CPU and both users compared; the return is a
    // consistent view (the entry has the work queued).
    assert_eq!((c.compared, c.skipped), (10, 0));
    assert_eq!(c.accounting, Accounting::Kept(1));
    // Run a second time, the work finds it done.
    let mut again = post;
    again.op_seq += 2;
    let (mut pre2, mut post2) = (post, post);
    pre2.op_seq = again.op_seq;
    post2.op_seq = again.op_seq;
    assert_eq!(
        check_call(Variant::AffinitySwitchback, Op::Work, &pre2, &post2).verdict,
        OpVerdict::Agree(OpKind::WorkIdle)
    );
}

#[test]
fn deferred_work_that_leaves_a_cpu_cid_is_a_mismatch_unless_another_call_ran() {
    let (pre, mut post, _) = deferred_work();
    // CPU0 owned T0's CID in per CPU mode; a walk that skipped it.
    assert!(cid_on_cpu(pre.cpus[0].pcpu_cid));
    post.cpus[0].pcpu_cid = pre.cpus[0].pcpu_cid;
    assert!(matches!(
        check_call(Variant::AffinitySwitchback, Op::Work, &pre, &post).verdict,
        OpVerdict::Mismatch(
            OpKind::WorkToTask,
            OpDiff {
                field: OpField::Cpu(0),
                ..
            }
        )
    ));
    // An exit of the mm in flight at the work's entry (it waits for
    // mm_cid::mutex): not decided.
    let mut pre = pre;
    pre.ops_in_flight = 2;
    assert_eq!(
        check_call(Variant::AffinitySwitchback, Op::Work, &pre, &post).verdict,
        OpVerdict::Raced(OpRace::Overlap)
    );
}

#[test]
fn narrowing_overlapped_by_a_fork_is_a_no_op_whatever_ran() {
    let mut s = pinned_pair(Variant::V7_3);
    mm_update_cpus_allowed(&mut s, 0b1111);
    let (pre, mut post, _) = affinity(&s, 0b0010);
    // A fork of the mm began and ended between the snapshots, and changed
    // users and max_cids: the narrowing wrote nothing whatever it did.
    post.op_seq += 2;
    post.mm.users += 1;
    post.mm.max_cids += 1;
    assert_eq!(
        check_call(Variant::V7_3, Op::Affinity, &pre, &post).verdict,
        OpVerdict::Agree(OpKind::AffinitySame)
    );
    // ... unless nr_cpus_allowed is not the mask's weight, which the
    // argument needs.
    let mut bad = post;
    bad.nr_cpus_allowed = 3;
    assert!(matches!(
        check_call(Variant::V7_3, Op::Affinity, &pre, &bad).verdict,
        OpVerdict::Mismatch(
            OpKind::AffinitySame,
            OpDiff {
                field: OpField::NrCpusAllowed,
                ..
            }
        )
    ));
    // A widening overlapped is not decided.
    let (pre, mut post, _) = affinity(&pinned_pair(Variant::V7_3), 0b1111);
    post.op_seq += 2;
    assert_eq!(
        check_call(Variant::V7_3, Op::Affinity, &pre, &post).verdict,
        OpVerdict::Raced(OpRace::Overlap)
    );
}

/// A process forks: its current runs in another mm (`OTHER_MM`, CID 3 of
/// it), the child is the first user of the mm `dup_mm()` made on 4 CPUs
/// with `cpus_allowed`.  The snapshots at entry and return.
fn process_fork(cpus_allowed: u64) -> (OpSnap, OpSnap) {
    const OTHER_MM: u64 = 0x9000;
    let mut s = <Sched>::new(Variant::V7_3, 4);
    mm_init_cid(&mut s, cpus_allowed);
    let child = s.new_task(1).unwrap();
    let parent = s.new_task(1).unwrap();
    let mut pre = snap(&s, parent, child, 1);
    sched_mm_cid_fork(&mut s, 1, parent, child).unwrap();
    let mut post = snap(&s, parent, child, 1);
    for o in [&mut pre, &mut post] {
        o.cur.mm = OTHER_MM;
        o.cur.cid = 3;
        o.cur.active = 1;
        o.cur.pid = 6;
        o.t.pid = 9;
        o.t_cpus_mask = cpus_allowed;
    }
    (pre, post)
}

#[test]
fn process_fork_into_a_fresh_mm_agrees() {
    let (pre, post) = process_fork(0b0110);
    assert_eq!(OpCaller::of(Op::Fork, &pre), Some(OpCaller::NewMm));
    let c = check_fork(&pre, &post);
    assert_eq!(c.verdict, OpVerdict::Agree(OpKind::FirstUser));
    // The child's CID is 0 and its CPU owns nothing: per task mode.
    assert_eq!(post.t.cid, 0);
}

#[test]
fn process_fork_from_an_mm_that_is_not_fresh_is_a_mismatch() {
    // Each field mm_init_cid() or mm_alloc_cid() sets, one off.
    type Break = (OpField, fn(&mut OpSnap));
    let breaks: [Break; 8] = [
        (OpField::Mode, |o| o.mm.mode = MM_CID_ONCPU),
        (OpField::Users, |o| o.mm.users = 1),
        (OpField::MaxCids, |o| o.mm.max_cids = 1),
        (OpField::PcpuThrs, |o| o.pcpu_thrs = 1),
        (OpField::NrCpusAllowed, |o| o.nr_cpus_allowed = 3),
        (OpField::UpdateDeferred, |o| o.update_deferred = 1),
        (OpField::Cidmask, |o| o.mm.cidmask = 1),
        // A slot copied from the parent's mm instead of zeroed.
        (OpField::Cpu(3), |o| o.cpus[3].pcpu_cid = MM_CID_UNSET),
    ];
    for (field, bad) in breaks {
        let (mut pre, post) = process_fork(0b0110);
        bad(&mut pre);
        let v = check_fork(&pre, &post).verdict;
        assert!(
            matches!(v, OpVerdict::Mismatch(OpKind::FirstUser, d) if d.field == field),
            "{field:?}: {v:?}"
        );
    }
    // The child's mask moved since dup_mm(): the mm's mask stands.
    let (mut pre, post) = process_fork(0b0110);
    pre.t_cpus_mask = 0b1000;
    assert_eq!(
        check_fork(&pre, &post).verdict,
        OpVerdict::Agree(OpKind::FirstUser)
    );
}

#[test]
fn callers_are_told_apart() {
    let (pre, _, _, _) = fork(&mm_with(2, &[]));
    assert_eq!(OpCaller::of(Op::Fork, &pre), Some(OpCaller::Thread));
    let mut shared = pre;
    shared.t.pid = 8;
    assert_eq!(OpCaller::of(Op::Fork, &shared), Some(OpCaller::SharedMm));
    // sched_mm_cid_after_execve(): current itself, alone or not.
    let mut after = pre;
    after.t = after.cur;
    after.t.active = 0;
    assert_eq!(
        OpCaller::of(Op::Fork, &after),
        Some(OpCaller::AfterFailedExec)
    );
    after.mm.users = 0;
    assert_eq!(OpCaller::of(Op::Fork, &after), Some(OpCaller::AfterExec));
    let (mut pre, _, _) = exit(&mm_with(2, &[1]), 1);
    assert_eq!(OpCaller::of(Op::Exit, &pre), Some(OpCaller::Exit));
    pre.t_in_execve = 1;
    assert_eq!(OpCaller::of(Op::Exit, &pre), Some(OpCaller::BeforeExec));
    assert_eq!(OpCaller::of(Op::Affinity, &pre), None);
}

#[test]
fn failed_execve_in_per_cpu_mode_then_switched_in_agrees() {
    // Six users on four CPUs, per CPU mode; T1, running on CPU1, fails an
    // execve(): sched_mm_cid_before_execve(), then _after_execve() makes
    // it a user again with MM_CID_UNSET.
    let mut s = mm_with(6, &[1]);
    assert_eq!(s.mm_cid.mode, MM_CID_ONCPU);
    sched_mm_cid_before_execve(&mut s, 1, 1);
    let pre = snap(&s, 1, 1, 1);
    sched_mm_cid_after_execve(&mut s, 1, 1).unwrap();
    let mut post = snap(&s, 1, 1, 1);
    post.op_seq = pre.op_seq;
    assert_eq!(post.t.cid, MM_CID_UNSET);
    assert_eq!(
        OpCaller::of(Op::Fork, &pre),
        Some(OpCaller::AfterFailedExec)
    );
    assert_eq!(
        check_fork(&pre, &post).verdict,
        OpVerdict::Agree(OpKind::Fork)
    );
    // Switched out and in before the return snapshot: CPU1's CID now.
    let mut switched = post;
    switched.switches = pre.switches + 1;
    switched.t.cid = post.cpus[1].pcpu_cid;
    switched.cur.cid = switched.t.cid;
    let c = check_fork(&pre, &switched);
    assert_eq!(c.verdict, OpVerdict::Agree(OpKind::Fork));
    assert!(c.skipped >= 1);
    // The same CID without a switch: the C gave it, a mismatch.
    let mut given = switched;
    given.switches = pre.switches;
    assert!(matches!(
        check_fork(&pre, &given).verdict,
        OpVerdict::Mismatch(
            _,
            OpDiff {
                field: OpField::Task,
                ..
            }
        )
    ));
}
