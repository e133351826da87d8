// SPDX-License-Identifier: GPL-2.0

//! Tests of the switch check: agreement, each race allowance, and the
//! mismatches it must report.

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
fn pre() -> SwitchSnap {
    SwitchSnap {
        cpu: 1,
        nr_possible: 4,
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

#[test]
fn task_mode_switch_agrees() {
    let a = pre();
    let mut b = a;
    b.mm.pcpu_cid = 2;
    assert_eq!(
        check_switch(Variant::V7_3, &a, &b),
        Verdict::Agree(SwitchKind::TaskOwned)
    );
}

#[test]
fn wrong_pcpu_is_a_mismatch() {
    let a = pre();
    let b = a; // the C did not update pcpu->cid
    assert!(matches!(check_switch(Variant::V7_3, &a, &b), Verdict::Mismatch(p) if p.pcpu_cid == 2));
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
        Verdict::Agree(SwitchKind::Transit)
    );
}

#[test]
fn mode_change_meanwhile_is_a_race() {
    let a = pre();
    let mut b = a;
    b.mm.mode = MM_CID_ONCPU | MM_CID_TRANSIT;
    assert_eq!(
        check_switch(Variant::V7_3, &a, &b),
        Verdict::Raced(Race::Mode)
    );
}

#[test]
fn other_allocation_meanwhile_is_a_race() {
    // next has no CID: the model allocates CID 3, the C got 0 because
    // another CPU dropped it in between.
    let mut a = pre();
    a.next.cid = MM_CID_UNSET;
    a.mm.cidmask = 0b0011;
    let mut b = a;
    b.next.cid = 0;
    b.mm.pcpu_cid = 0;
    assert_eq!(
        check_switch(Variant::V7_3, &a, &b),
        Verdict::Raced(Race::Allocation)
    );
    // Same number as the model: agreement.
    b.next.cid = 2;
    b.mm.pcpu_cid = 2;
    assert_eq!(
        check_switch(Variant::V7_3, &a, &b),
        Verdict::Agree(SwitchKind::TaskOwned)
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
    assert!(matches!(
        check_switch(Variant::V7_3, &a, &b),
        Verdict::Mismatch(_)
    ));
}

#[test]
fn too_many_cpus_is_unsupported() {
    let mut a = pre();
    a.nr_possible = 64;
    assert_eq!(check_switch(Variant::V7_3, &a, &a), Verdict::Unsupported);
}

#[test]
fn drop_and_reallocation_meanwhile_is_a_race() {
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
        Verdict::Raced(Race::Allocation)
    );
    // The model's own number agrees.
    b.next.cid = 2 | MM_CID_TRANSIT;
    b.mm.pcpu_cid = 2 | MM_CID_TRANSIT;
    assert_eq!(
        check_switch(Variant::V7_3, &a, &b),
        Verdict::Agree(SwitchKind::Transit)
    );
}

/// An exit seen in a guest (7.3, 60 s of the kselftest): current exits in
/// per CPU mode, 5 -> 4 users, holding CID 1.
fn exit_pre(mode: u32, cid: u32) -> OpSnap {
    let cur = TaskSnap {
        tid: 130,
        ..task(cid)
    };
    OpSnap {
        cpu: 3,
        nr_possible: 4,
        cur,
        t: cur,
        mm: MmSnap {
            mm: MM,
            mode,
            max_cids: 4,
            users: 5,
            pcpu_cid: cid_to_cpu_cid(1),
            cidmask: 0b1111,
        },
        pcpu_thrs: 2,
        nr_cpus_allowed: 4,
        switches: 10,
    }
}

fn exit_post(pre: &OpSnap, mode: u32) -> OpSnap {
    let gone = TaskSnap {
        cid: MM_CID_UNSET,
        active: 0,
        ..pre.cur
    };
    OpSnap {
        cur: gone,
        t: gone,
        mm: MmSnap {
            mode,
            users: 4,
            ..pre.mm
        },
        ..*pre
    }
}

#[test]
fn exit_in_per_cpu_mode_agrees() {
    let pre = exit_pre(MM_CID_ONCPU, cid_to_cpu_cid(1));
    let post = exit_post(&pre, MM_CID_ONCPU);
    assert_eq!(
        check_exit(Variant::V7_3, &pre, &post),
        OpVerdict::Agree(OpKind::Exit)
    );
}

#[test]
fn exit_that_keeps_its_cid_is_a_mismatch() {
    let pre = exit_pre(MM_CID_ONCPU, cid_to_cpu_cid(1));
    let mut post = exit_post(&pre, MM_CID_ONCPU);
    post.t.cid = pre.t.cid;
    post.cur.cid = pre.cur.cid;
    assert!(matches!(
        check_exit(Variant::V7_3, &pre, &post),
        OpVerdict::Mismatch(OpKind::Exit, _)
    ));
}

/// The guest's case: the exit entered while a fork held mm_cid::mutex in
/// the middle of its task to CPU transition, waited (spinning, no switch)
/// and ran after the fork had completed the transit.
#[test]
fn exit_entered_during_another_transition_is_a_race() {
    let pre = exit_pre(MM_CID_ONCPU | MM_CID_TRANSIT, cid_to_transit_cid(1));
    let post = exit_post(&pre, MM_CID_ONCPU);
    assert_eq!(check_exit(Variant::V7_3, &pre, &post), OpVerdict::Raced);
}

/// The final state of the explorer's pre-fix trace (`--scenario bpf-ci`):
/// CPU2 spins for T0, whose CID 0 went to CPU0, with all 4 CIDs taken.
fn stall() -> StallSnap {
    let mut s = StallSnap {
        cpu: 2,
        nr_possible: 4,
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
    let text = ::core::str::from_utf8(&buf[..n]).unwrap();
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
    let text = ::core::str::from_utf8(&buf[..n]).unwrap();
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

/// A fork switched a 4-CPU mm with users 5 to per CPU mode: after the walk
/// the running users hold `n|TRANSIT` or `n|ONCPU`, the others nothing.
fn fixup_to_cpu() -> FixupSnap {
    let mut s = FixupSnap {
        mm: MM,
        mode: MM_CID_ONCPU,
        nr_possible: 4,
        nr_users: 5,
        ..FixupSnap::default()
    };
    s.pcpu_cid[..4].copy_from_slice(&[
        cid_to_cpu_cid(0),
        cid_to_transit_cid(1),
        cid_to_cpu_cid(2),
        MM_CID_UNSET,
    ]);
    for (i, cid) in [
        cid_to_cpu_cid(0),
        cid_to_transit_cid(1),
        MM_CID_UNSET,
        MM_CID_UNSET,
        MM_CID_UNSET,
    ]
    .into_iter()
    .enumerate()
    {
        s.users[i] = task(cid);
    }
    s
}

#[test]
fn fixup_to_per_cpu_mode_that_finished_agrees() {
    assert_eq!(
        check_fixup(&fixup_to_cpu()),
        FixupVerdict::Agree { to_cpu: true }
    );
}

#[test]
fn task_owning_a_cid_after_the_walk_to_per_cpu_mode_is_a_violation() {
    let mut s = fixup_to_cpu();
    s.users[3] = task(3);
    assert_eq!(
        check_fixup(&s),
        FixupVerdict::Violation(invariants::Owner::Task(3))
    );
}

#[test]
fn cpu_owning_a_cid_after_the_walk_to_per_task_mode_is_a_violation() {
    let mut s = fixup_to_cpu();
    s.mode = 0;
    s.exit = 1;
    assert_eq!(
        check_fixup(&s),
        FixupVerdict::Violation(invariants::Owner::Cpu(0))
    );
    s.pcpu_cid[..4].copy_from_slice(&[0, cid_to_transit_cid(1), 2, MM_CID_UNSET]);
    s.users[0] = task(0);
    assert_eq!(check_fixup(&s), FixupVerdict::Agree { to_cpu: false });
}

#[test]
fn mode_left_in_transit_or_cid_out_of_range_is_a_violation() {
    let mut s = fixup_to_cpu();
    s.mode = MM_CID_ONCPU | MM_CID_TRANSIT;
    assert_eq!(
        check_fixup(&s),
        FixupVerdict::Violation(invariants::Owner::ModeInTransit)
    );
    let mut s = fixup_to_cpu();
    s.pcpu_cid[3] = cid_to_cpu_cid(4);
    assert_eq!(
        check_fixup(&s),
        FixupVerdict::Violation(invariants::Owner::CpuOutOfRange(3))
    );
}

#[test]
fn fixup_under_a_taken_mutex_is_not_decided() {
    let s = FixupSnap {
        raced: 1,
        ..fixup_to_cpu()
    };
    assert_eq!(check_fixup(&s), FixupVerdict::Raced);
}
