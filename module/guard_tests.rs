// SPDX-License-Identifier: GPL-2.0

//! Tests of the version guard's load-time decision (`guard.rs`).

use super::guard::{check, matching, Differs, Mismatch, Status};
extern crate std;
use std::format;

const BASE: &str = "v7.3";

/// What the build leaves for a 7.3 tree as shipped.
const V7_3_TREE: Differs = &[
    ("v7.3", &[]),
    (
        "pre-fix",
        &["mm_update_max_cids()", "mm_cid_transit_to_cpu()"],
    ),
];

/// ... for the pre-fix kernel flavour.
const PRE_FIX_TREE: Differs = &[
    ("v7.3", &["mm_update_max_cids()", "mm_cid_transit_to_cpu()"]),
    ("pre-fix", &[]),
];

/// ... for 7.3 with mm_cid_schedout() changed.
const CHANGED_TREE: Differs = &[
    ("v7.3", &["mm_cid_schedout()"]),
    (
        "pre-fix",
        &[
            "mm_update_max_cids()",
            "mm_cid_transit_to_cpu()",
            "mm_cid_schedout()",
        ],
    ),
];

#[test]
fn every_variant_loads_on_the_tree_it_is_derived_from() {
    for v in crate::model::Variant::ALL.map(|v| v.name()) {
        assert_eq!(check(V7_3_TREE, BASE, v), Ok("v7.3"), "{v}");
    }
}

#[test]
fn pre_fix_loads_on_the_pre_fix_tree_and_v7_3_does_not() {
    assert_eq!(check(PRE_FIX_TREE, BASE, "pre-fix"), Ok("pre-fix"));
    let m = check(PRE_FIX_TREE, BASE, "v7.3").unwrap_err();
    assert_eq!(
        format!("{m}"),
        "model mirrors 7.3, kernel differs in mm_update_max_cids(), mm_cid_transit_to_cpu()"
    );
    assert_eq!(matching(PRE_FIX_TREE), Some("pre-fix"));
    // A variant without a set of its own is checked against the base only.
    assert!(check(PRE_FIX_TREE, BASE, "no-transit").is_err());
}

#[test]
fn a_changed_function_is_named_against_the_closest_set() {
    let m = check(CHANGED_TREE, BASE, "v7.3").unwrap_err();
    assert_eq!(
        m,
        Mismatch {
            base: BASE,
            set: "v7.3",
            items: &["mm_cid_schedout()"]
        }
    );
    assert_eq!(
        format!("{}", Status(Err(m))),
        "forced: model mirrors 7.3, kernel differs in mm_cid_schedout()"
    );
    assert_eq!(check(CHANGED_TREE, BASE, "pre-fix"), Err(m));
    assert_eq!(matching(CHANGED_TREE), None);

    const PRE_FIX_CHANGED: Differs = &[("v7.3", &["a()", "b()", "c()"]), ("pre-fix", &["c()"])];
    assert_eq!(
        format!("{}", check(PRE_FIX_CHANGED, BASE, "pre-fix").unwrap_err()),
        "model mirrors 7.3 (pre-fix), kernel differs in c()"
    );
}

#[test]
fn a_long_list_is_cut_short() {
    const MANY: Differs = &[(
        "v7.3",
        &[
            "a()", "b()", "c()", "d()", "e()", "f()", "g()", "h()", "i()", "j()", "k()", "l()",
            "m()", "n()",
        ],
    )];
    let s = format!("{}", check(MANY, BASE, "v7.3").unwrap_err());
    assert!(s.ends_with("k(), l() and 2 more"), "{s}");
    assert_eq!(
        format!("{}", Status(Ok("v7.3"))),
        "mm_cid code matches the model (v7.3)"
    );
}
