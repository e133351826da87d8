// SPDX-License-Identifier: GPL-2.0

//! Tests of the switch check (check.rs): agreement, each race allowance,
//! and the mismatches it must report.

use super::check::*;
use super::ffi::*;
use super::model::*;

const MM: u64 = 0x1000;

fn task(cid: u32) -> TaskSnap {
    TaskSnap {
        task: 0x2000 + u64::from(cid & 0xff),
        mm: MM,
        cid,
        active: 1,
        pid: 7,
        tid: 0,
    }
}

/// A switch on CPU1 of a 4-CPU machine, per task mode, T(1) -> T(2).
pub(super) fn pre() -> SwitchSnap {
    SwitchSnap {
        cpu: 1,
        nr_possible: 4,
        possible: 0b1111,
        prev: task(1),
        next: task(2),
        mm: MmSnap {
            mm: MM,
            mode: 0,
            max_cids: 4,
            users: 3,
            pcpu_cid: 1,
            cidmask: 0b0111,
        },
    }
}

extern crate std;

std::thread_local! {
    /// Rooms a test keeps across its checks, one per CPU number, as the
    /// module keeps one per CPU.
    static USED: core::cell::RefCell<[SwitchSched; 16]> =
        const { core::cell::RefCell::new([SwitchSched::EMPTY; 16]) };
}

/// [`super::check::check_switch`] in a fresh room and in the room of
/// `pre.cpu` the checks before left (they must agree).
fn checked_twice(variant: Variant, pre: &SwitchSnap, post: &SwitchSnap) -> SwitchVerdict {
    let fresh = super::check::check_switch(variant, pre, post, &mut room());
    let used = USED.with(|r| {
        let rooms = &mut *r.borrow_mut();
        let s = &mut rooms[pre.cpu as usize % 16];
        super::check::check_switch(variant, pre, post, s)
    });
    assert_eq!(fresh, used, "a used room changes the verdict");
    fresh
}

fn room() -> SwitchSched {
    SwitchSched::EMPTY
}

/// [`super::check::check_switch`] with the paths of an agreement left
/// out, which the tests below do not spell; `paths_of_an_agreement`
/// checks them.
fn check_switch(variant: Variant, pre: &SwitchSnap, post: &SwitchSnap) -> SwitchVerdict {
    match checked_twice(variant, pre, post) {
        SwitchVerdict::Agree(a) => SwitchVerdict::Agree(Agreement { paths: 0, ..a }),
        v => v,
    }
}

/// What a switch that needed no change by another CPU agrees as.
fn agree(kind: SwitchKind, path: Path) -> SwitchVerdict {
    SwitchVerdict::Agree(Agreement {
        kind,
        path,
        mode_changed: false,
        max_cids_changed: false,
        other_cid: false,
        paths: 0,
    })
}

/// The same, with the changes by other CPUs `f` sets.
fn agree_with(kind: SwitchKind, path: Path, f: impl FnOnce(&mut Agreement)) -> SwitchVerdict {
    let SwitchVerdict::Agree(mut a) = agree(kind, path) else {
        unreachable!()
    };
    f(&mut a);
    SwitchVerdict::Agree(a)
}

fn is_mismatch(v: SwitchVerdict) -> bool {
    matches!(
        v,
        SwitchVerdict::Mismatch(Mismatch {
            bit_clear: None,
            walk_behind: false,
            ..
        })
    )
}

/// A task of another mm.
fn stranger() -> TaskSnap {
    TaskSnap {
        mm: 0x9000,
        ..task(MM_CID_UNSET)
    }
}

#[test]
fn task_mode_switch_agrees() {
    let a = pre();
    let mut b = a;
    b.mm.pcpu_cid = 2;
    assert_eq!(
        check_switch(Variant::V7_3, &a, &b),
        agree(SwitchKind::TaskOwned, Path::Kept)
    );
}

#[test]
fn wrong_pcpu_is_a_mismatch() {
    let a = pre();
    let b = a; // the C did not update pcpu->cid
    assert!(matches!(
        check_switch(Variant::V7_3, &a, &b),
        SwitchVerdict::Mismatch(Mismatch {
            want: Some(p),
            bit_clear: None,
            walk_behind: false
        }) if p.pcpu_cid == 2
    ));
}

