// SPDX-License-Identifier: GPL-2.0

//! What the explorer finds on each variant, with the shape of each
//! counterexample, and the state counts of small configurations (a change
//! of the model shows up here).

use explorer::scenario::{Config, Scenario};
use explorer::search::{explore, random_walk, replay, Finding, Report};
use explorer::world::{Op, World};
use mmcid_model::*;

fn run(v: Variant, sc: Scenario, cpus: u32) -> Report {
    explore(&Config::new(v).scenario(sc, cpus), |_| {})
}

fn final_state(v: Variant, sc: Scenario, cpus: u32, r: &Report) -> World {
    replay(&Config::new(v).scenario(sc, cpus), &r.trace)
}

/// The pool is exhausted and the spinning task's own CID sits on another
/// CPU: the shape of the changelog's live lock.
fn assert_changelog_shape(w: &World, cpu: u8) {
    let c = usize::from(cpu);
    let t = w.s.curr(c).expect("the spinning CPU runs a task");
    let ncpu = w.s.nr_possible_cpus;
    assert_eq!(w.s.mm_cid.cidmask, (1u64 << ncpu) - 1, "pool exhausted");
    let shape = LiveLockShape::of(
        w.s.mm_cid.cidmask,
        w.s.mm_cid.max_cids,
        &w.s.mm_cid.pcpu[..ncpu as usize],
        c,
        w.s.tasks[t].cid,
    );
    assert!(shape.is_changelog(), "T{}: {:?}", t, shape);
}

#[test]
fn pre_fix_livelocks_on_migration_during_fixup() {
    let r = run(Variant::PreFix, Scenario::Changelog, 4);
    let Finding::LiveLock { cpu } = r.finding else {
        panic!("expected a live lock, got {:?}", r.finding);
    };
    let w = final_state(Variant::PreFix, Scenario::Changelog, 4, &r);
    assert_changelog_shape(&w, cpu);
    // T0's walk is still going and will block on the spinning runqueue.
    let Op::ForkTasksToCpus { i, .. } = w.task[0].op else {
        panic!("T0 should be in its tasks-to-CPUs walk: {:?}", w.task[0].op);
    };
    let blocked =
        w.s.mm_cid
            .user_list
            .iter()
            .skip(usize::from(i))
            .any(|t| t != 0 && usize::from(w.s.tasks[t].cpu) == usize::from(cpu));
    assert!(blocked, "the walk must meet the spinning runqueue");
    assert_eq!(r.trace.len(), 6);
}

#[test]
fn pre_fix_livelocks_in_bpf_ci_configuration() {
    for cpus in 2..=4 {
        let r = run(Variant::PreFix, Scenario::BpfCi, cpus);
        assert!(
            matches!(r.finding, Finding::LiveLock { .. }),
            "{} CPUs: {:?}",
            cpus,
            r.finding
        );
    }
}

#[test]
fn no_transit_livelocks_on_cpu_to_task_switch() {
    let r = run(Variant::NoTransit, Scenario::CpuToTask, 6);
    let Finding::LiveLock { cpu } = r.finding else {
        panic!("expected a live lock, got {:?}", r.finding);
    };
    let w = final_state(Variant::NoTransit, Scenario::CpuToTask, 6, &r);
    assert_eq!(w.s.mm_cid.mode, 0, "back in per task mode");
    assert_eq!(w.s.mm_cid.cidmask, 0b11_1111, "pool exhausted");
    // The exit's CPU walk has not passed the spinning CPU.
    let walker = (0..w.s.nr_tasks).find_map(|t| match w.task[t].op {
        Op::ExitCpusToTasks { cpu: at } => Some(at),
        _ => None,
    });
    assert!(
        walker.is_some_and(|at| at <= cpu),
        "walk behind CPU{}: {:?}",
        cpu,
        walker
    );
}

#[test]
fn pre_fix_is_clean_on_cpu_to_task_switch() {
    // The fix only changed the task to CPU direction.
    assert_eq!(
        run(Variant::PreFix, Scenario::CpuToTask, 6).finding,
        Finding::Clean
    );
}

