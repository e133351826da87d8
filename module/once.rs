// SPDX-License-Identifier: GPL-2.0

//! A value written once, by the first of any number of writers, then only
//! read: the watchdog's first live lock report since load.

use super::cell::Cell;
use super::sync::{Acquire, Atomic, Release};

const EMPTY: i32 = 0;
const WRITING: i32 = 1;
const WRITTEN: i32 = 2;

/// A `T` written once.
///
/// # Invariants
///
/// `value` is written only by the caller that moved `state` from `EMPTY`
/// to `WRITING`, and only until it stores `WRITTEN`; it is read only once
/// `state` is `WRITTEN`, after which nobody writes it.
pub struct WriteOnce<T> {
    state: Atomic<i32>,
    value: Cell<T>,
}

// SAFETY: `value` has one writer, which publishes it with a release store
// of `WRITTEN`; readers read it after an acquire load sees `WRITTEN`, and
// it never changes again (type invariants).
unsafe impl<T: Send + Sync> Sync for WriteOnce<T> {}

impl<T> WriteOnce<T> {
    /// Not written yet; `v` is the storage the writer fills.
    #[cfg(not(loom))]
    pub const fn new(v: T) -> Self {
        Self {
            state: Atomic::<i32>::new(EMPTY),
            value: Cell::new(v),
        }
    }

    /// Not written yet; `v` is the storage the writer fills.
    #[cfg(loom)]
    pub fn new(v: T) -> Self {
        Self {
            state: Atomic::<i32>::new(EMPTY),
            value: Cell::new(v),
        }
    }

    /// Run `write` on the value if nobody did before; whether it ran.
    pub fn write_once(&self, write: impl FnOnce(&mut T)) -> bool {
        if self.state.cmpxchg(EMPTY, WRITING, Acquire).is_err() {
            return false;
        }
        // SAFETY: this caller moved `state` from `EMPTY`: it alone accesses
        // `value`, which nobody reads before `WRITTEN` (type invariants).
        self.value.with_mut(|v| write(unsafe { &mut *v }));
        // INVARIANT: the one write is over; from now on `value` is read only.
        self.state.store(WRITTEN, Release);
        true
    }

    /// Run `read` on the value once written; `None` before.
    pub fn read<R>(&self, read: impl FnOnce(&T) -> R) -> Option<R> {
        if self.state.load(Acquire) != WRITTEN {
            return None;
        }
        // SAFETY: `WRITTEN` was stored after the last write, and the
        // acquire load above sees it (type invariants).
        Some(self.value.with(|v| read(unsafe { &*v })))
    }
}
