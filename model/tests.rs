// SPDX-License-Identifier: GPL-2.0

//! Unit tests of the model, one or more per mirrored C branch, with exact
//! expected states.

use super::*;

const ONCPU: u32 = MM_CID_ONCPU;
const TRANSIT: u32 = MM_CID_TRANSIT;
const UNSET: u32 = MM_CID_UNSET;

/// `n` tasks of one mm on `cpus` CPUs in per task mode, task i running on
/// CPU i with CID i (as `n` forks by T0 on CPU0 leave them).
fn task_mode(variant: Variant, cpus: u32, n: usize) -> Sched {
    Sched::forked_by_t0(variant, cpus, n).unwrap()
}

/// Switch `t` in on `cpu` after whatever ran there.
fn run(s: &mut Sched, cpu: usize, t: TaskId) -> Result<(), Spin> {
    s.switch_in(cpu, t)
}

/// Switch `cpu` to a task of another mm.
fn idle(s: &mut Sched, cpu: usize) {
    s.switch_away(cpu).unwrap();
}

#[test]
fn cid_bits_classify_owners() {
    assert!(cid_on_task(5));
    assert!(!cid_on_task(5 | ONCPU));
    assert!(!cid_on_task(5 | TRANSIT));
    assert!(!cid_on_task(UNSET));
    assert!(cid_on_cpu(3 | ONCPU) && !cid_on_cpu(3));
    assert!(cid_in_transit(3 | TRANSIT) && !cid_in_transit(3 | ONCPU));
    assert_eq!(cpu_cid_to_cid(7 | ONCPU), 7);
    assert_eq!(cid_from_transit_cid(7 | TRANSIT), 7);
    assert_eq!(task_mm_cid(2 | ONCPU | TRANSIT), 2);
    assert_eq!(task_mm_cid(UNSET), UNSET);
}

#[test]
fn user_list_adds_at_head_and_deletes_in_place() {
    let mut l = <Sched>::new(Variant::V7_3, 4).mm_cid.user_list;
    l.add_head(0);
    l.add_head(1);
    l.add_head(2);
    assert_eq!((l.get(0), l.get(1), l.get(2)), (Some(2), Some(1), Some(0)));
    l.del(1);
    assert_eq!(l.len(), 2);
    assert_eq!((l.get(0), l.get(1), l.get(2)), (Some(2), Some(0), None));
}

#[test]
fn mm_get_cid_takes_lowest_free_below_max_cids() {
    let mut s = <Sched>::new(Variant::V7_3, 4);
    s.mm_cid.max_cids = 2;
    s.mm_cid.cidmask = 0b0001;
    assert_eq!(mm_get_cid(&mut s), Ok(1));
    assert_eq!(s.mm_cid.cidmask, 0b0011);
}

#[test]
fn mm_get_cid_falls_back_to_possible_cpus() {
    let mut s = <Sched>::new(Variant::V7_3, 4);
    s.mm_cid.max_cids = 2;
    s.mm_cid.cidmask = 0b0011;
    assert_eq!(mm_get_cid(&mut s), Ok(2));
    assert_eq!(s.mm_cid.cidmask, 0b0111);
}

#[test]
fn mm_get_cid_spins_on_empty_pool() {
    let mut s = <Sched>::new(Variant::V7_3, 4);
    s.mm_cid.max_cids = 4;
    s.mm_cid.cidmask = 0b1111;
    assert_eq!(mm_get_cid(&mut s), Err(PoolEmpty));
    assert_eq!(s.mm_cid.cidmask, 0b1111);
}

#[test]
fn mm_drop_cid_outside_bitmap_is_a_fault() {
    let mut s = <Sched>::new(Variant::V7_3, 4);
    s.mm_cid.cidmask = 0b1111;
    mm_drop_cid(&mut s, UNSET);
    assert_eq!(s.fault, Some(Fault::OobClearBit(UNSET)));
    assert_eq!(s.mm_cid.cidmask, 0b1111);
}

#[test]
fn mm_unset_cid_on_task_drops_only_task_owned() {
    let mut s = task_mode(Variant::V7_3, 4, 2);
    mm_unset_cid_on_task(&mut s, 1);
    assert_eq!((s.tasks[1].cid, s.mm_cid.cidmask), (UNSET, 0b01));
    s.tasks[0].cid = ONCPU;
    mm_unset_cid_on_task(&mut s, 0);
    assert_eq!((s.tasks[0].cid, s.mm_cid.cidmask), (UNSET, 0b01));
}

