// SPDX-License-Identifier: GPL-2.0

//! Branch coverage of the model: random walks of the explorer's scenarios
//! on v7.3 take every [`Path`] but the few the C cannot take, each listed
//! with the argument why.  A `took()` removed from the model, or a path
//! that becomes reachable, fails the test.

use explorer::scenario::{Config, Scenario};
use explorer::search::random_walk;
use mmcid_model::paths::Path;
use mmcid_model::*;

/// The paths of `walks` seeded random walks from each configuration of a
/// grid around the named scenarios on `variant`.
fn walked(variant: Variant, walks: u64) -> u64 {
    let mut paths = 0;
    for sc in Scenario::ALL {
        for cpus in [2, 3, 4, 6] {
            let base = Config::new(variant).scenario(sc, cpus);
            for (forks, exits, execs, vforks) in [(1, 0, 0, 0), (3, 2, 1, 1), (4, 4, 2, 2)] {
                for weak in [false, true] {
                    let cfg = Config {
                        forks: base.forks.max(forks),
                        exits: base.exits.max(exits),
                        execs,
                        vforks,
                        weak,
                        ..base
                    };
                    if cfg.validate().is_err() {
                        continue;
                    }
                    for seed in 0..walks {
                        let seed = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
                        paths |= random_walk(&cfg, seed, 400, 50).paths;
                    }
                }
            }
        }
    }
    paths
}

/// The affinity changes the explorer does not make (its only affinity
/// steps are on threads of a process in per CPU mode).
fn affinity_outside_the_explorer() -> u64 {
    // sched_setaffinity() on the only thread between
    // sched_mm_cid_before_execve() and sched_mm_cid_after_execve().
    let mut s = <Sched>::forked_by_t0(Variant::V7_3, 4, 1).expect("T0");
    sched_mm_cid_before_execve(&mut s, 0, 0);
    s.paths = 0;
    assert!(!mm_update_cpus_allowed(&mut s, 0b1));
    let mut paths = s.paths;
    // A process started under taskset -c 0 widens its only thread's mask.
    let mut s = <Sched>::pinned_t0(Variant::V7_3, 4, 0b1).expect("T0");
    s.paths = 0;
    assert!(!mm_update_cpus_allowed(&mut s, 0b11));
    paths |= s.paths;
    paths
}

/// The kselftest's walk-skip child, which the random walks do not time: the
/// fork that passes max_cids switches the mm to per CPU mode with T0
/// running (its CPU's slot gets a copy of its CID in transit), T0's
/// execve() fails, and the exits walk back past T0, active without a CID
/// on a CPU that owns none.
fn failed_execve_walk_back() -> u64 {
    let mut s = <Sched>::forked_by_t0(Variant::V7_3, 4, 5).expect("5 users");
    assert!(cid_on_cpu(s.mm_cid.mode));
    sched_mm_cid_before_execve(&mut s, 0, 0);
    sched_mm_cid_after_execve(&mut s, 0, 0).expect("no CID needed");
    s.paths = 0;
    for t in 1..4 {
        sched_mm_cid_exit(&mut s, t, t, t);
    }
    s.switch_in(1, 4).expect("a CPU CID");
    sched_mm_cid_exit(&mut s, 1, 4, 4);
    assert!(!cid_on_cpu(s.mm_cid.mode));
    assert_eq!(s.tasks[0].cid, MM_CID_UNSET);
    s.paths
}

fn names(mask: u64) -> Vec<&'static str> {
    Path::in_mask(mask).map(Path::name).collect()
}

#[test]
fn v7_3_takes_every_path_but_the_unreachable_ones() {
    let unreachable = Path::UNREACHABLE_ON_V7_3;
    let taken =
        walked(Variant::V7_3, 100) | affinity_outside_the_explorer() | failed_execve_walk_back();
    let want = Path::MASK & !unreachable;
    assert_eq!(
        names(want & !taken),
        Vec::<&str>::new(),
        "paths never taken"
    );
    assert_eq!(
        names(taken & unreachable),
        Vec::<&str>::new(),
        "paths taken that the list says 7.3 cannot take"
    );
}

#[test]
fn affinity_switchback_takes_the_queue_and_work_paths() {
    let taken = walked(Variant::AffinitySwitchback, 100);
    // Not affinity_queued_twice: the mask of mm_cpus_allowed() grows once
    // in the scenario (model/paths_tests.rs takes it).
    for p in [Path::AffinityQueue, Path::WorkNothing, Path::WorkToTask] {
        assert!(taken & p.bit() != 0, "{}", p.name());
    }
}
