// SPDX-License-Identifier: GPL-2.0

//! Tests of the report's text (report_text.rs) from given counts: the
//! summary lines the scripts and the kselftest read, every key once, the
//! status table's figures, and a finding's text.

extern crate std;

use super::check::{Mismatch, Prediction};
use super::counters::{Counter, Summary};
use super::ffi::*;
use super::guard::Status;
use super::model::paths::Path;
use super::model::MM_CID_UNSET;
use super::report_text::*;
use std::collections::HashMap;
use std::string::String;
use std::vec::Vec;

/// Counts a test gives, the rest 0.
struct Given {
    counts: HashMap<&'static str, i64>,
    paths: HashMap<&'static str, i64>,
    mms: (i64, i64),
}

impl Given {
    fn new(counts: &[(Counter, i64)]) -> Self {
        Given {
            counts: counts.iter().map(|&(c, n)| (c.key(), n)).collect(),
            paths: HashMap::new(),
            mms: (3, 0),
        }
    }
}

impl Tally for Given {
    fn count(&self, c: Counter) -> i64 {
        self.counts.get(c.key()).copied().unwrap_or(0)
    }

    fn path(&self, p: Path) -> i64 {
        self.paths.get(p.name()).copied().unwrap_or(0)
    }

    fn mms(&self) -> (i64, i64) {
        self.mms
    }
}

/// `show` as a string.
fn text(show: impl Fn(&mut core::fmt::Formatter<'_>) -> core::fmt::Result) -> String {
    struct Show<F>(F);
    impl<F: Fn(&mut core::fmt::Formatter<'_>) -> core::fmt::Result> core::fmt::Display for Show<F> {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            (self.0)(f)
        }
    }
    std::format!("{}", Show(show))
}

const WD: Watchdog = Watchdog {
    starts: 4,
    stops: 3,
};

fn guard() -> Status {
    Status(Ok("v7.3"))
}

/// The report's `key value` lines as a map, each key once.
fn report(t: &Given) -> HashMap<String, i64> {
    let out = text(|f| show_report(f, t, guard(), WD));
    let mut keys = HashMap::new();
    for line in out.lines() {
        let (k, v) = line.split_once(' ').expect("key value");
        let old = keys.insert(String::from(k), v.parse::<i64>().expect("a number"));
        assert!(old.is_none(), "key {k} twice");
    }
    keys
}

#[test]
fn summary_lines_sum_what_they_say() {
    let t = Given::new(&[
        (Counter::TaskOwned, 3),
        (Counter::Out, 2),
        (Counter::RacedMaxCids, 1),
        (Counter::Mismatch, 1),
        (Counter::Fork, 5),
        (Counter::ExitLast, 1),
        (Counter::RacedOp, 2),
        (Counter::AffinitySame, 4),
        (Counter::OpMismatch, 1),
    ]);
    let r = report(&t);
    let get = |k: Summary| r[k.key()];
    assert_eq!(get(Summary::Agreed), 5);
    assert_eq!(get(Summary::CheckedSwitches), 7);
    assert_eq!(get(Summary::AgreedForkExit), 6);
    assert_eq!(get(Summary::AgreedAffinity), 4);
    // Agreed 6 + 4, raced 2, mismatch 1.
    assert_eq!(get(Summary::CheckedForkExit), 13);
    assert_eq!(get(Summary::Undecided), 3);
    assert_eq!(get(Summary::Mms), 3);
    assert_eq!(get(Summary::WatchdogStarts), 4);
    assert_eq!(get(Summary::Forced), 0);
    // Every counter and summary key, and a line per path.
    assert_eq!(r["mismatches"], 1);
    let expected = Summary::ALL.len() + Counter::ALL.len() + Path::ALL.len();
    assert_eq!(r.len(), expected);
}

#[test]
fn paths_are_counted_against_the_reachable_ones() {
    let mut t = Given::new(&[]);
    let mut reach = reachable();
    let (a, b) = (reach.next().unwrap(), reach.next().unwrap());
    t.paths.insert(a.name(), TESTED);
    t.paths.insert(b.name(), 1);
    let r = report(&t);
    assert_eq!(r[Summary::PathsChecked.key()], 2);
    assert_eq!(r[Summary::PathsTested.key()], 1);
    assert_eq!(r[Summary::PathsReachable.key()], reachable().count() as i64);
    let status = text(|f| show_status(f, &t, "v7.3", guard(), 0, WD));
    assert!(status.contains(&std::format!(
        "checked fewer than {TESTED} times: {} (1)",
        b.name()
    )));
}

#[test]
fn status_shows_the_checks_and_their_share_not_decided() {
    let t = Given::new(&[
        (Counter::TaskOwned, 97),
        (Counter::RacedMaxCids, 3),
        (Counter::Mismatch, 0),
    ]);
    let s = text(|f| show_status(f, &t, "v7.3", guard(), 0, WD));
    assert!(s.contains("checked: 100 context switches, 0 forks, exits and affinity calls; not decided 3 (3.00% of all checks)"), "{s}");
    assert!(s.contains("context switches in agreement: 97"), "{s}");
    assert!(s.contains("mismatches: 0"), "{s}");
    assert!(s.contains("model variant: v7.3"), "{s}");
}