#[test]
fn mm_drop_cid_on_cpu_clears_oncpu_but_keeps_value() {
    let mut s = <Sched>::new(Variant::V7_3, 4);
    s.mm_cid.cidmask = 0b100;
    s.mm_cid.pcpu[1] = 2 | ONCPU;
    mm_drop_cid_on_cpu(&mut s, 1);
    assert_eq!((s.mm_cid.pcpu[1], s.mm_cid.cidmask), (2, 0));
    // Not CPU owned: nothing to drop.
    mm_drop_cid_on_cpu(&mut s, 1);
    assert_eq!((s.mm_cid.pcpu[1], s.mm_cid.cidmask), (2, 0));
}

#[test]
fn mm_cid_converge_keeps_cid_in_optimal_space() {
    let mut s = <Sched>::new(Variant::V7_3, 4);
    s.mm_cid.cidmask = 0b0010;
    assert_eq!(mm_cid_converge(&mut s, 1 | ONCPU, 2), 1 | ONCPU);
    assert_eq!(s.mm_cid.cidmask, 0b0010);
}

#[test]
fn mm_cid_converge_moves_down_preserving_oncpu() {
    let mut s = <Sched>::new(Variant::V7_3, 4);
    s.mm_cid.cidmask = 0b1000;
    assert_eq!(mm_cid_converge(&mut s, 3 | ONCPU, 2), ONCPU);
    assert_eq!(s.mm_cid.cidmask, 0b0001);
}

#[test]
fn mm_cid_converge_keeps_cid_when_optimal_space_is_full() {
    let mut s = <Sched>::new(Variant::V7_3, 4);
    s.mm_cid.cidmask = 0b1011;
    assert_eq!(mm_cid_converge(&mut s, 3, 2), 3);
    assert_eq!(s.mm_cid.cidmask, 0b1011);
}

#[test]
fn first_fork_gets_cid_zero_and_sets_pcpu() {
    let s = task_mode(Variant::V7_3, 4, 1);
    assert_eq!(
        (s.tasks[0].cid, s.mm_cid.pcpu[0], s.mm_cid.users),
        (0, 0, 1)
    );
    assert_eq!(
        (s.mm_cid.max_cids, s.mm_cid.mode, s.mm_cid.cidmask),
        (1, 0, 0b1)
    );
}

#[test]
fn fork_in_task_mode_allocates_child_cid() {
    let s = task_mode(Variant::V7_3, 4, 3);
    assert_eq!([s.tasks[0].cid, s.tasks[1].cid, s.tasks[2].cid], [0, 1, 2]);
    assert_eq!(
        [s.mm_cid.pcpu[0], s.mm_cid.pcpu[1], s.mm_cid.pcpu[2]],
        [0, 1, 2]
    );
    assert_eq!(
        (s.mm_cid.users, s.mm_cid.max_cids, s.mm_cid.cidmask),
        (3, 3, 0b111)
    );
    assert_eq!(s.mm_cid.user_list.get(0), Some(2));
}

#[test]
fn max_cids_is_opt_plus_a_quarter_capped_by_possible_cpus() {
    let mut s = <Sched>::new(Variant::V7_3, 8);
    for (nr, users, want) in [(8, 4, 5), (8, 8, 8), (2, 6, 2), (4, 12, 5), (8, 1, 1)] {
        s.mm_cid.nr_cpus_allowed = nr;
        s.mm_cid.users = users;
        __mm_update_max_cids(&mut s);
        assert_eq!(s.mm_cid.max_cids, want, "nr {} users {}", nr, users);
    }
}

#[test]
fn pcpu_thrs_is_at_least_one() {
    let mut s = <Sched>::new(Variant::V7_3, 4);
    for (nr, users, want) in [(4, 5, 2), (4, 3, 2), (1, 5, 1), (2, 2, 2), (4, 1, 1)] {
        s.mm_cid.nr_cpus_allowed = nr;
        s.mm_cid.users = users;
        assert_eq!(mm_cid_calc_pcpu_thrs(&s), want, "nr {} users {}", nr, users);
    }
}

#[test]
fn mm_update_max_cids_without_change_keeps_mode() {
    let mut s = task_mode(Variant::V7_3, 4, 3);
    s.mm_cid.update_deferred = true;
    assert!(!mm_update_max_cids(&mut s));
    assert_eq!(
        (s.mm_cid.mode, s.mm_cid.pcpu_thrs, s.mm_cid.update_deferred),
        (0, 0, false)
    );
}

#[test]
fn mm_update_max_cids_flips_to_cpu_mode_through_transit() {
    let mut s = task_mode(Variant::V7_3, 4, 4);
    s.mm_cid.users = 5;
    assert!(mm_update_max_cids(&mut s));
    assert_eq!((s.mm_cid.mode, s.mm_cid.pcpu_thrs), (ONCPU | TRANSIT, 2));
}

#[test]
fn pre_fix_flips_to_cpu_mode_without_transit() {
    let mut s = task_mode(Variant::PreFix, 4, 4);
    s.mm_cid.users = 5;
    assert!(mm_update_max_cids(&mut s));
    assert_eq!(s.mm_cid.mode, ONCPU);
}

