// SPDX-License-Identifier: GPL-2.0

//! Every `report` key the kselftest and the scripts read is one the module
//! prints (`counters.rs`).

extern crate std;

use super::counters::*;
use std::string::String;
use std::vec::Vec;

/// The report keys `text` reads: `read_report("k")` and the bounds table
/// `{ "k", "of", "of2", n }` of the kselftest, `report_get k` of the
/// scripts.
fn keys_read(text: &str) -> Vec<String> {
    let mut keys = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        for (at, _) in line.match_indices("read_report(\"") {
            let rest = &line[at + "read_report(\"".len()..];
            keys.extend(rest.split('"').next().map(String::from));
        }
        for (at, _) in line.match_indices("report_get ") {
            let rest = &line[at + "report_get ".len()..];
            let k: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            if !k.is_empty() {
                keys.push(k);
            }
        }
        if line.starts_with("{ \"") && line.ends_with("},") {
            keys.extend(line.split('"').skip(1).step_by(2).map(String::from));
        }
    }
    keys
}

fn unknown_keys(text: &str) -> Vec<String> {
    keys_read(text)
        .into_iter()
        .filter(|k| !is_report_key(k))
        .collect()
}

/// The kselftest and every script, as text.
fn readers() -> Vec<(std::path::PathBuf, String)> {
    // At run time: a test binary cargo reuses may have been built from
    // another checkout of the tree (the target directory is shared).
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo test");
    let top = std::path::Path::new(&dir).join("..");
    let mut files = std::vec![top.join("selftests/mmcid_rs/mmcid_rs_test.c")];
    for e in std::fs::read_dir(top.join("scripts")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "sh") {
            files.push(p);
        }
    }
    // A script another test writes and removes may be gone by now.
    files
        .into_iter()
        .filter_map(|p| match std::fs::read_to_string(&p) {
            Ok(t) => Some((p, t)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => panic!("{}: {e}", p.display()),
        })
        .collect()
}

#[test]
fn every_key_read_is_printed() {
    let mut read = 0;
    for (path, text) in readers() {
        assert_eq!(
            unknown_keys(&text),
            Vec::<String>::new(),
            "{}",
            path.display()
        );
        read += keys_read(&text).len();
    }
    // The kselftest's bounds table and verdict, guest-lib.sh's verdict.
    assert!(read > 30, "only {read} keys found: the patterns miss them");
}

#[test]
fn a_key_nobody_prints_is_found() {
    let c = "\tmism = read_report(\"mismatch\");\n\t{ \"raced_max_cids\", \"checked_switch\", NULL, 10 },\n";
    let sh = "x=$(report_get agreed) y=$(report_get fork_exits)\n";
    assert_eq!(unknown_keys(c), ["mismatch", "checked_switch"]);
    assert_eq!(unknown_keys(sh), ["fork_exits"]);
}

#[test]
fn keys_are_unique() {
    let mut keys: Vec<&str> = Summary::ALL.iter().map(|s| s.key()).collect();
    keys.extend(Counter::ALL.iter().map(|c| c.key()));
    let n = keys.len();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), n);
    assert_eq!(NR_COUNTERS, Counter::RacedAffinityCall as usize + 1);
}