#[test]
fn v7_3_is_clean_for_2_to_4_cpus() {
    for cpus in 2..=4 {
        for sc in [Scenario::BpfCi, Scenario::Changelog] {
            let r = run(Variant::V7_3, sc, cpus);
            assert_eq!(r.finding, Finding::Clean, "{:?} on {} CPUs", sc, cpus);
        }
    }
    assert_eq!(
        run(Variant::V7_3, Scenario::CpuToTask, 6).finding,
        Finding::Clean
    );
}

#[test]
fn state_counts_of_small_configurations() {
    assert_eq!(run(Variant::V7_3, Scenario::BpfCi, 2).states, V7_3_BPF_CI_2);
    assert_eq!(run(Variant::V7_3, Scenario::BpfCi, 3).states, V7_3_BPF_CI_3);
}

/// Classes of states up to renaming tasks and CPUs (explorer::symmetry).
const V7_3_BPF_CI_2: usize = 2458;
const V7_3_BPF_CI_3: usize = 71_571;

#[test]
fn state_counts_of_small_unbounded_configurations() {
    let unbounded = |cpus, exits| {
        let cfg = Config {
            exits,
            ..Config::new(Variant::V7_3).scenario(Scenario::BpfCi, cpus)
        };
        let r = explore(&cfg.unbounded(), |_| {});
        assert_eq!(r.finding, Finding::Clean);
        r.states
    };
    assert_eq!(unbounded(2, 0), 855);
    assert_eq!(unbounded(3, 0), 68_099);
    assert_eq!(unbounded(3, 1), 104_300);
}

#[test]
fn random_walk_finds_pre_fix_live_lock_and_replays() {
    let cfg = Config::new(Variant::PreFix).scenario(Scenario::BpfCi, 4);
    let found = (0..200).find_map(|seed| {
        let r = random_walk(&cfg, seed, 200, 50);
        matches!(r.finding, Finding::LiveLock { .. }).then_some((seed, r))
    });
    let (seed, r) = found.expect("some walk live locks pre-fix");
    let again = random_walk(&cfg, seed, 200, 50);
    assert_eq!(again.trace, r.trace, "the seed replays the walk");
}

#[test]
fn random_walk_finds_nothing_on_v7_3() {
    let cfg = Config::new(Variant::V7_3).scenario(Scenario::BpfCi, 4);
    for seed in 0..200 {
        assert_eq!(
            random_walk(&cfg, seed, 200, 50).finding,
            Finding::Clean,
            "seed {}",
            seed
        );
    }
}

/// Each safety checker fires on a state known to be bad.
mod checkers {
    use super::*;
    use explorer::world::Violation;

    fn running(cpus: u32) -> World {
        Config::new(Variant::V7_3)
            .scenario(Scenario::BpfCi, cpus)
            .initial()
    }

    #[test]
    fn duplicate_cid_is_reported() {
        let mut w = running(4);
        w.s.tasks[2].cid = 1;
        assert_eq!(
            w.check(),
            Some(Violation::DuplicateCid { a: 1, b: 2, cid: 1 })
        );
    }

    #[test]
    fn cid_out_of_range_is_reported() {
        let mut w = running(4);
        w.s.tasks[3].cid = 4 | MM_CID_ONCPU;
        assert_eq!(
            w.check(),
            Some(Violation::CidOutOfRange { task: 3, cid: 4 })
        );
    }

    #[test]
    fn model_fault_is_reported() {
        let mut w = running(4);
        mm_drop_cid(&mut w.s, MM_CID_UNSET);
        assert_eq!(
            w.check(),
            Some(Violation::Fault(Fault::OobClearBit(MM_CID_UNSET)))
        );
    }

    #[test]
    fn clean_state_passes() {
        assert_eq!(running(4).check(), None);
    }
}