#[test]
fn mm_update_max_cids_flips_back_below_threshold() {
    for (v, mode) in [
        (Variant::V7_3, TRANSIT),
        (Variant::PreFix, TRANSIT),
        (Variant::NoTransit, 0),
    ] {
        let mut s = <Sched>::new(v, 4);
        s.mm_cid.mode = ONCPU;
        s.mm_cid.pcpu_thrs = 2;
        s.mm_cid.users = 1;
        s.mm_cid.nr_cpus_allowed = 4;
        assert!(mm_update_max_cids(&mut s), "{}", v.name());
        assert_eq!(
            (s.mm_cid.mode, s.mm_cid.pcpu_thrs),
            (mode, 0),
            "{}",
            v.name()
        );
    }
}

#[test]
fn fork_past_max_cids_switches_to_cpu_mode() {
    let mut s = task_mode(Variant::V7_3, 4, 4);
    let t = s.new_task(0).unwrap();
    assert_eq!(
        sched_mm_cid_fork_locked(&mut s, 0, 0, t),
        ForkNext::TasksToCpus
    );
    // current's CID is in transit to CPU0
    assert_eq!((s.tasks[0].cid, s.mm_cid.pcpu[0]), (TRANSIT, TRANSIT));
    mm_cid_fixup_tasks_to_cpus(&mut s, 0);
    assert_eq!(s.mm_cid.mode, ONCPU);
    // Every other task runs, so every CID is in transit to its CPU.
    for c in 1..4 {
        assert_eq!(s.tasks[c].cid, c as u32 | TRANSIT);
        assert_eq!(s.mm_cid.pcpu[c], c as u32 | TRANSIT);
    }
    assert_eq!(
        (s.tasks[t].cid, s.tasks[t].active, s.mm_cid.users),
        (UNSET, true, 5)
    );
    assert_eq!(s.fault, None);
}

#[test]
fn pre_fix_fork_hands_cids_to_cpus_directly() {
    let mut s = task_mode(Variant::PreFix, 4, 4);
    idle(&mut s, 2);
    let t = s.new_task(0).unwrap();
    sched_mm_cid_fork(&mut s, 0, 0, t).unwrap();
    assert_eq!(s.mm_cid.mode, ONCPU);
    assert_eq!(
        [s.tasks[0].cid, s.tasks[1].cid, s.tasks[3].cid],
        [ONCPU, 1 | ONCPU, 3 | ONCPU]
    );
    // T2 was not on a CPU: its CID went back to the pool.
    assert_eq!((s.tasks[2].cid, s.mm_cid.cidmask), (UNSET, 0b1011));
}

#[test]
fn fixup_task_to_cpu_skips_cids_not_task_owned() {
    let mut s = task_mode(Variant::V7_3, 4, 2);
    s.tasks[1].cid = 1 | ONCPU;
    mm_cid_fixup_task_to_cpu(&mut s, 1);
    assert_eq!(s.tasks[1].cid, 1 | ONCPU);
}

#[test]
fn fixup_cpu_to_task_hands_cpu_cid_to_running_task() {
    let mut s = task_mode(Variant::V7_3, 4, 2);
    s.mm_cid.pcpu[1] = 1 | ONCPU;
    s.tasks[1].cid = 1 | ONCPU;
    mm_cid_fixup_cpu_to_task(&mut s, 1);
    assert_eq!(
        (s.tasks[1].cid, s.mm_cid.pcpu[1]),
        (1 | TRANSIT, 1 | TRANSIT)
    );
}

#[test]
fn no_transit_hands_cpu_cid_to_task_directly() {
    let mut s = task_mode(Variant::NoTransit, 4, 2);
    s.mm_cid.pcpu[1] = 1 | ONCPU;
    s.tasks[1].cid = 1 | ONCPU;
    mm_cid_fixup_cpu_to_task(&mut s, 1);
    assert_eq!((s.tasks[1].cid, s.mm_cid.pcpu[1]), (1, 1));
}

#[test]
fn fixup_cpu_to_task_drops_cpu_cid_without_task() {
    let mut s = task_mode(Variant::V7_3, 4, 2);
    idle(&mut s, 1);
    s.mm_cid.pcpu[1] = 1 | ONCPU;
    s.tasks[1].cid = UNSET;
    mm_cid_fixup_cpu_to_task(&mut s, 1);
    assert_eq!((s.mm_cid.pcpu[1], s.mm_cid.cidmask), (1, 0b01));
}

#[test]
fn fixup_cpu_to_task_marks_task_cid_in_transit() {
    let mut s = task_mode(Variant::V7_3, 4, 2);
    mm_cid_fixup_cpu_to_task(&mut s, 1);
    assert_eq!(
        (s.tasks[1].cid, s.mm_cid.pcpu[1]),
        (1 | TRANSIT, 1 | TRANSIT)
    );
}