#[test]
fn transit_handover_in_cpu_mode_agrees() {
    // Task to CPU transition: next still owns CID 2, CPU1 owns nothing.
    let mut a = pre();
    a.mm.mode = MM_CID_ONCPU | MM_CID_TRANSIT;
    let mut b = a;
    b.next.cid = 2 | MM_CID_TRANSIT;
    b.mm.pcpu_cid = 2 | MM_CID_TRANSIT;
    assert_eq!(
        check_switch(Variant::V7_3, &a, &b),
        agree(SwitchKind::Transit, Path::HandOver)
    );
}

#[test]
fn wrong_owner_flags_are_a_mismatch_even_when_allocating() {
    let mut a = pre();
    a.next.cid = MM_CID_UNSET;
    a.mm.cidmask = 0b0011;
    let mut b = a;
    b.next.cid = 2 | MM_CID_ONCPU;
    b.mm.pcpu_cid = 2 | MM_CID_ONCPU;
    b.mm.cidmask = 0b0111;
    assert!(is_mismatch(check_switch(Variant::V7_3, &a, &b)));
}

#[test]
fn a_switch_on_a_cpu_that_is_not_possible_is_unsupported() {
    let mut a = pre();
    a.possible = 0b1101;
    a.nr_possible = 3;
    assert_eq!(
        check_switch(Variant::V7_3, &a, &a),
        SwitchVerdict::Unsupported
    );
    a.cpu = 64;
    assert_eq!(
        check_switch(Variant::V7_3, &a, &a),
        SwitchVerdict::Unsupported
    );
}

/// next has no CID and allocates; prev holds CID 1, another task CID 0.
fn allocating() -> SwitchSnap {
    let mut a = pre();
    a.next.cid = MM_CID_UNSET;
    a.mm.cidmask = 0b0011;
    a
}

/// `pre` after next got `cid` (task owned) and the bitmap became `cidmask`.
fn allocated(pre: &SwitchSnap, cid: u32, cidmask: u64) -> SwitchSnap {
    let mut b = *pre;
    b.next.cid = cid;
    b.mm.pcpu_cid = cid;
    b.mm.cidmask = cidmask;
    b
}

#[test]
fn allocation_of_the_lowest_free_cid_agrees() {
    let a = allocating();
    assert_eq!(
        check_switch(Variant::V7_3, &a, &allocated(&a, 2, 0b0111)),
        agree(SwitchKind::TaskOwned, Path::Allocated)
    );
}

#[test]
fn allocation_of_another_free_cid_agrees() {
    // The model takes CID 2.  Another CPU may have dropped CID 0 before
    // the C looked, or taken CID 2.
    let a = allocating();
    let other = |a: &mut Agreement| a.other_cid = true;
    for (cid, cidmask) in [(0, 0b0011), (3, 0b1111)] {
        assert_eq!(
            check_switch(Variant::V7_3, &a, &allocated(&a, cid, cidmask)),
            agree_with(SwitchKind::TaskOwned, Path::Allocated, other),
            "CID {}",
            cid
        );
    }
}

#[test]
fn allocation_of_a_cid_prev_holds_is_a_mismatch() {
    // prev owns CID 1 and is on this runqueue: nobody can free it.
    let a = allocating();
    assert!(is_mismatch(check_switch(
        Variant::V7_3,
        &a,
        &allocated(&a, 1, 0b0011)
    )));
}

#[test]
fn allocated_cid_with_its_bit_clear_is_a_mismatch() {
    let a = allocating();
    assert_eq!(
        check_switch(Variant::V7_3, &a, &allocated(&a, 2, 0b0011)),
        SwitchVerdict::Mismatch(Mismatch {
            want: Some(Prediction {
                prev_cid: Some(1),
                next_cid: Some(2),
                pcpu_cid: 2
            }),
            bit_clear: Some(2),
            walk_behind: false
        })
    );
}

#[test]
fn wrong_prev_cid_while_next_allocates_is_a_mismatch() {
    // The transition to per task mode is over: prev takes its transit
    // CID 1 along at schedule-out, next allocates.
    let mut a = allocating();
    a.prev.cid = 1 | MM_CID_TRANSIT;
    a.mm.pcpu_cid = 1 | MM_CID_TRANSIT;
    let mut b = allocated(&a, 2, 0b0111);
    b.prev.cid = 1;
    assert_eq!(
        check_switch(Variant::V7_3, &a, &b),
        agree(SwitchKind::TaskOwned, Path::Allocated)
    );
    // Whatever number next got, prev's CID is not the C's to choose.
    b.prev.cid = 0;
    assert!(is_mismatch(check_switch(Variant::V7_3, &a, &b)));
    b = allocated(&a, 3, 0b1111);
    b.prev.cid = 0;
    assert!(is_mismatch(check_switch(Variant::V7_3, &a, &b)));
}

