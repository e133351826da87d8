// SPDX-License-Identifier: GPL-2.0

//! Tests of the switch checks' memo (memo.rs): a repeated pair of
//! snapshots gets the verdict of its first check, and a pair that differs
//! in any field, or another variant, runs the model.

use super::check::*;
use super::check_tests::pre;
use super::memo::*;
use super::model::*;
use super::room::Empty;

extern crate std;
use std::boxed::Box;

/// The switch of `pre()` as 7.3 does it: next keeps CID 2, the slot
/// takes it.
fn agreeing() -> (super::ffi::SwitchSnap, super::ffi::SwitchSnap) {
    let p = pre();
    let mut post = p;
    post.mm.pcpu_cid = 2;
    (p, post)
}

fn room() -> Box<SwitchRoom> {
    Box::new(SwitchRoom::EMPTY)
}

/// A check in a model of its own, with no memo.
fn fresh(v: Variant, pre: &super::ffi::SwitchSnap, post: &super::ffi::SwitchSnap) -> SwitchVerdict {
    let mut s = Box::new(SwitchSched::EMPTY);
    check_switch(v, pre, post, &mut s)
}

#[test]
fn a_repeated_switch_gets_its_first_verdict() {
    let (p, post) = agreeing();
    let mut r = room();
    let (first, repeated) = r.check(Variant::V7_3, &p, &post);
    assert!(matches!(first, SwitchVerdict::Agree(_)), "{first:?}");
    assert!(!repeated);
    assert_eq!(r.check(Variant::V7_3, &p, &post), (first, true));
    assert_eq!(first, fresh(Variant::V7_3, &p, &post));
}

/// Each field of either snapshot, changed by one: a miss, and the verdict
/// a fresh check gives (a C that left another CID is a mismatch, not the
/// agreement remembered).
#[test]
fn any_other_field_runs_the_model() {
    let (p, post) = agreeing();
    let edits: [fn(&mut super::ffi::SwitchSnap); 17] = [
        |s| s.cpu ^= 2,
        |s| s.nr_possible -= 1,
        |s| s.possible ^= 0b1000,
        |s| s.prev.task += 8,
        |s| s.prev.mm ^= 0x40,
        |s| s.prev.cid ^= 1,
        |s| s.prev.active ^= 1,
        |s| s.prev.pid += 1,
        |s| s.prev.tid += 1,
        |s| s.next.cid ^= 1,
        |s| s.next.active ^= 1,
        |s| s.mm.mode ^= MM_CID_ONCPU,
        |s| s.mm.max_cids -= 1,
        |s| s.mm.users += 1,
        |s| s.mm.pcpu_cid ^= 1,
        |s| s.mm.cidmask ^= 0b1000,
        |s| s.mm.mm ^= 0x40,
    ];
    for (i, edit) in edits.iter().enumerate() {
        for which in [0, 1] {
            let (mut a, mut b) = (p, post);
            edit(if which == 0 { &mut a } else { &mut b });
            let mut r = room();
            r.check(Variant::V7_3, &p, &post);
            let (v, repeated) = r.check(Variant::V7_3, &a, &b);
            assert!(
                !repeated,
                "edit {i} of snapshot {which} was taken for the same switch"
            );
            assert_eq!(v, fresh(Variant::V7_3, &a, &b), "edit {i}");
        }
    }
    // The memo's agreement is not what the C's other CID gets.
    let mut wrong = post;
    wrong.next.cid = 3;
    let mut r = room();
    r.check(Variant::V7_3, &p, &post);
    assert!(matches!(
        r.check(Variant::V7_3, &p, &wrong).0,
        SwitchVerdict::Mismatch(_)
    ));
}

#[test]
fn another_variant_runs_the_model() {
    let (p, post) = agreeing();
    let mut r = room();
    r.check(Variant::V7_3, &p, &post);
    let other = Variant::ALL
        .iter()
        .copied()
        .find(|&v| v != Variant::V7_3)
        .unwrap();
    assert!(!r.check(other, &p, &post).1);
}

#[test]
fn it_remembers_the_last_ways_checks() {
    let (p, post) = agreeing();
    let at = |cpu: u32| {
        let (mut a, mut b) = (p, post);
        a.cpu = cpu;
        b.cpu = cpu;
        (a, b)
    };
    let mut r = room();
    for cpu in 0..=WAYS as u32 {
        let (a, b) = at(cpu);
        assert!(!r.check(Variant::V7_3, &a, &b).1);
    }
    // The first was replaced, the last WAYS are kept.
    let (a, b) = at(0);
    let (c, d) = at(WAYS as u32);
    assert!(r.check(Variant::V7_3, &c, &d).1);
    assert!(!r.check(Variant::V7_3, &a, &b).1);
}