#[test]
fn fixup_cpu_to_task_leaves_unset_cid_alone() {
    // de3ab9bd3133: TRANSIT on MM_CID_UNSET led to clear_bit() out of bounds.
    let mut s = task_mode(Variant::V7_3, 4, 2);
    s.tasks[1].cid = UNSET;
    mm_cid_fixup_cpu_to_task(&mut s, 1);
    assert_eq!(s.tasks[1].cid, UNSET);
}

#[test]
fn schedin_of_inactive_task_does_nothing() {
    let mut s = task_mode(Variant::V7_3, 4, 2);
    s.tasks[1].active = false;
    let before = s;
    mm_cid_schedin(&mut s, 1, 1).unwrap();
    assert_eq!(s, before);
}

#[test]
fn from_task_fast_path_updates_pcpu() {
    let mut s = task_mode(Variant::V7_3, 4, 2);
    idle(&mut s, 1);
    run(&mut s, 2, 1).unwrap();
    assert_eq!((s.tasks[1].cid, s.mm_cid.pcpu[2]), (1, 1));
}

#[test]
fn from_task_fast_path_converges_high_cid() {
    let mut s = task_mode(Variant::V7_3, 4, 2);
    s.tasks[1].cid = 3;
    s.mm_cid.cidmask = 0b1001;
    mm_cid_from_task(&mut s, 1, 1, 1, 0).unwrap();
    assert_eq!(
        (s.tasks[1].cid, s.mm_cid.pcpu[1], s.mm_cid.cidmask),
        (1, 1, 0b0011)
    );
}

#[test]
fn from_task_on_a_cpu_that_never_ran_the_mm_converges() {
    // alloc_percpu() left CPU5's pcpu->cid at 0, which is no CPU owned
    // CID: cid_on_task(tcid | cpu_cid) holds and the fast path converges
    // T3's CID 3, which two exits left above max_cids.  From MM_CID_UNSET
    // the model would take the hand-over branch and keep CID 3.
    let mut s = task_mode(Variant::V7_3, 8, 4);
    for t in [1, 2] {
        sched_mm_cid_exit(&mut s, t, t, t);
        idle(&mut s, t);
    }
    idle(&mut s, 3);
    assert_eq!((s.mm_cid.max_cids, s.mm_cid.cidmask), (2, 0b1001));
    run(&mut s, 5, 3).unwrap();
    assert_eq!(
        (s.tasks[3].cid, s.mm_cid.pcpu[5], s.mm_cid.cidmask),
        (1, 1, 0b0011)
    );
}

#[test]
fn from_task_drops_cpu_cid_when_task_owns_one() {
    let mut s = task_mode(Variant::V7_3, 4, 2);
    s.mm_cid.pcpu[1] = 2 | ONCPU;
    s.mm_cid.cidmask = 0b111;
    mm_cid_from_task(&mut s, 1, 1, 2 | ONCPU, TRANSIT).unwrap();
    assert_eq!(
        (s.tasks[1].cid, s.mm_cid.pcpu[1], s.mm_cid.cidmask),
        (1 | TRANSIT, 1 | TRANSIT, 0b011)
    );
}

#[test]
fn from_task_takes_over_cpu_cid() {
    let mut s = task_mode(Variant::V7_3, 4, 2);
    s.tasks[1].cid = 3 | ONCPU;
    mm_cid_from_task(&mut s, 1, 1, 1 | ONCPU, 0).unwrap();
    assert_eq!((s.tasks[1].cid, s.mm_cid.pcpu[1]), (1, 1));
}

#[test]
fn from_task_allocates_when_nothing_owned() {
    let mut s = task_mode(Variant::V7_3, 4, 2);
    mm_unset_cid_on_task(&mut s, 1);
    mm_cid_from_task(&mut s, 1, 1, TRANSIT, 0).unwrap();
    assert_eq!((s.tasks[1].cid, s.mm_cid.cidmask), (1, 0b11));
}

#[test]
fn from_task_spins_on_empty_pool_and_resumes() {
    let mut s = task_mode(Variant::V7_3, 2, 2);
    s.tasks[1].cid = UNSET;
    assert_eq!(
        mm_cid_schedin(&mut s, 1, 1),
        Err(Spin::FromTask { mode: 0 })
    );
    s.mm_cid.mode = TRANSIT; // a later mode must not leak into the resume
    mm_drop_cid(&mut s, 1);
    mm_cid_schedin_retry(&mut s, 1, 1, Spin::FromTask { mode: 0 }).unwrap();
    assert_eq!((s.tasks[1].cid, s.mm_cid.pcpu[1]), (1, 1));
}

