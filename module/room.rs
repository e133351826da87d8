// SPDX-License-Identifier: GPL-2.0

//! A slot per CPU for what the checks keep between calls: the model they
//! run with preemption or interrupts off, too large for a probe's stack
//! and, on every context switch, too costly to build from nothing each
//! time, and the switch checks' memo (memo.rs).

use super::model::{Sched, MAX_CPUS};
use core::cell::UnsafeCell;

/// What a slot holds: its value before the first check, for a static.
pub trait Empty {
    /// The empty value.
    const EMPTY: Self;
}

impl<const C: usize, const T: usize> Empty for Sched<C, T> {
    const EMPTY: Self = Sched::<C, T>::EMPTY;
}

/// One `X` per CPU.
pub struct PerCpu<X>([UnsafeCell<X>; MAX_CPUS]);

// SAFETY: a slot is only reached through `get()`, whose callers guarantee
// that one thread at a time uses each slot.
unsafe impl<X> Sync for PerCpu<X> {}

impl<X: Empty> PerCpu<X> {
    /// Empty slots, for a static.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        Self([const { UnsafeCell::new(X::EMPTY) }; MAX_CPUS])
    }
}

impl<X> PerCpu<X> {
    /// The slot of `cpu`; `None` past [`MAX_CPUS`], which no check
    /// supports.
    ///
    /// # Safety
    ///
    /// The caller runs on `cpu` with preemption disabled until it drops
    /// the reference, and nothing else on that CPU calls this meanwhile.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn get(&self, cpu: usize) -> Option<&mut X> {
        let slot = self.0.get(cpu)?;
        // SAFETY: the caller is the only user of this CPU's slot until it
        // drops the reference (function contract).
        Some(unsafe { &mut *slot.get() })
    }
}
