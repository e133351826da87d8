// SPDX-License-Identifier: GPL-2.0

//! The command line: exit status and what it prints.

use std::process::Command;

fn explorer(args: &[&str]) -> (i32, String) {
    let (rc, out, _) = explorer_err(args);
    (rc, out)
}

/// Exit status, stdout and stderr.
fn explorer_err(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_explorer"))
        .args(args)
        .env_remove("MMCID_EXPLORER_MAX_STATES")
        .output()
        .expect("explorer runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn clean_configuration_exits_zero() {
    let (rc, out) = explorer(&["--variant", "v7.3", "--cpus", "2"]);
    assert_eq!(rc, 0, "{}", out);
    assert!(
        out.starts_with("v7.3: no violation (2458 states"),
        "{}",
        out
    );
}

#[test]
fn live_lock_exits_one_with_a_timeline() {
    let (rc, out) = explorer(&["--variant=pre-fix", "--scenario=changelog"]);
    assert_eq!(rc, 1, "{}", out);
    assert!(out.contains("LIVE LOCK"), "{}", out);
    assert!(out.contains("SPINS in mm_get_cid() holding rq"), "{}", out);
    assert!(out.contains("fixup walk will wait at T"), "{}", out);
    assert!(out.contains("step  CPU0"), "{}", out);
}

#[test]
fn random_failure_prints_its_seed() {
    let (rc, out) = explorer(&[
        "--variant",
        "pre-fix",
        "--random",
        "1",
        "--walks",
        "200",
        "--steps",
        "200",
        "--spin-bound",
        "50",
    ]);
    assert_eq!(rc, 1, "{}", out);
    assert!(out.contains("replay: --random "), "{}", out);
}

#[test]
fn bad_usage_exits_two() {
    for args in [
        &["--variant", "v9"][..],
        &["--cpus", "0"],
        &["--cpus", "x"],
        &["--bogus", "1"],
        &["--scenario"],
        &["--tasks", "12", "--forks", "5"],
        &["--cpus", "4294967298"],
        &["--cpus", "9"],
        &["--tasks", "17"],
        &["--forks", "-1"],
        &["--exits", "300"],
        &["--switches", "256"],
        &["--switches", "lots"],
        &["--max-states", "0"],
        &["--walks", "5"],
    ] {
        let (rc, out, err) = explorer_err(args);
        assert_eq!(rc, 2, "{:?}", args);
        assert!(out.is_empty(), "{:?}: {}", args, out);
        assert!(err.starts_with("error: "), "{:?}: {}", args, err);
    }
}

#[test]
fn out_of_range_number_names_the_option_and_the_range() {
    let (rc, _, err) = explorer_err(&["--cpus", "4294967298"]);
    assert_eq!(rc, 2);
    assert!(
        err.contains("invalid value '4294967298' for '--cpus <N>'"),
        "{}",
        err
    );
    assert!(err.contains("not in 1..=8"), "{}", err);
}

#[test]
fn help_lists_every_variant_and_the_real_defaults() {
    let (rc, help, _) = explorer_err(&["--help"]);
    assert_eq!(rc, 0);
    for v in mmcid_model::Variant::ALL {
        assert!(help.contains(&format!("- {}:", v.name())), "{}", help);
    }
    let d = explorer::scenario::Config::new(mmcid_model::Variant::V7_3);
    assert!(help.contains(&format!("[default: {}]", d.variant.name())));
    // The scenario sets the CPUs: the affinity one needs 6.
    assert!(
        help.contains(&format!("[default: {} bpf-ci,", d.cpus)),
        "{}",
        help
    );
    assert!(help.contains(", 6 affinity]"), "{}", help);
    assert!(help.contains(&format!("[default: {}]", d.switches)));
    assert!(help.contains(&format!("[default: {}]", d.max_states)));
}

#[test]
fn env_sets_the_state_bound_and_hitting_it_exits_three() {
    let out = Command::new(env!("CARGO_BIN_EXE_explorer"))
        .args(["--cpus", "3"])
        .env("MMCID_EXPLORER_MAX_STATES", "1000")
        .output()
        .expect("explorer runs");
    assert_eq!(out.status.code(), Some(3));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("state bound 1000 reached"), "{}", stdout);
}

#[test]
fn switches_none_and_255_are_the_same_unbounded_search() {
    let (rc, a) = explorer(&["--cpus", "2", "--switches", "none"]);
    let (_, b) = explorer(&["--cpus", "2", "--switches", "255"]);
    assert_eq!(rc, 0);
    let head = |s: &str| s.split(" transitions").next().unwrap_or("").to_string();
    assert_eq!(head(&a), head(&b));
    assert!(a.starts_with("v7.3: no violation (855 states"), "{}", a);
}

#[test]
fn transit_on_unset_shows_in_the_trace() {
    let (rc, out) = explorer(&[
        "--variant",
        "transit-unset",
        "--scenario",
        "cpu-to-task",
        "--cpus",
        "4",
        "--forks",
        "1",
        "--exits",
        "1",
        "--execs",
        "2",
        "--switches",
        "none",
        "--no-unset-check",
    ]);
    assert_eq!(rc, 1, "{}", out);
    assert!(
        out.contains("FAULT in the C code: OobClearBit(2147483648)"),
        "{}",
        out
    );
    assert!(out.contains("pcpu UNSET|TRANSIT"), "{}", out);
}

#[test]
fn affinity_widening_on_v7_3_prints_mode_stuck() {
    let (rc, out) = explorer(&["--variant", "v7.3", "--scenario", "affinity"]);
    assert_eq!(rc, 1, "{}", out);
    assert!(
        out.starts_with("v7.3: MODE STUCK: per CPU mode with 2 users, below 3"),
        "{}",
        out
    );
    assert!(
        out.contains("sched_setaffinity(T1, {0-2}): mm allowed {0-2} (3 CPUs), pcpu_thrs 2"),
        "{}",
        out
    );
    let (rc, out) = explorer(&["--variant", "affinity-switchback", "--scenario", "affinity"]);
    assert_eq!(rc, 0, "{}", out);
    let (rc, _, err) = explorer_err(&["--affinity", "1"]);
    assert_eq!(rc, 2);
    assert!(err.contains("--affinity needs masks"), "{}", err);
}