#[test]
fn from_cpu_fast_path_keeps_both_oncpu() {
    let mut s = task_mode(Variant::V7_3, 4, 2);
    s.tasks[1].cid = 3 | ONCPU;
    s.mm_cid.max_cids = 2;
    mm_cid_from_cpu(&mut s, 1, 1, 1 | ONCPU, ONCPU).unwrap();
    assert_eq!(s.tasks[1].cid, 1 | ONCPU);
}

#[test]
fn from_cpu_fast_path_converges_high_cid() {
    let mut s = task_mode(Variant::V7_3, 4, 2);
    s.tasks[1].cid = ONCPU;
    s.mm_cid.cidmask = 0b1000;
    s.mm_cid.max_cids = 2;
    mm_cid_from_cpu(&mut s, 1, 1, 3 | ONCPU, ONCPU).unwrap();
    assert_eq!(
        (s.tasks[1].cid, s.mm_cid.pcpu[1], s.mm_cid.cidmask),
        (ONCPU, ONCPU, 0b0001)
    );
}

#[test]
fn from_cpu_drops_task_cid_when_cpu_owns_one() {
    let mut s = task_mode(Variant::V7_3, 4, 2);
    s.mm_cid.cidmask = 0b111;
    mm_cid_from_cpu(&mut s, 1, 1, 2 | ONCPU, ONCPU).unwrap();
    assert_eq!(
        (s.tasks[1].cid, s.mm_cid.pcpu[1], s.mm_cid.cidmask),
        (2 | ONCPU, 2 | ONCPU, 0b101)
    );
}

#[test]
fn from_cpu_transfers_task_cid_to_cpu() {
    let mut s = task_mode(Variant::PreFix, 4, 2);
    mm_cid_from_cpu(&mut s, 1, 1, 1, ONCPU).unwrap();
    assert_eq!((s.tasks[1].cid, s.mm_cid.pcpu[1]), (1 | ONCPU, 1 | ONCPU));
}

#[test]
fn from_cpu_in_transit_mode_marks_cid_transit() {
    let mut s = task_mode(Variant::V7_3, 4, 2);
    mm_cid_from_cpu(&mut s, 1, 1, 1, ONCPU | TRANSIT).unwrap();
    assert_eq!(
        (s.tasks[1].cid, s.mm_cid.pcpu[1]),
        (1 | TRANSIT, 1 | TRANSIT)
    );
}

#[test]
fn from_cpu_spins_on_empty_pool_with_the_mode_it_read() {
    let mut s = task_mode(Variant::V7_3, 2, 2);
    s.tasks[1].cid = ONCPU;
    s.mm_cid.pcpu[1] = 1;
    s.mm_cid.cidmask = 0b11;
    let spin = Spin::FromCpu {
        mode: ONCPU | TRANSIT,
    };
    assert_eq!(mm_cid_from_cpu(&mut s, 1, 1, 1, ONCPU | TRANSIT), Err(spin));
    assert_eq!(mm_cid_schedin_retry(&mut s, 1, 1, spin), Err(spin));
    mm_drop_cid(&mut s, 1);
    mm_cid_complete_transit(&mut s, ONCPU);
    mm_cid_schedin_retry(&mut s, 1, 1, spin).unwrap();
    assert_eq!(
        (s.tasks[1].cid, s.mm_cid.pcpu[1]),
        (1 | TRANSIT, 1 | TRANSIT)
    );
}

#[test]
fn schedout_keeps_cid_without_transit() {
    let mut s = task_mode(Variant::V7_3, 4, 2);
    let before = s;
    mm_cid_schedout(&mut s, 1, 1);
    assert_eq!(s, before);
}

#[test]
fn schedout_after_transition_hands_transit_cid_to_cpu() {
    let mut s = task_mode(Variant::V7_3, 4, 2);
    s.mm_cid.mode = ONCPU;
    s.tasks[1].cid = 1 | TRANSIT;
    mm_cid_schedout(&mut s, 1, 1);
    assert_eq!(
        (s.tasks[1].cid, s.mm_cid.pcpu[1], s.mm_cid.cidmask),
        (1 | ONCPU, 1 | ONCPU, 0b11)
    );
}

#[test]
fn schedout_during_transition_drops_transit_cid() {
    let mut s = task_mode(Variant::V7_3, 4, 2);
    s.mm_cid.mode = ONCPU | TRANSIT;
    s.tasks[1].cid = 1 | TRANSIT;
    mm_cid_schedout(&mut s, 1, 1);
    assert_eq!((s.tasks[1].cid, s.mm_cid.cidmask), (UNSET, 0b01));
}