#[test]
fn drop_and_reallocation_meanwhile_agrees() {
    // Seen in a guest: prev drops its transit CID 2 at schedout, next
    // allocates; the model takes 2 again, the C took 1, which another CPU
    // had dropped in between.  The bitmap is the same before and after.
    let mut a = pre();
    a.mm.mode = MM_CID_ONCPU | MM_CID_TRANSIT;
    a.mm.cidmask = 0b0111;
    a.prev.cid = 2 | MM_CID_TRANSIT;
    a.next.cid = MM_CID_UNSET;
    a.mm.pcpu_cid = 2 | MM_CID_TRANSIT;
    let mut b = a;
    b.prev.cid = MM_CID_UNSET;
    b.next.cid = 1 | MM_CID_TRANSIT;
    b.mm.pcpu_cid = 1 | MM_CID_TRANSIT;
    assert_eq!(
        check_switch(Variant::V7_3, &a, &b),
        agree_with(SwitchKind::Transit, Path::Allocated, |a| a.other_cid = true)
    );
    // The model's own number agrees.
    b.next.cid = 2 | MM_CID_TRANSIT;
    b.mm.pcpu_cid = 2 | MM_CID_TRANSIT;
    assert_eq!(
        check_switch(Variant::V7_3, &a, &b),
        agree(SwitchKind::Transit, Path::Allocated)
    );
}

/// Per task mode after exits: max_cids 2, next owns CID 3 and converges,
/// prev owns CID 1; CIDs 0 and 2 are free.
fn converging() -> SwitchSnap {
    let mut a = pre();
    a.next = task(3);
    a.mm.max_cids = 2;
    a.mm.users = 2;
    a.mm.cidmask = 0b1010;
    a
}

#[test]
fn converge_into_the_lowest_free_cid_agrees() {
    let a = converging();
    assert_eq!(
        check_switch(Variant::V7_3, &a, &allocated(&a, 0, 0b0011)),
        agree(SwitchKind::TaskOwned, Path::Converged)
    );
}

#[test]
fn converge_that_found_nothing_agrees() {
    // Other CPUs took CID 0 before the C looked, or its test_and_set_bit()
    // lost: mm_cid_converge() keeps CID 3.
    let a = converging();
    assert_eq!(
        check_switch(Variant::V7_3, &a, &allocated(&a, 3, 0b1011)),
        agree_with(SwitchKind::TaskOwned, Path::NotConverged, |a| {
            a.other_cid = true
        })
    );
}

#[test]
fn converge_into_a_cid_prev_holds_is_a_mismatch() {
    let a = converging();
    assert!(is_mismatch(check_switch(
        Variant::V7_3,
        &a,
        &allocated(&a, 1, 0b0010)
    )));
}

#[test]
fn converge_outside_max_cids_is_a_mismatch() {
    // CID 2 is free but not below max_cids: mm_cid_converge() does not
    // look there.
    let a = converging();
    assert!(is_mismatch(check_switch(
        Variant::V7_3,
        &a,
        &allocated(&a, 2, 0b0110)
    )));
}

#[test]
fn converge_below_max_cids_is_a_mismatch() {
    // next's CID 1 is in the optimal space already: the fast path keeps it.
    let mut a = converging();
    a.prev = task(3);
    a.next = task(1);
    assert!(is_mismatch(check_switch(
        Variant::V7_3,
        &a,
        &allocated(&a, 0, 0b1001)
    )));
}

#[test]
fn converged_cid_with_its_bit_clear_is_a_mismatch() {
    let a = converging();
    assert!(matches!(
        check_switch(Variant::V7_3, &a, &allocated(&a, 0, 0b0010)),
        SwitchVerdict::Mismatch(Mismatch {
            bit_clear: Some(0),
            ..
        })
    ));
}

