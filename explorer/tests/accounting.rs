// SPDX-License-Identifier: GPL-2.0

//! The CID accounting of the model (`invariants::cid_accounting()`: every
//! owned CID has one owner and its bit, every set bit an owner) in each
//! state of random walks of v7.3 where the module's fork and exit checks
//! apply it: no fork, exit or work holding `mm_cid::mutex`, no CPU
//! spinning in a context switch.  7.3 breaks it in one place only
//! (docs/failed-execve-leak.md): a failed execve() whose thread becomes
//! the mm's first user again, after the last user left per CPU mode in
//! TRANSIT, stores its new CID in a slot whose CPU still owns one.  The
//! test fails when the model stops finding that leak, and when it finds
//! a broken accounting anywhere else.

use explorer::scenario::{Config, Scenario};
use explorer::world::Action;
use mmcid_model::invariants::{cid_accounting, Owner};
use mmcid_model::*;

/// The first broken accounting of one seeded walk of `cfg`: the owner
/// named and the action that broke it.
fn first_broken(cfg: &Config, seed: u64) -> Option<(Owner, Action)> {
    let mut rng = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut w = cfg.initial();
    let mut acts = Vec::new();
    for _ in 0..400 {
        w.actions(&mut acts);
        if acts.is_empty() {
            return None;
        }
        // xorshift64, as search::random_walk()
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let a = acts[(rng % acts.len() as u64) as usize];
        w.step(a);
        if w.mutex_held() || w.spinning() != 0 {
            continue;
        }
        let n = w.s.nr_possible_cpus as usize;
        let cids = (0..w.s.nr_tasks).map(|t| w.s.tasks[t].cid);
        if let Some(o) = cid_accounting(
            cids,
            &w.s.mm_cid.pcpu[..n],
            w.s.mm_cid.cidmask,
            w.s.nr_possible_cpus,
        ) {
            return Some((o, a));
        }
    }
    None
}

#[test]
fn v7_3_leaks_a_cid_only_on_a_failed_execve() {
    let mut leaks = 0;
    for sc in Scenario::ALL {
        for cpus in [2, 3, 4] {
            let base = Config::new(Variant::V7_3).scenario(sc, cpus);
            for (forks, exits, execs, vforks) in [(3, 2, 1, 1), (4, 4, 2, 2)] {
                let cfg = Config {
                    forks: base.forks.max(forks),
                    exits: base.exits.max(exits),
                    execs,
                    vforks,
                    ..base
                };
                if cfg.validate().is_err() {
                    continue;
                }
                let cfg = cfg.unbounded();
                for seed in 0..100 {
                    match first_broken(&cfg, seed) {
                        None => {}
                        Some((Owner::Leaked(_), Action::ExecveFailed { .. })) => leaks += 1,
                        Some(other) => panic!("{sc:?} on {cpus} CPUs, seed {seed}: {other:?}"),
                    }
                }
            }
        }
    }
    assert!(leaks > 0, "no walk leaked a CID on a failed execve()");
}
