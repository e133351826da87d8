// SPDX-License-Identifier: GPL-2.0

//! A model per CPU: the checks run it with preemption or interrupts off,
//! too large for a probe's stack and, on every context switch, too costly
//! to build from nothing each time.

use super::model::{Sched, MAX_CPUS};
use core::cell::UnsafeCell;

/// One [`Sched`] per CPU.
pub struct PerCpuSched<const C: usize, const T: usize>([UnsafeCell<Sched<C, T>>; MAX_CPUS]);

// SAFETY: a slot is only reached through `get()`, whose callers guarantee
// that one thread at a time uses each slot.
unsafe impl<const C: usize, const T: usize> Sync for PerCpuSched<C, T> {}

impl<const C: usize, const T: usize> PerCpuSched<C, T> {
    /// Empty slots, for a static.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        Self([const { UnsafeCell::new(Sched::<C, T>::EMPTY) }; MAX_CPUS])
    }

    /// The slot of `cpu`; `None` past [`MAX_CPUS`], which no check
    /// supports.
    ///
    /// # Safety
    ///
    /// The caller runs on `cpu` with preemption disabled until it drops
    /// the reference, and nothing else on that CPU calls this meanwhile.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn get(&self, cpu: usize) -> Option<&mut Sched<C, T>> {
        let slot = self.0.get(cpu)?;
        // SAFETY: the caller is the only user of this CPU's slot until it
        // drops the reference (function contract).
        Some(unsafe { &mut *slot.get() })
    }
}