#[test]
fn unguarded_drop_clears_transit_bit_out_of_bounds_on_exit() {
    // 1e83ccd5921a: the exit's mode switch drops a per CPU CID that still
    // carries MM_CID_TRANSIT; clear_bit() gets bit 29 of the CID word.
    let r = run(Variant::UnguardedDrop, Scenario::CpuToTask, 6);
    let Finding::Violation(explorer::world::Violation::Fault(Fault::OobClearBit(bit))) = r.finding
    else {
        panic!("expected an out of bounds clear_bit(), got {:?}", r.finding);
    };
    assert_eq!(
        bit & !7,
        MM_CID_TRANSIT,
        "a TRANSIT CID below 8: {:#x}",
        bit
    );
    assert!(matches!(
        r.trace.last(),
        Some(explorer::world::Action::Exit { .. })
    ));
}

#[test]
fn v7_3_is_clean_with_fork_and_exit_interleaved() {
    let cfg = Config {
        exits: 1,
        ..Config::new(Variant::V7_3).scenario(Scenario::BpfCi, 3)
    };
    assert_eq!(explore(&cfg, |_| {}).finding, Finding::Clean);
}

/// Per CPU mode on 4 CPUs, a fork, an exit and two execve() calls that
/// fail: the window in which a running task is a CID user without a CID.
fn failed_execve(v: Variant) -> Config {
    Config {
        forks: 1,
        exits: 1,
        execs: 2,
        ..Config::new(v).scenario(Scenario::CpuToTask, 4).unbounded()
    }
}

/// patches/bounded-cid-wait/ on the state 7.3's last user leaves: a
/// failed execve() of the only user in per CPU mode leaves CPU1 owning
/// CID 1 in TRANSIT mode and T0 holding CID 0, so the child T0 forks
/// finds no CID free until T0 runs on CPU1 (`mm_cid_from_task()` drops
/// CPU1's).  7.3 spins in `mm_get_cid()` until then; the bounded wait
/// gives up, T3 runs with `MM_CID_UNSET | MM_CID_TRANSIT`, and its
/// schedule out clears bit 2^31 of the bitmap (docs/patch-workflow.md).
#[test]
fn bounded_cid_wait_clears_bit_31_where_7_3_waits() {
    let cfg = |v| Config {
        tasks: 3,
        forks: 1,
        exits: 1,
        execs: 2,
        switches: 12,
        check_unset: false,
        ..Config::new(v).scenario(Scenario::CpuToTask, 2)
    };
    let r = explore(&cfg(Variant::BoundedCidWait), |_| {});
    assert_eq!(
        r.finding,
        Finding::Violation(explorer::world::Violation::Fault(Fault::OobClearBit(
            MM_CID_UNSET
        )))
    );
    assert_eq!(r.trace.len(), 5, "{:?}", r.trace);
    // 7.3 on the same five steps spins and is freed: its finding, the
    // leak's live lock, takes ten.
    let r = explore(&cfg(Variant::V7_3), |_| {});
    assert!(
        matches!(r.finding, Finding::LiveLock { .. }),
        "{:?}",
        r.finding
    );
    assert!(r.trace.len() > 5, "{:?}", r.trace);
}

#[test]
fn transit_unset_clears_bit_31_after_a_failed_execve() {
    // de3ab9bd3133: the CPU to task walk sets TRANSIT on the MM_CID_UNSET
    // of a task back from a failed execve(), and its schedule out feeds
    // MM_CID_UNSET to clear_bit().  The MM_CID_UNSET user space sees
    // first is left out, to reach the fault.
    let cfg = Config {
        check_unset: false,
        ..failed_execve(Variant::TransitUnset)
    };
    let r = explore(&cfg, |_| {});
    assert_eq!(
        r.finding,
        Finding::Violation(explorer::world::Violation::Fault(Fault::OobClearBit(
            MM_CID_UNSET
        )))
    );
    let failed = r
        .trace
        .iter()
        .position(|a| matches!(a, explorer::world::Action::ExecveFailed { .. }))
        .expect("an execve() fails");
    let walk = r
        .trace
        .iter()
        .position(|a| matches!(a, explorer::world::Action::FixupCpu { .. }))
        .expect("a CPU walk");
    assert!(failed < walk, "{:?}", r.trace);
    assert!(matches!(
        r.trace.last(),
        Some(explorer::world::Action::Switch { prev: Some(_), .. })
    ));
}