#[test]
fn mode_flipped_between_schedout_and_schedin_agrees() {
    // The task to CPU walk completed between the two: schedout saw
    // ONCPU|TRANSIT and dropped prev's CID 2, schedin saw ONCPU and
    // allocated a CPU owned CID without TRANSIT.
    let mut a = pre();
    a.mm.mode = MM_CID_ONCPU | MM_CID_TRANSIT;
    a.prev.cid = 2 | MM_CID_TRANSIT;
    a.next.cid = MM_CID_UNSET;
    a.mm.pcpu_cid = 2 | MM_CID_TRANSIT;
    let mut b = a;
    b.mm.mode = MM_CID_ONCPU;
    b.prev.cid = MM_CID_UNSET;
    b.next.cid = 2 | MM_CID_ONCPU;
    b.mm.pcpu_cid = 2 | MM_CID_ONCPU;
    assert_eq!(
        check_switch(Variant::V7_3, &a, &b),
        agree_with(SwitchKind::CpuOwned, Path::Allocated, |a| {
            a.mode_changed = true
        })
    );
    // Schedout cannot have seen ONCPU and schedin ONCPU|TRANSIT.
    b.prev.cid = 2 | MM_CID_ONCPU;
    b.next.cid = 2 | MM_CID_TRANSIT;
    b.mm.pcpu_cid = 2 | MM_CID_TRANSIT;
    assert!(is_mismatch(check_switch(Variant::V7_3, &a, &b)));
}

#[test]
fn mode_flipped_meanwhile_agrees_with_the_new_mode() {
    // A fork flipped per task mode to ONCPU|TRANSIT: next's CID 2 goes in
    // transit to CPU1, as mm_cid_from_cpu() does in that mode.
    let a = pre();
    let mut b = a;
    b.mm.mode = MM_CID_ONCPU | MM_CID_TRANSIT;
    b.next.cid = 2 | MM_CID_TRANSIT;
    b.mm.pcpu_cid = 2 | MM_CID_TRANSIT;
    let flipped = |a: &mut Agreement| a.mode_changed = true;
    assert_eq!(
        check_switch(Variant::V7_3, &a, &b),
        agree_with(SwitchKind::Transit, Path::HandOver, flipped)
    );
    // The walk also completed: ONCPU|TRANSIT is on the way to ONCPU.
    let mut c = b;
    c.mm.mode = MM_CID_ONCPU;
    assert_eq!(
        check_switch(Variant::V7_3, &a, &c),
        agree_with(SwitchKind::Transit, Path::HandOver, flipped)
    );
    // Had the C acted on ONCPU, which the mode reaches only after the walk,
    // with only the flip seen in the second snapshot: a mismatch.
    b.next.cid = 2 | MM_CID_ONCPU;
    b.mm.pcpu_cid = 2 | MM_CID_ONCPU;
    assert!(is_mismatch(check_switch(Variant::V7_3, &a, &b)));
}

#[test]
fn mode_behind_the_first_snapshot_is_a_mismatch() {
    // From ONCPU|TRANSIT to ONCPU the mode does not pass per task mode,
    // whose fast path would leave next's CID 2 task owned.
    let mut a = pre();
    a.mm.mode = MM_CID_ONCPU | MM_CID_TRANSIT;
    let mut b = a;
    b.mm.mode = MM_CID_ONCPU;
    b.mm.pcpu_cid = 2;
    assert!(is_mismatch(check_switch(Variant::V7_3, &a, &b)));
}

/// Only prev, with transit CID 2, switches out in per task mode, and an
/// exit moved users from `users` to `users - 1` meanwhile.
fn transit_out(max_cids: u32, new_max_cids: u32, users: u32) -> (SwitchSnap, SwitchSnap) {
    let mut a = pre();
    a.prev.cid = 2 | MM_CID_TRANSIT;
    a.next = stranger();
    a.mm.pcpu_cid = 2 | MM_CID_TRANSIT;
    a.mm.max_cids = max_cids;
    a.mm.users = users;
    a.mm.cidmask = 0b0111;
    let mut b = a;
    b.mm.max_cids = new_max_cids;
    b.mm.users = users - 1;
    // The C dropped CID 2: it saw max_cids at most 2.
    b.prev.cid = MM_CID_UNSET;
    b.mm.cidmask = 0b0011;
    (a, b)
}

#[test]
fn max_cids_lowered_meanwhile_agrees() {
    let (a, b) = transit_out(4, 2, 3);
    assert_eq!(
        check_switch(Variant::V7_3, &a, &b),
        agree_with(SwitchKind::Out, Path::Out, |a| a.max_cids_changed = true)
    );
}

#[test]
fn max_cids_that_neither_snapshot_holds_is_a_mismatch() {
    let (a, b) = transit_out(4, 3, 4);
    assert!(is_mismatch(check_switch(Variant::V7_3, &a, &b)));
}

