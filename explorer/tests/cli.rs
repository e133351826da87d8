// SPDX-License-Identifier: GPL-2.0

//! The command line: exit status and what it prints.

use std::process::Command;

fn explorer(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_explorer"))
        .args(args)
        .output()
        .expect("explorer runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn clean_configuration_exits_zero() {
    let (rc, out) = explorer(&["--variant", "v7.3", "--cpus", "2"]);
    assert_eq!(rc, 0, "{}", out);
    assert!(
        out.starts_with("v7.3: no violation (3643 states"),
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
    ] {
        let (rc, _) = explorer(args);
        assert_eq!(rc, 2, "{:?}", args);
    }
}
