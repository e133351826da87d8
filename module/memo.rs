// SPDX-License-Identifier: GPL-2.0

//! What the last few switch checks of a CPU decided, by their snapshots.
//!
//! [`check_switch`] is a function of the variant and the two snapshots: it
//! loads the model from the first snapshot before every run, so the room
//! it runs in carries nothing from one check to the next (check_tests.rs
//! checks every verdict in a fresh room and in a used one).  A switch whose
//! two snapshots equal, field by field, those of a switch checked before
//! therefore gets the verdict that check got, and the model need not run
//! again.  That is the common case of a context switch: two threads
//! taking turns on a CPU repeat the same pair of switches with the same
//! CIDs, mode, max_cids, users, bitmap and slot.  Any difference in what
//! the C left (a CID, a bit of the bitmap, the slot) or found is another
//! key and runs the model.
//!
//! [`check_switch`]: super::check::check_switch

use super::check::{check_switch, SwitchSched, SwitchVerdict};
use super::ffi::SwitchSnap;
use super::model::Variant;
use super::room::Empty;

/// Checks remembered per CPU: two threads taking turns need two, a
/// process's threads taking turns with another's a few more.
pub const WAYS: usize = 4;

/// One remembered check; none until `used`.
#[derive(Clone, Copy)]
struct Entry {
    used: bool,
    variant: Variant,
    pre: SwitchSnap,
    post: SwitchSnap,
    verdict: SwitchVerdict,
}

impl Entry {
    const NONE: Self = Self {
        used: false,
        variant: Variant::V7_3,
        pre: SNAP_ZERO,
        post: SNAP_ZERO,
        verdict: SwitchVerdict::Unsupported,
    };
}

/// A snapshot's words: 112 bytes of integers (include/mmcid_rs.h), whose
/// fields add up to its size, so it has no padding to read.
const WORDS: usize = 14;
const _: () = assert!(
    core::mem::size_of::<SwitchSnap>() == 8 * WORDS && core::mem::align_of::<SwitchSnap>() == 8
);

#[inline(always)]
fn words(s: &SwitchSnap) -> &[u64; WORDS] {
    // SAFETY: a snapshot is 14 aligned words of integers with no padding
    // (asserted above; include/mmcid_rs_layout.h asserts each field's
    // offset), so every byte is initialized and any u64 value is valid.
    unsafe { &*core::ptr::from_ref(s).cast::<[u64; WORDS]>() }
}

/// `a == b`, without a call per field: the derived comparison is a
/// function of its own, and under TCG each call and return is a lookup.
/// prev's and next's task first, which tell most switches of a CPU apart.
#[inline(always)]
fn equal(a: &SwitchSnap, b: &SwitchSnap) -> bool {
    if a.prev.task != b.prev.task || a.next.task != b.next.task {
        return false;
    }
    let (a, b) = (words(a), words(b));
    a.iter().zip(b).fold(0, |d, (x, y)| d | (x ^ y)) == 0
}

/// A snapshot of zeros, for an unused entry.
const SNAP_ZERO: SwitchSnap = {
    // SAFETY: a snapshot is integers only (include/mmcid_rs.h), for which
    // all zeros is a value.
    unsafe { core::mem::zeroed() }
};

/// A CPU's model and its last [`WAYS`] checks.
pub struct SwitchRoom {
    s: SwitchSched,
    entries: [Entry; WAYS],
    /// The entry the next new check replaces.
    next: usize,
}

impl Empty for SwitchRoom {
    const EMPTY: Self = Self {
        s: SwitchSched::EMPTY,
        entries: [Entry::NONE; WAYS],
        next: 0,
    };
}

impl SwitchRoom {
    /// [`check_switch`] of `pre` into `post` against `variant`, from the
    /// check of the same snapshots if one of the last [`WAYS`] was, with
    /// whether it was.
    pub fn check(
        &mut self,
        variant: Variant,
        pre: &SwitchSnap,
        post: &SwitchSnap,
    ) -> (SwitchVerdict, bool) {
        let same = |e: &&Entry| {
            e.used && e.variant == variant && equal(&e.pre, pre) && equal(&e.post, post)
        };
        if let Some(e) = self.entries.iter().find(same) {
            return (e.verdict, true);
        }
        let verdict = check_switch(variant, pre, post, &mut self.s);
        // Field by field, in place: a whole entry built and moved is a
        // memcpy() of 256 bytes, a byte at a time under TCG (design.md).
        let e = &mut self.entries[self.next];
        e.used = true;
        e.variant = variant;
        e.pre = *pre;
        e.post = *post;
        e.verdict = verdict;
        self.next = if self.next + 1 == WAYS {
            0
        } else {
            self.next + 1
        };
        (verdict, false)
    }
}