#[test]
fn max_cids_after_several_exits_is_not_decided() {
    // Two exits: max_cids may have been 2 for a while.
    let (a, mut b) = transit_out(4, 3, 4);
    b.mm.users = 2;
    assert_eq!(
        check_switch(Variant::V7_3, &a, &b),
        SwitchVerdict::Raced(SwitchRace::MaxCids)
    );
}

#[test]
fn max_cids_read_out_of_order_is_a_mismatch() {
    // 8 CPUs, a fork moved max_cids from 3 to 5.  prev's transit CID 3 is
    // dropped with 3, kept with 5; next's CID 4 converges with 3, stays
    // with 5.  Schedout saw 5 and schedin 3: time runs backwards.
    let mut a = pre();
    a.nr_possible = 8;
    a.possible = 0xff;
    a.prev = task(3 | MM_CID_TRANSIT);
    a.next = task(4);
    a.mm.pcpu_cid = 3 | MM_CID_TRANSIT;
    a.mm.max_cids = 3;
    a.mm.cidmask = 0b1_1000;
    let mut b = a;
    b.mm.max_cids = 5;
    b.mm.users = a.mm.users + 1;
    b.prev.cid = 3;
    b.next.cid = 0;
    b.mm.pcpu_cid = 0;
    b.mm.cidmask = 0b0_1001;
    assert!(is_mismatch(check_switch(Variant::V7_3, &a, &b)));
    // Both saw 5: next keeps CID 4.
    b.next.cid = 4;
    b.mm.pcpu_cid = 4;
    b.mm.cidmask = 0b1_1000;
    assert_eq!(
        check_switch(Variant::V7_3, &a, &b),
        agree_with(SwitchKind::TaskOwned, Path::Kept, |a| {
            a.max_cids_changed = true
        })
    );
}

/// Every CID is taken in the snapshot: prev holds 1, other tasks 0, 2, 3.
fn pool_empty() -> SwitchSnap {
    let mut a = allocating();
    a.mm.cidmask = 0b1111;
    a
}

#[test]
fn allocation_from_an_empty_pool_agrees_with_a_freed_cid() {
    // The C spun until another CPU freed CID 3.
    let a = pool_empty();
    assert_eq!(
        check_switch(Variant::V7_3, &a, &allocated(&a, 3, 0b1111)),
        agree_with(SwitchKind::TaskOwned, Path::Spun, |a| a.other_cid = true)
    );
}

#[test]
fn allocation_from_an_empty_pool_of_a_held_cid_is_a_mismatch() {
    let a = pool_empty();
    assert!(is_mismatch(check_switch(
        Variant::V7_3,
        &a,
        &allocated(&a, 1, 0b1111)
    )));
}

/// Seen on the bounded-cid-wait kernel: in the transition to per task
/// mode next allocates from a bitmap with CID 2 free, and other CPUs take
/// it (and every other) while `mm_get_cid()` looks; it gives up with
/// MM_CID_UNSET, the transit bit added.
fn gave_up() -> (SwitchSnap, SwitchSnap) {
    let mut a = allocating();
    a.mm.mode = MM_CID_TRANSIT;
    a.prev = stranger();
    let mut b = allocated(&a, MM_CID_UNSET | MM_CID_TRANSIT, 0b1111);
    b.mm.pcpu_cid = MM_CID_UNSET | MM_CID_TRANSIT;
    (a, b)
}

#[test]
fn allocation_that_gave_up_agrees_where_the_wait_is_bounded() {
    let (a, b) = gave_up();
    assert_eq!(
        check_switch(Variant::BoundedCidWait, &a, &b),
        agree_with(SwitchKind::Transit, Path::GaveUp, |a| a.other_cid = true)
    );
}

#[test]
fn allocation_that_gave_up_is_a_mismatch_on_7_3() {
    // 7.3's mm_get_cid() spins until it has a CID.
    let (a, b) = gave_up();
    assert!(is_mismatch(check_switch(Variant::V7_3, &a, &b)));
}

#[test]
fn allocation_that_gave_up_without_the_transit_bit_is_a_mismatch() {
    // mm_cid_from_task() adds the mode's transit bit to what it got.
    let (a, mut b) = gave_up();
    b.next.cid = MM_CID_UNSET;
    b.mm.pcpu_cid = MM_CID_UNSET;
    assert!(is_mismatch(check_switch(Variant::BoundedCidWait, &a, &b)));
    // ... and writes it to this CPU's slot.
    let (a, mut b) = gave_up();
    b.mm.pcpu_cid = a.mm.pcpu_cid;
    assert!(is_mismatch(check_switch(Variant::BoundedCidWait, &a, &b)));
}