#[test]
fn schedout_drops_transit_cid_outside_max_cids() {
    let mut s = task_mode(Variant::V7_3, 4, 2);
    s.tasks[1].cid = 1 | TRANSIT;
    s.mm_cid.max_cids = 1;
    mm_cid_schedout(&mut s, 1, 1);
    assert_eq!((s.tasks[1].cid, s.mm_cid.cidmask), (UNSET, 0b01));
}

#[test]
fn exit_without_mode_change_drops_task_cid() {
    let mut s = task_mode(Variant::V7_3, 4, 3);
    assert_eq!(sched_mm_cid_exit_locked(&mut s, 2, 2, 2), ExitNext::Done);
    assert_eq!((s.tasks[2].cid, s.tasks[2].active), (UNSET, false));
    assert_eq!(
        (s.mm_cid.users, s.mm_cid.cidmask, s.mm_cid.user_list.len()),
        (2, 0b011, 2)
    );
}

#[test]
fn exit_of_last_user_keeps_cid_for_execve() {
    let mut s = task_mode(Variant::V7_3, 4, 1);
    sched_mm_cid_exit(&mut s, 0, 0, 0);
    assert_eq!(
        (s.mm_cid.users, s.tasks[0].active, s.tasks[0].cid),
        (0, false, UNSET)
    );
    assert_eq!(s.mm_cid.cidmask, 0);
}

#[test]
fn exit_below_threshold_switches_back_to_task_mode() {
    let mut s = <Sched>::per_cpu_pair(Variant::V7_3, 4).unwrap();
    assert_eq!(
        sched_mm_cid_exit_locked(&mut s, 1, 1, 1),
        ExitNext::CpusToTasks
    );
    // The exiting task's CPU dropped its CID.
    assert_eq!(
        (s.mm_cid.mode, s.mm_cid.pcpu[1], s.mm_cid.cidmask),
        (TRANSIT, 1, 0b01)
    );
    mm_cid_fixup_cpus_to_tasks(&mut s);
    assert_eq!(
        (s.mm_cid.mode, s.tasks[0].cid, s.mm_cid.pcpu[0]),
        (0, TRANSIT, TRANSIT)
    );
    assert_eq!(s.fault, None);
}

#[test]
fn affinity_widening_never_reaches_the_threshold() {
    // mm_cid_calc_pcpu_thrs() is at most min(nr_cpus_allowed, users), so
    // users >= pcpu_thrs after any widening: the deferred switch back is
    // never queued.  Checked for every count that fits.
    for cpus in 2..=SMALL_CPUS as u32 {
        for users in 1..=SMALL_TASKS as u32 {
            for nr in 1..cpus {
                let mut s = <Sched>::new(Variant::V7_3, cpus);
                s.mm_cid.mode = ONCPU;
                s.mm_cid.users = users;
                s.mm_cid.pcpu_thrs = 1;
                s.mm_cid.cpus_allowed = (1u64 << nr) - 1;
                s.mm_cid.nr_cpus_allowed = nr;
                assert!(!mm_update_cpus_allowed(&mut s, (1u64 << cpus) - 1));
                assert_eq!(s.mm_cid.nr_cpus_allowed, cpus);
            }
        }
    }
}

#[test]
fn affinity_unchanged_weight_does_nothing() {
    let mut s = task_mode(Variant::V7_3, 4, 2);
    let before = s;
    assert!(!mm_update_cpus_allowed(&mut s, 0b0011));
    assert_eq!(s, before);
}

#[test]
fn work_fn_without_deferred_update_does_nothing() {
    let mut s = task_mode(Variant::V7_3, 4, 2);
    assert!(!mm_cid_work_fn(&mut s));
    s.mm_cid.update_deferred = true;
    assert!(!mm_cid_work_fn(&mut s));
    assert!(!s.mm_cid.update_deferred);
}

#[test]
fn execve_reactivates_as_first_user() {
    let mut s = task_mode(Variant::V7_3, 4, 1);
    sched_mm_cid_before_execve(&mut s, 0, 0);
    sched_mm_cid_after_execve(&mut s, 0, 0).unwrap();
    assert_eq!(
        (s.tasks[0].cid, s.mm_cid.users, s.mm_cid.pcpu[0]),
        (0, 1, 0)
    );
}

#[test]
fn unguarded_drop_clears_a_bit_that_is_not_cpu_owned() {
    let mut s = <Sched>::new(Variant::UnguardedDrop, 4);
    s.mm_cid.pcpu[1] = 2 | TRANSIT;
    mm_drop_cid_on_cpu(&mut s, 1);
    assert_eq!(s.fault, Some(Fault::OobClearBit(2 | TRANSIT)));
}

