// SPDX-License-Identifier: GPL-2.0

//! The version guard's decision at load time (docs/version-guard.md).  The
//! build compared the mm_cid code of the tree it built against with each
//! fingerprint set of `model/fingerprints/` and left, per set, the mirrored
//! items whose C differs; this decides whether that code is what a variant
//! mirrors, and words the answer.

use core::fmt;

/// Per fingerprint set (`v7.3`, `pre-fix`), the mirrored items whose C
/// differs in the tree the module was built against.
pub type Differs = &'static [(&'static str, &'static [&'static str])];

/// How many differing items a message names before it counts the rest;
/// a printk line holds about 1000 characters.
const NAMED: usize = 12;

/// The tree's mm_cid code is not what the chosen variant mirrors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// The base set, the version the model mirrors (`v7.3`).
    pub base: &'static str,
    /// The set compared with: the base or the variant's own.
    pub set: &'static str,
    /// The items of `set` whose C differs.
    pub items: &'static [&'static str],
}

impl fmt::Display for Mismatch {
    /// `model mirrors 7.3, kernel differs in mm_cid_schedout()`, with
    /// ` (pre-fix)` after the version when the set is a variant's own.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "model mirrors {}", self.base.trim_start_matches('v'))?;
        if self.set != self.base {
            write!(f, " ({})", self.set)?;
        }
        f.write_str(", kernel differs in ")?;
        if self.items.is_empty() {
            return f.write_str("code that was not fingerprinted");
        }
        for (i, item) in self.items.iter().take(NAMED).enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(item)?;
        }
        if self.items.len() > NAMED {
            write!(f, " and {} more", self.items.len() - NAMED)?;
        }
        Ok(())
    }
}

/// Is the tree's mm_cid code what `variant` mirrors?
///
/// Every variant is the `base` code (7.3) with at most one historical fix
/// reverted.  A variant accepts the base code, against which it is checked
/// to show that the checker notices the fix, and the code of its own set
/// when it has one (`pre-fix`: `patches/pre-fix/` applied).  `Ok` names the
/// set that matched; `Err` the one of those two with the fewest
/// differences, the base on a tie.
pub fn check(
    differs: Differs,
    base: &'static str,
    variant: &str,
) -> Result<&'static str, Mismatch> {
    let mut closest: Option<Mismatch> = None;
    for &(set, items) in differs {
        if set != base && set != variant {
            continue;
        }
        if items.is_empty() {
            return Ok(set);
        }
        match closest {
            Some(c) if c.items.len() <= items.len() => {}
            _ => closest = Some(Mismatch { base, set, items }),
        }
    }
    Err(closest.unwrap_or(Mismatch {
        base,
        set: base,
        items: &[],
    }))
}

/// A set whose code the tree matches, whatever the variant: what to
/// suggest instead of `force=1`.
pub fn matching(differs: Differs) -> Option<&'static str> {
    differs
        .iter()
        .find(|(_, items)| items.is_empty())
        .map(|&(set, _)| set)
}

/// The guard's line of the status table and the report: `mm_cid code
/// matches the model (v7.3)` or `forced: model mirrors 7.3, kernel differs in ...`
/// (a loaded module that did not match was forced).
#[derive(Clone, Copy, Debug)]
pub struct Status(pub Result<&'static str, Mismatch>);

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Ok(set) => write!(f, "mm_cid code matches the model ({})", set),
            Err(m) => write!(f, "forced: {}", m),
        }
    }
}