/// The final state of the explorer's pre-fix trace (`--scenario bpf-ci`):
/// CPU2 spins for T0, whose CID 0 went to CPU0, with all 4 CIDs taken.
fn stall() -> StallSnap {
    let mut s = StallSnap {
        cpu: 2,
        nr_possible: 4,
        possible: 0b1111,
        spin_ns: 63_000_000,
        next: TaskSnap {
            tid: 100,
            pid: 100,
            ..task(cid_to_cpu_cid(0))
        },
        mm: MM,
        mode: MM_CID_ONCPU,
        max_cids: 4,
        users: 5,
        pcpu_thrs: 4,
        cidmask: 0b1111,
        nr_tasks: 2,
        fork_ns: 70_000_000,
        fork_cpu: 0,
        ..StallSnap::default()
    };
    s.pcpu_cid[..4].copy_from_slice(&[cid_to_cpu_cid(0), cid_to_cpu_cid(3), 2, cid_to_cpu_cid(1)]);
    s.tasks[0] = s.next;
    s.tasks[1] = TaskSnap {
        tid: 101,
        ..task(2)
    };
    s.task_cpu[..2].copy_from_slice(&[2, 1]);
    s.fork_parent = s.next;
    s.fork_child = TaskSnap {
        tid: 104,
        ..task(MM_CID_UNSET)
    };
    s
}

fn describe_to_string(s: &StallSnap) -> ([u8; 1024], usize) {
    let mut buf = [0u8; 1024];
    let mut w = super::stall::BufWriter::new(&mut buf);
    super::stall::describe(s, &mut w).unwrap();
    let n = w.as_bytes().len();
    (buf, n)
}

#[test]
fn stall_with_the_pre_fix_shape_is_named() {
    let s = stall();
    assert!(super::stall::shape(&s).is_changelog());
    let (buf, n) = describe_to_string(&s);
    let text = core::str::from_utf8(&buf[..n]).unwrap();
    let want = concat!(
        "live lock: CPU2 has spun in the context switch to pid 100 tid 100 for at least 63 ms with its runqueue lock held\n",
        "  the fixup of the fork of tid 104 by pid 100 tid 100 on CPU0 waits: in sched_mm_cid_fork() for 70 ms\n",
        "  CID state: mode ONCPU, users 5, max_cids 4, pcpu_thrs 4, bitmap 1111 | CPU0:0|ONCPU CPU1:3|ONCPU CPU2:2 CPU3:1|ONCPU\n",
        "  threads: tid 100 on CPU2: 0|ONCPU; tid 101 on CPU1: 2;\n",
        "  shape: pool exhausted (4 of 4 CIDs taken) and tid 100's own CID 0 is owned by CPU0: the live lock of the pre-fix variant\n",
    );
    assert_eq!(text, want);
}

#[test]
fn stall_with_a_free_cid_is_not_the_pre_fix_shape() {
    let mut s = stall();
    s.cidmask = 0b1011;
    assert!(!super::stall::shape(&s).is_changelog());
    let (buf, n) = describe_to_string(&s);
    let text = core::str::from_utf8(&buf[..n]).unwrap();
    assert!(text.ends_with(
        "  shape: 3 of 4 CIDs taken, own CID Some(0) owned by Some(0): not the live lock of the pre-fix variant\n"
    ));
}

#[test]
fn stall_whose_own_cid_stayed_home_is_not_the_pre_fix_shape() {
    let mut s = stall();
    s.pcpu_cid[0] = 2;
    assert!(!super::stall::shape(&s).is_changelog());
}

#[test]
fn stall_text_is_cut_at_the_buffer() {
    let mut buf = [0u8; 16];
    let mut w = super::stall::BufWriter::new(&mut buf);
    super::stall::describe(&stall(), &mut w).unwrap();
    assert_eq!(w.as_bytes(), b"live lock: CPU2 ");
}

/// Seen on 7.3 with 8 vCPUs: an exit elsewhere lowered max_cids from 3 to
/// 2 and dropped CID 0 while next switched in on CPU5; next's CID 2 was no
/// longer below max_cids, and its converge found the freed CID 0, which
/// the snapshot had set.
fn converge_into_a_cid_freed_meanwhile() -> (SwitchSnap, SwitchSnap) {
    let mut a = pre();
    a.cpu = 5;
    a.nr_possible = 8;
    a.possible = 0xff;
    a.prev.mm = 0;
    a.prev.cid = MM_CID_UNSET;
    a.mm.max_cids = 3;
    a.mm.pcpu_cid = 0;
    a.mm.cidmask = 0b0111;
    let mut b = a;
    b.mm.max_cids = 2;
    b.mm.users -= 1;
    b.mm.cidmask = 0b0011;
    b.next.cid = 0;
    (a, b)
}

