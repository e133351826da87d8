// SPDX-License-Identifier: GPL-2.0

//! The report's lock-free code under concurrency: loom explores every
//! interleaving of a few threads (`RUSTFLAGS="--cfg loom" cargo test
//! --release -p mmcid_check loom_`), and many-thread stress tests run in
//! the plain build.  Each checks the exact counts: nothing lost, nothing
//! torn, drops counted once each.

extern crate std;

use super::counters::{Counter, Counters};
use super::mm_table::MmTable;
use super::once::WriteOnce;
use std::vec::Vec;

/// What one thread's notes returned: the mms that found a place, and how
/// many notes did not.
fn note_all<const N: usize>(t: &MmTable<N>, mms: &[u64]) -> (Vec<u64>, i64) {
    let mut held = Vec::new();
    let mut dropped = 0;
    for &m in mms {
        if t.note(m) {
            held.push(m);
        } else {
            dropped += 1;
        }
    }
    (held, dropped)
}

/// After every note ended: each mm once in the table, every mm a note
/// said is held is there, `seen` is what the table holds and `lost` the
/// notes that said they found no place.
fn table_exact<const N: usize>(t: &MmTable<N>, results: &[(Vec<u64>, i64)]) {
    let mut held: Vec<u64> = t.held().collect();
    let n = held.len();
    held.sort_unstable();
    held.dedup();
    assert_eq!(held.len(), n, "an mm is in the table twice");
    assert_eq!(t.seen(), n as i64, "seen is not what the table holds");
    for (said, _) in results {
        for m in said {
            assert!(held.contains(m), "mm {m:#x} said held, not in the table");
        }
    }
    let dropped: i64 = results.iter().map(|r| r.1).sum();
    assert_eq!(t.lost(), dropped, "lost is not the notes that failed");
}

#[cfg(loom)]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;
    use loom::thread;

    /// mm addresses whose hashes collide in a table of 2 (low 6 bits dropped).
    fn colliding(n: u64) -> Vec<u64> {
        (1..=n).map(|i| i << 6).collect()
    }

    #[test]
    fn loom_mm_table_notes_exactly() {
        loom::model(|| {
            let t = Arc::new(MmTable::<2>::new());
            let mms = colliding(3);
            let (a, b) = (mms[..2].to_vec(), mms[1..].to_vec());
            let t2 = t.clone();
            let h = thread::spawn(move || note_all(&t2, &b));
            let r1 = note_all(&t, &a);
            let r2 = h.join().unwrap();
            table_exact(&t, &[r1, r2]);
        });
    }

    #[test]
    fn loom_counters_lose_no_add() {
        loom::model(|| {
            let c = Arc::new(Counters::<2>::new());
            let c2 = c.clone();
            let h = thread::spawn(move || {
                c2.add(0, Counter::Fork, 1);
                c2.add(5, Counter::Exit, 2);
            });
            c.add(0, Counter::Fork, 1);
            c.add(1, Counter::Exit, 1);
            h.join().unwrap();
            assert_eq!(c.count(Counter::Fork), 2);
            assert_eq!(c.count(Counter::Exit), 3);
        });
    }

    #[test]
    fn loom_write_once_one_writer_whole_reads() {
        loom::model(|| {
            let w = Arc::new(WriteOnce::new([0u32; 2]));
            let w2 = w.clone();
            let h = thread::spawn(move || w2.write_once(|v| *v = [1, 1]));
            let r = w.read(|v| *v);
            let mine = w.write_once(|v| *v = [2, 2]);
            let theirs = h.join().unwrap();
            assert!(mine != theirs, "both or neither wrote");
            assert!(matches!(r, None | Some([1, 1])), "torn or early read {r:?}");
            assert_eq!(w.read(|v| *v), Some(if mine { [2, 2] } else { [1, 1] }));
        });
    }

    /// WriteOnce's protocol with its release store made relaxed: loom
    /// finds the reader racing with the writer.  This is what the test
    /// above would report of such a bug.
    #[test]
    #[should_panic(expected = "Causality violation")]
    fn loom_finds_a_relaxed_publish() {
        use crate::cell::Cell;
        use crate::sync::{Atomic, Relaxed};
        loom::model(|| {
            let s = Arc::new((Atomic::<i32>::new(0), Cell::new(0u32)));
            let s2 = s.clone();
            let h = thread::spawn(move || {
                // SAFETY: not safe: the test shows loom catching it.
                s2.1.with_mut(|v| unsafe { *v = 1 });
                s2.0.store(2, Relaxed);
            });
            if s.0.load(Relaxed) == 2 {
                // SAFETY: as above.
                let _ = s.1.with(|v| unsafe { *v });
            }
            h.join().unwrap();
        });
    }
}

#[cfg(not(loom))]
mod stress {
    use super::*;
    use std::sync::Arc;
    use std::thread;

    const THREADS: usize = 8;

    #[test]
    fn mm_table_notes_exactly_under_many_threads() {
        for round in 0..20u64 {
            let t = Arc::new(MmTable::<64>::new());
            // 200 mms for 64 places, every one noted by several threads.
            let mms: Vec<u64> = (0..200u64).map(|i| (i * 7919 + round + 1) << 6).collect();
            let hs: Vec<_> = (0..THREADS)
                .map(|k| {
                    let (t, mms) = (t.clone(), mms.clone());
                    thread::spawn(move || {
                        let mine: Vec<u64> = mms.iter().copied().skip(k % 3).step_by(2).collect();
                        note_all(&t, &mine)
                    })
                })
                .collect();
            let results: Vec<_> = hs.into_iter().map(|h| h.join().unwrap()).collect();
            table_exact(&t, &results);
            assert!(
                t.lost() > 0,
                "the table never filled: the test shows nothing"
            );
        }
    }

    #[test]
    fn counters_lose_no_add_under_many_threads() {
        let c = Arc::new(Counters::<4>::new());
        let hs: Vec<_> = (0..THREADS)
            .map(|k| {
                let c = c.clone();
                thread::spawn(move || {
                    for i in 0..100_000 {
                        c.add(k + i % 7, Counter::Fork, 1);
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(c.count(Counter::Fork), (THREADS * 100_000) as i64);
        c.reset();
        assert_eq!(c.count(Counter::Fork), 0);
    }

    #[test]
    fn write_once_has_one_writer_under_many_threads() {
        for _ in 0..200 {
            let w = Arc::new(WriteOnce::new([0u64; 64]));
            let hs: Vec<_> = (1..=THREADS as u64)
                .map(|k| {
                    let w = w.clone();
                    thread::spawn(move || {
                        let read = w.read(|v| *v);
                        let wrote = w.write_once(|v| v.fill(k));
                        (wrote, read)
                    })
                })
                .collect();
            let rs: Vec<_> = hs.into_iter().map(|h| h.join().unwrap()).collect();
            assert_eq!(rs.iter().filter(|r| r.0).count(), 1, "not one writer");
            let v = w.read(|v| *v).unwrap();
            assert!(v.iter().all(|&x| x == v[0]) && v[0] != 0, "torn value");
            for (_, read) in rs {
                assert!(
                    read.is_none() || read == Some(v),
                    "a read saw another value"
                );
            }
        }
    }
}

/// The checks above fail on a table that loses a note: `table_exact`
/// finds a note said held that is not there, and a miscount.
#[test]
#[should_panic(expected = "not in the table")]
fn table_exact_finds_a_lost_note() {
    let t = MmTable::<4>::new();
    let r = note_all(&t, &[1 << 6]);
    t.reset();
    table_exact(&t, &[r]);
}