#[test]
fn transit_unset_marks_unset_cid_in_transit() {
    let mut s = task_mode(Variant::TransitUnset, 4, 2);
    s.tasks[1].cid = UNSET;
    mm_cid_fixup_cpu_to_task(&mut s, 1);
    assert_eq!(
        (s.tasks[1].cid, s.mm_cid.pcpu[1]),
        (UNSET | TRANSIT, UNSET | TRANSIT)
    );
    // ... which the next schedule out feeds to clear_bit().
    mm_cid_schedout(&mut s, 1, 1);
    assert_eq!(s.fault, Some(Fault::OobClearBit(UNSET)));
}

#[test]
fn variant_names_round_trip() {
    for v in Variant::ALL {
        assert_eq!(Variant::from_name(v.name()), Some(v));
    }
    assert_eq!(Variant::from_name("v7.2"), None);
}

#[test]
fn possible_mask_with_a_hole_sizes_the_cid_space_by_weight() {
    // Possible CPUs 0-3 and 8-11: 8 CIDs, CPU numbers up to 11.
    let s = Sched::<16, 4>::with_possible(Variant::V7_3, 0x0f0f);
    let mut cpus = [0; 16];
    let n = s
        .possible_cpus()
        .zip(cpus.iter_mut())
        .map(|(c, d)| *d = c)
        .count();
    assert_eq!(&cpus[..n], &[0, 1, 2, 3, 8, 9, 10, 11]);
    assert_eq!(s.nr_possible_cpus, 8);
    assert_eq!(s.mm_cid.nr_cpus_allowed, 8);
    assert!(s.cpu_possible(9) && !s.cpu_possible(5) && !s.cpu_possible(16));
    // Bits at or above C are dropped; an empty mask is CPU 0.
    assert_eq!(
        Sched::<8, 4>::with_possible(Variant::V7_3, 0x0f0f).possible,
        0x0f
    );
    assert_eq!(Sched::<8, 4>::with_possible(Variant::V7_3, 0).possible, 1);
}

#[test]
fn walk_to_per_task_mode_visits_the_cpus_past_a_hole() {
    let mut s = Sched::<16, 4>::with_possible(Variant::V7_3, 0x0f0f);
    s.mm_cid.pcpu[10] = cid_to_cpu_cid(5);
    s.mm_cid.cidmask = 1 << 5;
    s.mm_cid.mode = TRANSIT;
    mm_cid_fixup_cpus_to_tasks(&mut s);
    assert_eq!(s.mm_cid.pcpu[10], 5, "ONCPU cleared");
    assert_eq!(s.mm_cid.cidmask, 0, "CPU10's CID dropped");
}

/// A process pinned to CPU0 on 6 possible CPUs whose T0 forked T1: per
/// CPU mode with 2 users, entered under a mask of one CPU.
fn pinned_pair(variant: Variant) -> Sched {
    let mut s = <Sched>::pinned_t0(variant, 6, 0b1).expect("T0 on CPU0");
    let t1 = s.new_task(0).expect("a slot");
    assert_eq!(sched_mm_cid_fork(&mut s, 0, 0, t1), Ok(()));
    assert_eq!((s.mm_cid.mode, s.mm_cid.pcpu_thrs), (ONCPU, 1));
    s
}

fn stuck(s: &Sched) -> Option<u32> {
    let mc = &s.mm_cid;
    invariants::mode_stuck(
        mc.mode,
        mc.users,
        mc.nr_cpus_allowed,
        mc.update_deferred,
        s.nr_possible_cpus,
    )
}

#[test]
fn pcpu_thrs_of_is_the_calc_on_the_allowed_set_when_users_exceed_it() {
    for n in 1..=8 {
        for users in n + 1..=16 {
            let mut s = <Sched>::new(Variant::V7_3, 8);
            s.mm_cid.nr_cpus_allowed = n;
            s.mm_cid.users = users;
            assert_eq!(mm_cid_calc_pcpu_thrs(&s), pcpu_thrs_of(n, 8));
        }
    }
}

#[test]
fn mode_stuck_just_inside_and_just_outside() {
    // 6 possible CPUs, 3 allowed: the threshold is min(3 - 0, 3) = 3.
    let inside = invariants::mode_stuck(ONCPU, 2, 3, false, 6);
    assert_eq!(inside, Some(3));
    // The hysteresis band starts at the threshold.
    assert_eq!(invariants::mode_stuck(ONCPU, 3, 3, false, 6), None);
    // 2 allowed: threshold 2, 2 users are in the band.
    assert_eq!(invariants::mode_stuck(ONCPU, 2, 2, false, 6), None);
    // A queued switch back, a transition or per task mode is not stuck.
    assert_eq!(invariants::mode_stuck(ONCPU, 2, 3, true, 6), None);
    assert_eq!(
        invariants::mode_stuck(ONCPU | TRANSIT, 2, 3, false, 6),
        None
    );
    assert_eq!(invariants::mode_stuck(0, 2, 3, false, 6), None);
}