#[test]
fn converge_into_a_cid_freed_meanwhile_agrees() {
    let (a, b) = converge_into_a_cid_freed_meanwhile();
    assert!(matches!(
        check_switch(Variant::V7_3, &a, &b),
        SwitchVerdict::Agree(Agreement {
            path: Path::Converged,
            max_cids_changed: true,
            other_cid: true,
            ..
        })
    ));
}

#[test]
fn converge_into_a_cid_not_below_max_cids_is_a_mismatch() {
    // The same, but the C "converged" to CID 3, which is not below 2.
    let (a, mut b) = converge_into_a_cid_freed_meanwhile();
    b.next.cid = 3;
    b.mm.cidmask = 0b1011;
    assert!(matches!(
        check_switch(Variant::V7_3, &a, &b),
        SwitchVerdict::Mismatch(_)
    ));
}

#[test]
fn switch_on_cpu_63_of_64_agrees_and_a_wrong_one_does_not() {
    // A 64-CPU machine, per CPU mode: CPU63 keeps its CID 40 for next.
    let mut a = pre();
    a.cpu = 63;
    a.possible = u64::MAX;
    a.nr_possible = 64;
    a.mm.mode = MM_CID_ONCPU;
    a.mm.max_cids = 48;
    a.mm.users = 60;
    a.mm.pcpu_cid = cid_to_cpu_cid(40);
    a.mm.cidmask = 1 << 40;
    a.prev = task(cid_to_cpu_cid(40));
    a.next = task(MM_CID_UNSET);
    let mut b = a;
    b.next.cid = cid_to_cpu_cid(40);
    assert_eq!(
        check_switch(Variant::V7_3, &a, &b),
        agree(SwitchKind::CpuOwned, Path::HandOver)
    );
    b.next.cid = cid_to_cpu_cid(41);
    assert!(is_mismatch(check_switch(Variant::V7_3, &a, &b)));
}

#[test]
fn switch_past_a_hole_in_the_possible_mask_agrees() {
    // Possible CPUs 0-3 and 8-11: CIDs stay below 8, CPU numbers do not.
    let mut a = pre();
    a.cpu = 9;
    a.possible = 0x0f0f;
    a.nr_possible = 8;
    let mut b = a;
    b.mm.pcpu_cid = 2;
    assert_eq!(
        check_switch(Variant::V7_3, &a, &b),
        agree(SwitchKind::TaskOwned, Path::Kept)
    );
}

#[test]
fn paths_of_an_agreement() {
    use super::model::paths::Path as CPath;
    // The per task fast path: next keeps its CID 2, below max_cids 4.
    let a = pre();
    let mut b = a;
    b.mm.pcpu_cid = 2;
    let SwitchVerdict::Agree(got) = checked_twice(Variant::V7_3, &a, &b) else {
        panic!("no agreement");
    };
    assert!(
        got.paths & CPath::FromTaskFast.bit() != 0,
        "{:#x}",
        got.paths
    );
    // A mismatch counts no path.
    let SwitchVerdict::Mismatch(_) = checked_twice(Variant::V7_3, &a, &a) else {
        panic!("no mismatch");
    };
}

/// CPU1 owns CID 1 and prev runs with it (per CPU mode), next owns CID 2
/// for itself (a task the walk back already gave one), and the mode reads
/// `mode`; the C hands nothing over: it drops CPU1's CID.
fn walk_behind_pre(mode: u32) -> SwitchSnap {
    let mut a = pre();
    a.mm.mode = mode;
    a.prev.cid = 1 | MM_CID_ONCPU;
    a.mm.pcpu_cid = 1 | MM_CID_ONCPU;
    a.mm.cidmask = 0b0110;
    a
}

/// What `mm_cid_from_task()` makes of [`walk_behind_pre`]: CPU1's CID
/// dropped, next keeps 2, with TRANSIT if the mode has it.
fn walk_behind_post(a: &SwitchSnap) -> SwitchSnap {
    let mut b = *a;
    let transit = a.mm.mode & MM_CID_TRANSIT;
    b.next.cid = 2 | transit;
    b.mm.pcpu_cid = 2 | transit;
    b.mm.cidmask = 0b0100;
    b
}