#[test]
fn v7_3_failed_execve_window_breaks_no_ownership_invariant() {
    // mm_cid_fixup_cpus_to_tasks() hands a CPU's CID to rq->curr only if
    // curr's CID is CPU owned: a task back from a failed execve() has
    // none, so the CPU keeps its CID in per task mode until a user
    // switches in there, which transition_finished() allows (model tests:
    // walk_passed_after_the_walk_back_and_not_when_the_mode_completes_first).
    // Nothing else goes wrong there but the MM_CID_UNSET user space sees,
    // left out here.
    let cfg = Config {
        check_unset: false,
        ..failed_execve(Variant::V7_3)
    };
    let r = explore(&cfg, |_| {});
    assert!(matches!(r.finding, Finding::Clean), "{:?}", r.finding);
}

#[test]
fn v7_3_shows_user_space_mm_cid_unset_after_a_failed_execve() {
    // sched_mm_cid_after_execve() -> sched_mm_cid_fork() leaves the CID
    // to the next schedule in when the mm is in per CPU mode, but current
    // returns to user space first, and rseq_force_update() shows it
    // task_mm_cid() = MM_CID_UNSET (docs/failed-execve-unset.md).
    let cfg = failed_execve(Variant::V7_3);
    let r = explore(&cfg, |_| {});
    let Finding::Violation(explorer::world::Violation::CidOutOfRange { task, cid }) = r.finding
    else {
        panic!("expected MM_CID_UNSET in user space: {:?}", r.finding);
    };
    assert_eq!(cid, MM_CID_UNSET);
    assert_eq!(
        r.trace.last(),
        Some(&explorer::world::Action::ExecveFailed { task })
    );
    let before = replay(&cfg, &r.trace[..r.trace.len() - 1]);
    assert!(cid_on_cpu(before.s.mm_cid.mode), "per CPU mode");
}

#[test]
fn v7_3_shows_user_space_nothing_else_wrong_in_the_failed_execve_window() {
    let cfg = Config {
        switches: 4,
        check_transitions: false,
        check_unset: false,
        ..failed_execve(Variant::V7_3)
    };
    let r = explore(&cfg, |_| {});
    assert_eq!((r.finding, r.states), (Finding::Clean, 259_640));
}

/// Three threads on 4 CPUs, two of which fork: the changelog of
/// b2e48c429ec5 ("CPU1: fork() ... -> preemption, CPU2: fork()").
fn concurrent_forks(v: Variant) -> Config {
    Config {
        tasks: 3,
        forks: 2,
        forkers: 2,
        ..Config::new(v).scenario(Scenario::BpfCi, 4).unbounded()
    }
}

/// Three threads on 4 CPUs, one vfork()ed process and one more thread.
fn vfork(v: Variant) -> Config {
    Config {
        tasks: 3,
        forks: 1,
        vforks: 1,
        ..Config::new(v).scenario(Scenario::BpfCi, 4).unbounded()
    }
}

/// The task a finished transition left owning a CID in per CPU mode.
fn left_owning_a_cid(r: &Report) -> u8 {
    match r.finding {
        Finding::Violation(explorer::world::Violation::TransitionUnfinished {
            mode: MM_CID_ONCPU,
            task: Some(t),
            ..
        }) => t,
        ref f => panic!("expected a task owning a CID in per CPU mode: {:?}", f),
    }
}

#[test]
fn fork_invisible_misses_a_child_not_yet_on_the_thread_list() {
    let cfg = concurrent_forks(Variant::ForkInvisible);
    let r = explore(&cfg, |_| {});
    let t = left_owning_a_cid(&r);
    // One fork's child is a CID user when the other fork's walk runs.
    use explorer::world::Action;
    let forks: Vec<(u8, u8)> = r
        .trace
        .iter()
        .filter_map(|a| match *a {
            Action::Fork { task, child, .. } => Some((task, child)),
            _ => None,
        })
        .collect();
    assert_eq!(forks.len(), 2, "{:?}", r.trace);
    assert_ne!(forks[0].0, forks[1].0, "two forkers");
    assert_eq!(t, forks[0].1, "the first child keeps its CID");
    assert!(!r.trace.iter().any(|a| matches!(a, Action::Attach { .. })));
    let w = replay(&cfg, &r.trace);
    assert_eq!(w.task[usize::from(t)].op, Op::None);
    assert!(cid_on_task(w.s.tasks[usize::from(t)].cid));
}

