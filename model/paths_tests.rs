// SPDX-License-Identifier: GPL-2.0

//! Tests of [`Path`] and of where the model records them: each scenario
//! takes exactly the paths of the C it runs.  That every path is taken by
//! some run of 7.3 is explorer/tests/paths.rs.

use super::paths::Path;
use super::*;

const ONCPU: u32 = MM_CID_ONCPU;
const TRANSIT: u32 = MM_CID_TRANSIT;
const UNSET: u32 = MM_CID_UNSET;

/// `n` tasks on `cpus` CPUs in per task mode, task i running on CPU i with
/// CID i, and no paths recorded yet.
fn task_mode(variant: Variant, cpus: u32, n: usize) -> Sched {
    let mut s = Sched::forked_by_t0(variant, cpus, n).unwrap();
    s.paths = 0;
    s
}

/// The paths `s` took since the last call, which clears them.
fn taken(s: &mut Sched) -> u64 {
    core::mem::take(&mut s.paths)
}

/// The mask of `paths`.
fn mask(paths: &[Path]) -> u64 {
    paths.iter().fold(0, |m, p| m | p.bit())
}

#[test]
fn paths_are_indexed_and_named_once() {
    assert_eq!(Path::MASK.count_ones() as usize, Path::COUNT);
    for (i, p) in Path::ALL.into_iter().enumerate() {
        assert_eq!(p as usize, i);
        assert_eq!(p.bit(), 1 << i);
        let name = p.name();
        assert!(!name.is_empty() && name.len() <= 24, "{}", name);
        assert!(name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
        for q in &Path::ALL[..i] {
            assert_ne!(q.name(), name);
        }
    }
    let mut odd = Path::in_mask(0b1010);
    assert_eq!(odd.next(), Some(Path::UpdateToTask));
    assert_eq!(odd.next(), Some(Path::MaxCidsEq));
    assert_eq!(odd.next(), None);
}

#[test]
fn took_bounds_records_equal_and_one_apart() {
    let mut s = <Sched>::new(Variant::V7_3, 4);
    let (eq, near) = (Path::MaxCidsEq, Path::MaxCidsNear);
    for (a, b, want) in [
        (3, 3, eq.bit()),
        (3, 4, near.bit()),
        (4, 3, near.bit()),
        (0, 0, eq.bit()),
        (3, 5, 0),
        (0, u32::MAX, 0),
    ] {
        s.took_bounds(a, b, eq, near);
        assert_eq!(taken(&mut s), want, "{} {}", a, b);
    }
}

#[test]
fn reset_and_load_forget_the_paths() {
    let mut s = task_mode(Variant::V7_3, 4, 1);
    s.took(Path::Warn);
    s.reset(Variant::V7_3, 0xf);
    assert_eq!(s.paths, 0);
    s.took(Path::Warn);
    s.load_mm(Variant::V7_3, 0xf, &MmRead::default());
    assert_eq!(s.paths, 0);
}

#[test]
fn first_fork_takes_the_first_user_path() {
    let mut s = <Sched>::new(Variant::V7_3, 4);
    let t0 = s.new_task(0).unwrap();
    s.set_curr(0, Some(t0));
    sched_mm_cid_fork(&mut s, 0, t0, t0).unwrap();
    // users 1 == max_cids 1: no mode change.
    let want = [
        Path::ForkFirstUser,
        Path::MaxCidsEq,
        Path::UpdateKeep,
        Path::GetCid,
    ];
    assert_eq!(taken(&mut s), mask(&want));
}

#[test]
fn fork_in_task_mode_takes_the_child_cid_path() {
    let mut s = task_mode(Variant::V7_3, 4, 2);
    let t = s.new_task(0).unwrap();
    sched_mm_cid_fork(&mut s, 0, 0, t).unwrap();
    let want = [
        Path::MaxCidsEq,
        Path::UpdateKeep,
        Path::ForkTaskMode,
        Path::GetCid,
    ];
    assert_eq!(taken(&mut s), mask(&want));
}

#[test]
fn fork_past_max_cids_takes_the_switch_to_cpu_mode() {
    let mut s = task_mode(Variant::V7_3, 4, 4);
    let t = s.new_task(0).unwrap();
    assert_eq!(
        sched_mm_cid_fork_locked(&mut s, 0, 0, t),
        ForkNext::TasksToCpus
    );
    // users 5, max_cids 4: one apart, above.
    let want = [
        Path::MaxCidsNear,
        Path::UpdateToCpu,
        Path::ForkToCpu,
        Path::TransitToCpu,
    ];
    assert_eq!(taken(&mut s), mask(&want));
    // T1..T3 run: each CID goes to its CPU in transit.  The child has
    // none to fix up.
    mm_cid_fixup_tasks_to_cpus(&mut s, 0);
    let want = [Path::FixupTaskTransit, Path::TransitToCpu];
    assert_eq!(taken(&mut s), mask(&want));
}

#[test]
fn fork_in_cpu_mode_leaves_the_child_without_cid() {
    let mut s = task_mode(Variant::V7_3, 4, 4);
    let t = s.new_task(0).unwrap();
    sched_mm_cid_fork(&mut s, 0, 0, t).unwrap();
    s.paths = 0;
    let t = s.new_task(0).unwrap();
    sched_mm_cid_fork(&mut s, 0, 0, t).unwrap();
    // users 6 against pcpu_thrs 2.
    assert_eq!(taken(&mut s), mask(&[Path::UpdateKeep, Path::ForkCpuMode]));
    assert_eq!(s.tasks[t].cid, UNSET);
}

/// Per CPU mode on 4 CPUs with T0 and T1 on CPUs 0 and 1, threshold 2.
fn cpu_mode_pair() -> Sched {
    let mut s = <Sched>::per_cpu_pair(Variant::V7_3, 4).unwrap();
    s.paths = 0;
    s
}

#[test]
fn exit_below_threshold_takes_the_switch_back() {
    let mut s = cpu_mode_pair();
    assert_eq!(
        sched_mm_cid_exit_locked(&mut s, 1, 1, 1),
        ExitNext::CpusToTasks
    );
    // users 1, pcpu_thrs 2.
    let want = [
        Path::ThrsNear,
        Path::UpdateToTask,
        Path::ExitToTask,
        Path::DropOnCpu,
    ];
    assert_eq!(taken(&mut s), mask(&want));
    // CPU0 hands its CID to T0; CPU1 runs the exited T1, CPUs 2 and 3
    // never ran the mm: nothing to do there.
    mm_cid_fixup_cpus_to_tasks(&mut s);
    let want = [Path::FixupCpuHandOver, Path::TransitToTask];
    assert_eq!(taken(&mut s), mask(&want));
}

#[test]
fn exit_from_a_cpu_in_transit_takes_the_unowned_drop() {
    // 1e83ccd5921a: T1 came in during the switch to per CPU mode, so its
    // CPU's slot holds a TRANSIT CID, which is T1's to drop, not CPU1's.
    let mut s = cpu_mode_pair();
    s.mm_cid.pcpu[1] = 1 | TRANSIT;
    s.tasks[1].cid = 1 | TRANSIT;
    sched_mm_cid_exit_locked(&mut s, 1, 1, 1);
    let want = [
        Path::UnsetTaskDrop,
        Path::ThrsNear,
        Path::UpdateToTask,
        Path::ExitToTask,
        Path::DropOnCpuNone,
    ];
    assert_eq!(taken(&mut s), mask(&want));
    assert_eq!((s.mm_cid.pcpu[1], s.mm_cid.cidmask), (1 | TRANSIT, 0b01));
}

#[test]
fn exit_keeping_the_mode_and_last_exit() {
    let mut s = task_mode(Variant::V7_3, 4, 3);
    sched_mm_cid_exit(&mut s, 2, 2, 2);
    // users 2 == max_cids 2.
    let want = [
        Path::UnsetTaskDrop,
        Path::MaxCidsEq,
        Path::UpdateKeep,
        Path::ExitKeepMode,
    ];
    assert_eq!(taken(&mut s), mask(&want));
    sched_mm_cid_exit(&mut s, 2, 2, 2);
    assert_eq!(taken(&mut s), Path::ExitInactive.bit());

    let mut s = task_mode(Variant::V7_3, 4, 1);
    sched_mm_cid_exit(&mut s, 0, 0, 0);
    // users 0 == max_cids 0; T0's CID is its own, not its CPU's.
    let want = [
        Path::ExitLastUser,
        Path::UnsetTaskDrop,
        Path::MaxCidsEq,
        Path::UpdateKeep,
    ];
    assert_eq!(taken(&mut s), mask(&want));
}

#[test]
fn fixup_cpu_to_task_takes_the_curr_arms() {
    let mut s = task_mode(Variant::V7_3, 4, 2);
    mm_cid_fixup_cpu_to_task(&mut s, 1);
    assert_eq!(taken(&mut s), Path::FixupCpuCurrTransit.bit());
    // Already in transit, then MM_CID_UNSET (de3ab9bd3133).
    mm_cid_fixup_cpu_to_task(&mut s, 1);
    assert_eq!(taken(&mut s), Path::FixupCpuCurrSkip.bit());
    s.tasks[1].cid = UNSET;
    mm_cid_fixup_cpu_to_task(&mut s, 1);
    assert_eq!(taken(&mut s), Path::FixupCpuCurrUnset.bit());
    // The variant without de3ab9bd3133 puts MM_CID_UNSET in transit.
    s.variant = Variant::TransitUnset;
    mm_cid_fixup_cpu_to_task(&mut s, 1);
    assert_eq!(taken(&mut s), Path::FixupCpuCurrTransit.bit());
    assert_eq!(s.tasks[1].cid, UNSET | TRANSIT);
    s.variant = Variant::V7_3;
    // A CPU owned CID without a task of the mm on the CPU.
    idle(&mut s, 1);
    s.paths = 0;
    s.mm_cid.pcpu[1] = 1 | ONCPU;
    mm_cid_fixup_cpu_to_task(&mut s, 1);
    assert_eq!(taken(&mut s), mask(&[Path::FixupCpuDrop, Path::DropOnCpu]));
}

fn idle(s: &mut Sched, cpu: usize) {
    s.switch_away(cpu).unwrap();
}

#[test]
fn fixup_task_to_cpu_unsets_a_task_not_running() {
    let mut s = task_mode(Variant::V7_3, 4, 2);
    idle(&mut s, 1);
    s.paths = 0;
    mm_cid_fixup_task_to_cpu(&mut s, 1);
    assert_eq!(
        taken(&mut s),
        mask(&[Path::FixupTaskUnset, Path::UnsetTaskDrop])
    );
}

#[test]
fn schedin_from_task_takes_fast_hand_over_and_spin() {
    let mut s = task_mode(Variant::V7_3, 4, 2);
    mm_cid_schedin(&mut s, 1, 1).unwrap();
    // CID 1 below max_cids 2: one apart.
    assert_eq!(
        taken(&mut s),
        mask(&[Path::FromTaskFast, Path::FromTaskMaxNear])
    );
    // The CPU owns a CID and T1 none: take it over.
    s.tasks[1].cid = UNSET;
    s.mm_cid.pcpu[1] = 1 | ONCPU;
    mm_cid_schedin(&mut s, 1, 1).unwrap();
    assert_eq!(
        taken(&mut s),
        mask(&[Path::FromTaskHandOver, Path::FromTaskTakeCpu])
    );

    let mut s = task_mode(Variant::V7_3, 2, 2);
    s.tasks[1].cid = UNSET;
    let spin = Spin::FromTask { mode: 0 };
    assert_eq!(mm_cid_schedin(&mut s, 1, 1), Err(spin));
    let want = [
        Path::FromTaskHandOver,
        Path::FromTaskAlloc,
        Path::GetCidRetry,
        Path::GetCidSpin,
    ];
    assert_eq!(taken(&mut s), mask(&want));
    mm_drop_cid(&mut s, 1);
    mm_cid_schedin_retry(&mut s, 1, 1, spin).unwrap();
    assert_eq!(taken(&mut s), 0, "the loop ends: no arm of its own");
}

#[test]
fn schedin_from_task_converges_a_cid_at_max_cids() {
    let mut s = task_mode(Variant::V7_3, 4, 2);
    s.tasks[1].cid = 2;
    s.mm_cid.cidmask = 0b101;
    mm_cid_schedin(&mut s, 1, 1).unwrap();
    let want = [Path::FromTaskMaxEq, Path::ConvergeMoved];
    assert_eq!(taken(&mut s), mask(&want));
    assert_eq!((s.tasks[1].cid, s.mm_cid.cidmask), (1, 0b011));
}

#[test]
fn schedin_from_cpu_takes_its_arms() {
    // Both ONCPU, CID 3 above max_cids 2, CID 0 free: converge.
    let mut s = task_mode(Variant::V7_3, 4, 2);
    s.tasks[1].cid = ONCPU;
    s.mm_cid.cidmask = 0b1000;
    s.mm_cid.max_cids = 2;
    mm_cid_from_cpu(&mut s, 1, 1, 3 | ONCPU, ONCPU).unwrap();
    let want = [Path::FromCpuMaxNear, Path::ConvergeMoved];
    assert_eq!(taken(&mut s), mask(&want));
    // The same with the optimal space full: kept.
    s.tasks[1].cid = 3 | ONCPU;
    s.mm_cid.cidmask = 0b1011;
    mm_cid_from_cpu(&mut s, 1, 1, 3 | ONCPU, ONCPU).unwrap();
    let want = [Path::FromCpuMaxNear, Path::ConvergeKept];
    assert_eq!(taken(&mut s), mask(&want));
    // Both ONCPU below max_cids.
    mm_cid_from_cpu(&mut s, 1, 1, ONCPU, ONCPU).unwrap();
    assert_eq!(taken(&mut s), mask(&[Path::FromCpuFast]));
    assert_eq!(s.paths, 0);

    // T1's CID 1 goes to CPU1 while the switch is in transit.
    let mut s = task_mode(Variant::V7_3, 4, 2);
    mm_cid_from_cpu(&mut s, 1, 1, 1, ONCPU | TRANSIT).unwrap();
    let want = [
        Path::FromCpuHandOver,
        Path::FromCpuTakeTask,
        Path::FromCpuTransit,
    ];
    assert_eq!(taken(&mut s), mask(&want));
    // CPU1 owns CID 2: T1 drops its own.
    let mut s = task_mode(Variant::V7_3, 4, 2);
    s.mm_cid.cidmask = 0b111;
    mm_cid_from_cpu(&mut s, 1, 1, 2 | ONCPU, ONCPU).unwrap();
    let want = [
        Path::FromCpuHandOver,
        Path::FromCpuDropTask,
        Path::UnsetTaskDrop,
    ];
    assert_eq!(taken(&mut s), mask(&want));
    // Nothing owned on either side: allocate.
    s.tasks[1].cid = UNSET;
    mm_cid_from_cpu(&mut s, 1, 1, 2, ONCPU).unwrap();
    let want = [Path::FromCpuHandOver, Path::FromCpuAlloc, Path::GetCid];
    assert_eq!(taken(&mut s), mask(&want));
}

#[test]
fn schedin_of_a_task_that_is_no_user_takes_the_inactive_return() {
    let mut s = task_mode(Variant::V7_3, 4, 2);
    s.tasks[1].active = false;
    mm_cid_schedin(&mut s, 1, 1).unwrap();
    assert_eq!(taken(&mut s), Path::SchedinInactive.bit());
}

#[test]
fn schedout_takes_keep_and_drop() {
    let mut s = task_mode(Variant::V7_3, 4, 2);
    mm_cid_schedout(&mut s, 1, 1);
    assert_eq!(taken(&mut s), Path::SchedoutNotTransit.bit());
    s.mm_cid.mode = ONCPU;
    s.tasks[1].cid = 1 | TRANSIT;
    mm_cid_schedout(&mut s, 1, 1);
    assert_eq!(
        taken(&mut s),
        mask(&[Path::SchedoutKeep, Path::SchedoutKeepCpu])
    );
    s.mm_cid.mode = 0;
    s.tasks[1].cid = 1 | TRANSIT;
    mm_cid_schedout(&mut s, 1, 1);
    assert_eq!(taken(&mut s), Path::SchedoutKeep.bit());
    s.mm_cid.mode = TRANSIT;
    s.tasks[1].cid = 1 | TRANSIT;
    mm_cid_schedout(&mut s, 1, 1);
    assert_eq!(taken(&mut s), Path::SchedoutDrop.bit());
}

#[test]
fn affinity_takes_each_early_return() {
    let mut s = task_mode(Variant::V7_3, 4, 1);
    s.mm_cid.cpus_allowed = 0b1;
    s.mm_cid.nr_cpus_allowed = 1;
    assert!(!mm_update_cpus_allowed(&mut s, 0b11));
    assert_eq!(taken(&mut s), Path::AffinityTaskMode.bit());
    assert!(!mm_update_cpus_allowed(&mut s, 0b10));
    assert_eq!(taken(&mut s), Path::AffinitySameWeight.bit());
    sched_mm_cid_exit(&mut s, 0, 0, 0);
    s.paths = 0;
    assert!(!mm_update_cpus_allowed(&mut s, 0b100));
    assert_eq!(taken(&mut s), Path::AffinityNoUsers.bit());

    // Pinned T0 and T1 in per CPU mode; widening to 3 CPUs sets the
    // threshold to min(3, users 2) = 2, equal to users.
    let mut s = <Sched>::pinned_t0(Variant::V7_3, 6, 0b1).unwrap();
    let t1 = s.new_task(0).unwrap();
    sched_mm_cid_fork(&mut s, 0, 0, t1).unwrap();
    s.paths = 0;
    assert!(!mm_update_cpus_allowed(&mut s, 0b111));
    assert_eq!(
        taken(&mut s),
        mask(&[Path::AffinityThrsEq, Path::AffinityStaysPerCpu])
    );
}

#[test]
fn affinity_switchback_takes_the_queue_and_the_work() {
    let mut s = <Sched>::pinned_t0(Variant::AffinitySwitchback, 6, 0b1).unwrap();
    let t1 = s.new_task(0).unwrap();
    sched_mm_cid_fork(&mut s, 0, 0, t1).unwrap();
    s.paths = 0;
    // Threshold of 3 allowed CPUs: 3, one above users 2.
    assert!(mm_update_cpus_allowed(&mut s, 0b111));
    assert_eq!(
        taken(&mut s),
        mask(&[Path::AffinityThrsNear, Path::AffinityQueue])
    );
    assert!(!mm_update_cpus_allowed(&mut s, 0b1111));
    // Threshold of 4: 3, one above users 2 again.
    assert_eq!(
        taken(&mut s),
        mask(&[Path::AffinityThrsNear, Path::AffinityQueuedTwice])
    );
    assert!(mm_cid_work_fn(&mut s));
    assert_eq!(
        taken(&mut s),
        mask(&[Path::ThrsNear, Path::UpdateToTask, Path::WorkToTask])
    );
    assert!(!mm_cid_work_fn(&mut s));
    assert_eq!(taken(&mut s), Path::WorkNothing.bit());
}

#[test]
fn warn_is_taken_with_the_fault() {
    let mut s = task_mode(Variant::V7_3, 4, 1);
    let t = s.new_task(0).unwrap();
    s.tasks[t].cid = 3;
    sched_mm_cid_fork_locked(&mut s, 0, 0, t);
    assert_ne!(taken(&mut s) & Path::Warn.bit(), 0);
    assert!(matches!(s.fault, Some(Fault::Warn(_))));
}