fn is_walk_behind(v: SwitchVerdict) -> bool {
    matches!(
        v,
        SwitchVerdict::Mismatch(Mismatch {
            walk_behind: true,
            ..
        })
    )
}

#[test]
fn per_task_mode_with_the_cpu_cid_still_held_is_a_mismatch() {
    // The switch back completed before its walk reached CPU1: the C did
    // what mm_cid_from_task() does in that mode, but 7.3 never gets there.
    let a = walk_behind_pre(0);
    assert!(is_walk_behind(check_switch(
        Variant::V7_3,
        &a,
        &walk_behind_post(&a)
    )));
    // The same with next taking the CPU's CID over.
    let mut a = a;
    a.next.cid = MM_CID_UNSET;
    a.mm.cidmask = 0b0010;
    let mut b = a;
    b.next.cid = 1;
    b.mm.pcpu_cid = 1;
    assert!(is_walk_behind(check_switch(Variant::V7_3, &a, &b)));
}

#[test]
fn cpu_cid_before_the_walk_or_left_by_it_agrees() {
    // Just outside: the walk is still on its way (TRANSIT) ...
    let a = walk_behind_pre(MM_CID_TRANSIT);
    assert!(matches!(
        check_switch(Variant::V7_3, &a, &walk_behind_post(&a)),
        SwitchVerdict::Agree(_)
    ));
    // ... or it passed a CPU whose running task had no CID to take the
    // CPU's (back from a failed execve() in per CPU mode): prev MM_CID_UNSET.
    let mut a = walk_behind_pre(0);
    a.prev.cid = MM_CID_UNSET;
    assert!(matches!(
        check_switch(Variant::V7_3, &a, &walk_behind_post(&a)),
        SwitchVerdict::Agree(_)
    ));
    // ... or prev has a CPU owned CID of another CPU's slot is not this
    // one's: the slot holds no CPU owned CID.
    let mut a = walk_behind_pre(0);
    a.mm.pcpu_cid = 1;
    a.mm.cidmask = 0b0110;
    assert!(!is_walk_behind(check_switch(
        Variant::V7_3,
        &a,
        &walk_behind_post(&a)
    )));
    // Without TRANSIT on the way back the mode reads per task all along.
    let a = walk_behind_pre(0);
    assert!(!is_walk_behind(check_switch(
        Variant::NoTransit,
        &a,
        &walk_behind_post(&a)
    )));
}

/// A room used by many checks of one CPU, of any outcome, gives each
/// check the verdict a fresh one does: random snapshots on three CPUs of
/// machines of 1 to 12 possible CPUs, holes and all.
#[test]
fn used_rooms_change_no_verdict() {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let flags = [0, MM_CID_ONCPU, MM_CID_TRANSIT, MM_CID_UNSET];
    let modes = [
        0,
        MM_CID_ONCPU,
        MM_CID_ONCPU | MM_CID_TRANSIT,
        MM_CID_TRANSIT,
    ];
    let mut agreed = 0;
    for _ in 0..20_000 {
        let mut a = pre();
        a.cpu = next(3) as u32;
        a.possible = next(0xfff) | 0b111;
        a.nr_possible = a.possible.count_ones();
        let cid = |r: u64| (r % 8) as u32;
        a.prev.cid = cid(next(8)) | flags[next(4) as usize];
        a.next.cid = cid(next(8)) | flags[next(4) as usize];
        a.next.active = next(2) as u32;
        a.prev.mm = if next(4) == 0 { 0x5000 } else { MM };
        a.mm.mode = modes[next(4) as usize];
        a.mm.max_cids = 1 + next(u64::from(a.nr_possible)) as u32;
        a.mm.pcpu_cid = cid(next(8)) | flags[next(4) as usize];
        a.mm.cidmask = next(0x100);
        let mut b = a;
        b.prev.cid = cid(next(8)) | flags[next(4) as usize];
        b.next.cid = [a.next.cid, b.prev.cid, a.mm.pcpu_cid][next(3) as usize];
        b.mm.pcpu_cid = [a.mm.pcpu_cid, b.next.cid][next(2) as usize];
        b.mm.cidmask = [a.mm.cidmask, next(0x100)][next(2) as usize];
        if matches!(
            checked_twice(Variant::V7_3, &a, &b),
            SwitchVerdict::Agree(_)
        ) {
            agreed += 1;
        }
    }
    // Agreements and mismatches both, so that both leave the rooms used.
    assert!(agreed > 100, "{agreed} agreements");
}