#[test]
fn fork_invisible_stalls_the_machine() {
    // "a subsequent schedule in might fail to acquire a (transitional)
    // CID and the machine stalls": the forker of the child that kept its
    // CID spins, and the child is never attached.
    let cfg = Config {
        check_transitions: false,
        ..concurrent_forks(Variant::ForkInvisible)
    };
    let r = explore(&cfg, |_| {});
    assert!(
        matches!(r.finding, Finding::LiveLock { .. }),
        "{:?}",
        r.finding
    );
}

#[test]
fn vfork_count_misses_the_vforked_process() {
    let cfg = vfork(Variant::VforkCount);
    let r = explore(&cfg, |_| {});
    let t = left_owning_a_cid(&r);
    let w = replay(&cfg, &r.trace);
    assert!(
        w.task[usize::from(t)].process,
        "T{} is the vfork()ed one",
        t
    );
}

#[test]
fn v7_3_is_clean_with_concurrent_forks_and_vfork() {
    for cfg in [concurrent_forks(Variant::V7_3), vfork(Variant::V7_3)] {
        let r = explore(&Config { switches: 4, ..cfg }, |_| {});
        assert_eq!(r.finding, Finding::Clean, "{:?}", cfg);
    }
}

fn weak(v: Variant, cpus: u32) -> Config {
    Config {
        weak: true,
        ..Config::new(v).scenario(Scenario::BpfCi, cpus).unbounded()
    }
}

#[test]
fn split_mode_livelocks_on_weak_memory() {
    // 47ee94efccf6: with ownership and transition in two fields, a CPU
    // sees per CPU mode without the transition and hands CIDs to CPUs
    // directly: the live lock of the pre-fix variant.
    let cfg = weak(Variant::SplitMode, 3);
    let r = explore(&cfg, |_| {});
    assert!(
        matches!(r.finding, Finding::LiveLock { .. }),
        "{:?}",
        r.finding
    );
    let seen_half = r
        .trace
        .iter()
        .any(|a| matches!(a, explorer::world::Action::Flush { bits: 1 | 2, .. }));
    assert!(seen_half, "one field seen without the other: {:?}", r.trace);
}

#[test]
fn v7_3_is_clean_on_weak_memory() {
    let r = explore(&weak(Variant::V7_3, 3), |_| {});
    assert_eq!((r.finding, r.states), (Finding::Clean, 304_850));
}

#[test]
fn split_mode_is_v7_3_on_sequentially_consistent_memory() {
    let sc = |v| {
        explore(
            &Config::new(v).scenario(Scenario::BpfCi, 3).unbounded(),
            |_| {},
        )
    };
    let (a, b) = (sc(Variant::SplitMode), sc(Variant::V7_3));
    assert_eq!((a.finding, a.states), (b.finding, b.states));
}

fn affinity(v: Variant) -> Config {
    Config::new(v).scenario(Scenario::Affinity, 6)
}

#[test]
fn v7_3_widening_leaves_per_cpu_mode_stuck() {
    let r = explore(&affinity(Variant::V7_3), |_| {});
    assert_eq!(
        r.finding,
        Finding::Violation(explorer::world::Violation::ModeStuck {
            users: 2,
            thrs: 3,
            nr_cpus_allowed: 3,
            pcpu_thrs: 2,
        })
    );
    // T0 forks T1 into per CPU mode, walks, completes; T1 is widened.
    assert_eq!(r.trace.len(), 5);
    assert_eq!(
        r.trace.last(),
        Some(&explorer::world::Action::Affinity {
            task: 1,
            wide: true
        })
    );
    let w = replay(&affinity(Variant::V7_3), &r.trace);
    assert_eq!((w.s.mm_cid.mode, w.work_pending), (MM_CID_ONCPU, false));
    assert_eq!(w.s.mm_cid.cpus_allowed, 0b111);
}

