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
        pad: 0,
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