#[test]
fn v7_3_widening_leaves_the_mode_stuck() {
    let mut s = pinned_pair(Variant::V7_3);
    assert_eq!(stuck(&s), None);
    assert!(!mm_update_cpus_allowed(&mut s, 0b111));
    // "Adjust the threshold to the wider set": min(3, users 2) - 0 = 2.
    assert_eq!((s.mm_cid.nr_cpus_allowed, s.mm_cid.pcpu_thrs), (3, 2));
    assert_eq!(stuck(&s), Some(3));
}

#[test]
fn affinity_switchback_widening_queues_the_switch_back() {
    let mut s = pinned_pair(Variant::AffinitySwitchback);
    assert!(mm_update_cpus_allowed(&mut s, 0b111));
    assert_eq!(s.mm_cid.pcpu_thrs, 3);
    assert_eq!(stuck(&s), None, "the deferred update is pending");
    // "Don't queue twice"
    assert!(!mm_update_cpus_allowed(&mut s, 0b1111));
    assert!(mm_cid_work_fn(&mut s));
    assert_eq!(s.mm_cid.mode, TRANSIT);
    mm_cid_fixup_cpus_to_tasks(&mut s);
    assert_eq!((s.mm_cid.mode, s.fault), (0, None));
    assert_eq!(stuck(&s), None);
}

#[test]
fn walk_passed_after_the_walk_back_and_not_when_the_mode_completes_first() {
    // Per CPU mode, T0 runs on CPU0 with CPU0's CID; T1's exit switches
    // back.  A switch out of T0 checks walk_passed() with the mode it reads.
    let per_cpu = || {
        let mut s = <Sched>::per_cpu_pair(Variant::V7_3, 4).unwrap();
        assert_eq!(
            sched_mm_cid_exit_locked(&mut s, 1, 1, 1),
            ExitNext::CpusToTasks
        );
        s
    };
    let passed =
        |s: &Sched| invariants::walk_passed(s.mm_cid.mode, s.mm_cid.pcpu[0], s.tasks[0].cid);
    // 7.3: before the walk the mode reads TRANSIT, after it T0 has the CID
    // in transit; the switch sees no per task mode with CPU0's CID held.
    let mut s = per_cpu();
    assert!(passed(&s));
    mm_cid_fixup_cpus_to_tasks(&mut s);
    assert!(passed(&s));
    // The mode completed first (mutant 26's order): CPU0 is not walked yet.
    let mut s = per_cpu();
    mm_cid_complete_transit(&mut s, 0);
    assert!(!passed(&s));
    // Just outside: a T0 back from a failed execve() (no CID of its own)
    // keeps nothing the walk would take; the walk leaves CPU0's CID.
    let mut s = per_cpu();
    s.tasks[0].cid = UNSET;
    mm_cid_fixup_cpus_to_tasks(&mut s);
    assert_eq!((s.mm_cid.mode, s.mm_cid.pcpu[0]), (0, ONCPU));
    assert!(passed(&s));
    // transition_finished() allows that CPU's CID, under T0 without one or
    // under another task, but not under a user holding a CPU owned CID.
    let finished = |s: &Sched, held: u64| {
        let users = (0..2).map(|t| (s.tasks[t].active, s.tasks[t].cid));
        invariants::transition_finished(0, users, &s.mm_cid.pcpu[..4], held, 4)
    };
    assert_eq!(finished(&s, 0), None);
    assert_eq!(finished(&s, 0b1), Some(invariants::Owner::Cpu(0)));
}

/// `reset_on()` of a `Sched` that only CPU 2's switches wrote leaves what
/// `reset()` does, and falls back to it for another `possible`.
#[test]
fn reset_on_one_cpu_is_reset() {
    let variant = Variant::V7_3;
    let possible = 0b1101_u64;
    let fresh = <Sched>::with_possible(variant, possible);
    let mut s = fresh;
    let m = MmRead {
        mode: MM_CID_ONCPU,
        max_cids: 3,
        users: 2,
        cidmask: 0b101,
        ..MmRead::default()
    };
    s.load_mm(variant, possible, &m);
    let a = s.load_task(2, 2 | MM_CID_ONCPU, true).unwrap();
    let b = s.load_task(2, MM_CID_UNSET, true).unwrap();
    s.mm_cid.user_list.add_head(a);
    s.load_cpu(2, 2 | MM_CID_ONCPU, Some(a));
    s.replay_alloc = Some(1);
    run(&mut s, 2, b).unwrap();
    s.fault = Some(Fault::Warn("planted"));
    assert_ne!(s, fresh);
    s.reset_on(1 << 2, Variant::NoTransit, possible);
    assert_eq!(s, <Sched>::with_possible(Variant::NoTransit, possible));
    s.reset_on(1, variant, 0b11);
    assert_eq!(s, <Sched>::with_possible(variant, 0b11));
}