#[test]
fn a_switch_finding_says_what_the_model_wanted() {
    let snap = |cid: u32| SwitchSnap {
        cpu: 1,
        nr_possible: 4,
        possible: 0b1111,
        prev: TaskSnap {
            task: 1,
            mm: 0x1000,
            cid: 1,
            active: 1,
            pid: 7,
            tid: 7,
        },
        next: TaskSnap {
            task: 2,
            mm: 0x1000,
            cid,
            active: 1,
            pid: 8,
            tid: 8,
        },
        mm: MmSnap {
            mm: 0x1000,
            mode: 0,
            max_cids: 4,
            users: 2,
            pcpu_cid: cid,
            cidmask: 0b0011,
        },
    };
    let want = Mismatch {
        want: Some(Prediction {
            prev_cid: Some(1),
            next_cid: Some(2),
            pcpu_cid: 2,
        }),
        bit_clear: None,
        walk_behind: false,
    };
    let s = text(|f| show_switch(f, &snap(MM_CID_UNSET), &snap(3), want));
    let lines: Vec<&str> = s.lines().collect();
    assert_eq!(lines.len(), 1, "{s}");
    assert!(s.starts_with("switch on cpu 1: mm 0x1000 "), "{s}");
    assert!(s.contains("next pid 8 cid 0x80000000 -> 0x3"), "{s}");
    assert!(
        s.ends_with("model (from the first snapshot): prev Some(1) next Some(2) pcpu 0x2\n"),
        "{s}"
    );
}

/// A run's counts as make run recorded them (4 vCPUs, 7.3).
fn recorded() -> Given {
    Given::new(&[
        (Counter::TaskOwned, 13937),
        (Counter::Fork, 2811),
        (Counter::ForkToCpu, 245),
        (Counter::ExitToTask, 245),
        (Counter::AffinitySame, 4196),
        (Counter::FixupToCpu, 245),
        (Counter::FixupToTask, 245),
        (Counter::RacedMaxCids, 47),
        (Counter::OpCompared, 984),
        (Counter::OpSwitched, 16),
    ])
}

fn verdict(t: &Given, guard: Status) -> String {
    text(|f| show_verdict(f, t, "v7.3", guard))
}

#[test]
fn verdict_of_agreement_says_what_was_checked() {
    let mut t = recorded();
    let mut reach = reachable();
    t.paths.insert(reach.next().unwrap().name(), TESTED);
    t.paths.insert(reach.next().unwrap().name(), 3);
    let n = reachable().count();
    assert_eq!(
        verdict(&t, guard()),
        std::format!("mmcid_rs: C and Rust (v7.3) agree on 21434 transitions (13937 context switches, 3301 forks and exits, 4196 affinity changes and deferred works, 245 switches to per CPU mode, 245 back, 490 fixup walks agreed user by user; 47 not decided; partly checked: CID accounting skipped on 0.0% of fork and exit snapshots, 1.6% of users and CPU slots left out; 0 forks and exits of mms over 254 users not compared); paths: 2 of {n} reachable branches of the mm_cid code checked, 1 of them 100 times or more\n")
    );
}

#[test]
fn verdict_fails_on_a_finding_a_live_lock_or_too_little() {
    let mut t = recorded();
    t.counts.insert(Counter::InvariantViolation.key(), 2);
    t.counts.insert(Counter::OpMismatch.key(), 1);
    assert!(verdict(&t, guard())
        .starts_with("mmcid_rs: FAIL: C and Rust (v7.3) disagree on 3 transitions"));
    let mut t = recorded();
    t.counts.insert(Counter::LiveLock.key(), 1);
    assert!(verdict(&t, guard()).starts_with("mmcid_rs: FAIL: the watchdog named a live lock"));
    // Both mode directions and a walk must have been checked.
    for c in [Counter::ForkToCpu, Counter::ExitToTask] {
        let mut t = recorded();
        t.counts.insert(c.key(), 0);
        assert!(
            verdict(&t, guard()).starts_with("mmcid_rs: FAIL: too little checked: "),
            "{}",
            c.key()
        );
    }
    let mut t = recorded();
    t.counts.insert(Counter::FixupToCpu.key(), 0);
    t.counts.insert(Counter::FixupToTask.key(), 0);
    assert!(verdict(&t, guard()).ends_with(", 0 fixup walks\n"));
}

#[test]
fn verdict_says_when_the_load_was_forced() {
    let forced = Status(super::guard::check(
        &[("v7.3", &["mm_cid_schedout"])],
        "v7.3",
        "v7.3",
    ));
    assert!(forced.0.is_err());
    let v = verdict(&recorded(), forced);
    assert!(v.contains("; forced: "), "{v}");
    assert!(!verdict(&recorded(), guard()).contains("forced"));
}