#[test]
fn affinity_switchback_switches_back_through_the_work() {
    use explorer::world::Action;
    // v7.3's counterexample on the candidate fix: the widening queues the
    // work, whose walk ends per CPU mode.
    let stuck = explore(&affinity(Variant::V7_3), |_| {}).trace;
    let cfg = affinity(Variant::AffinitySwitchback);
    let mut w = replay(&cfg, &stuck);
    assert_eq!(w.violation, None);
    assert!(w.work_pending && w.s.mm_cid.update_deferred);
    let mut acts = Vec::new();
    w.actions(&mut acts);
    assert!(acts.contains(&Action::Work), "{:?}", acts);
    w.step(Action::Work);
    assert_eq!(w.s.mm_cid.mode, MM_CID_TRANSIT);
    for cpu in 0..6 {
        w.step(Action::WorkFixupCpu { cpu });
    }
    w.step(Action::WorkComplete);
    assert_eq!((w.s.mm_cid.mode, w.violation), (0, None));
    assert_eq!(w.work_walk, None);
    // The work has a column of its own, right of the CPUs.
    let mut trace = stuck;
    trace.push(Action::Work);
    trace.extend((0..6).map(|cpu| Action::WorkFixupCpu { cpu }));
    trace.push(Action::WorkComplete);
    let text = explorer::trace::timeline(&cfg, &trace);
    println!("{}", text);
    assert!(text.contains("queues mm_cid_work_fn()"), "{}", text);
    let work = " ".repeat(30 * 6);
    assert!(
        text.contains(&format!(
            "{}mm_cid_work_fn(): mode TRANSIT (CPU -> task)",
            work
        )),
        "{}",
        text
    );
    assert!(
        text.contains(&format!("{}fixup done: mode per task", work)),
        "{}",
        text
    );
}

#[test]
fn affinity_switchback_is_clean_on_the_affinity_scenario() {
    let cfg = affinity(Variant::AffinitySwitchback);
    let bounded = explore(&cfg, |_| {});
    assert_eq!((bounded.finding, bounded.states), (Finding::Clean, 16431));
    let unbounded = explore(&cfg.unbounded(), |_| {});
    assert_eq!(
        (unbounded.finding, unbounded.states),
        (Finding::Clean, 7414)
    );
}

#[test]
fn affinity_switchback_is_clean_with_two_forks_an_exit_and_three_calls() {
    let cfg = Config {
        forks: 2,
        exits: 1,
        affinity: 3,
        ..affinity(Variant::AffinitySwitchback)
    }
    .unbounded();
    let r = explore(&cfg, |_| {});
    assert_eq!((r.finding, r.states), (Finding::Clean, 280512));
}

#[test]
fn affinity_steps_change_nothing_without_masks() {
    // The other scenarios have no masks: no affinity step, no work, and
    // the state counts that state_counts_of_small_configurations pins.
    let cfg = Config {
        affinity: 3,
        ..Config::new(Variant::V7_3).scenario(Scenario::BpfCi, 3)
    };
    let mut acts = Vec::new();
    cfg.initial().actions(&mut acts);
    assert!(acts
        .iter()
        .all(|a| !matches!(a, explorer::world::Action::Affinity { .. })));
    assert_eq!(cfg.initial().affinity_left, 0);
}

#[test]
fn any_thread_count_gives_the_same_search() {
    // explore() expands each batch of queued states on cfg.threads threads
    // and merges in the sequential order: a clean search, a violation and
    // a live lock come out the same, trace and counts included.
    for cfg in [
        Config::new(Variant::V7_3).scenario(Scenario::BpfCi, 3),
        failed_execve(Variant::V7_3),
        Config::new(Variant::PreFix)
            .scenario(Scenario::BpfCi, 4)
            .unbounded(),
    ] {
        let one = explore(&Config { threads: 1, ..cfg }, |_| {});
        let three = explore(&Config { threads: 3, ..cfg }, |_| {});
        assert_eq!(
            (one.finding, one.states, one.edges, one.paths, one.trace),
            (
                three.finding,
                three.states,
                three.edges,
                three.paths,
                three.trace
            )
        );
    }
}
