// SPDX-License-Identifier: GPL-2.0

//! The distinct mms the checks saw since reset, for `status` and
//! `report`: an open-addressed table of mm addresses, lock free and
//! bounded, written from the context switch path.

use super::sync::{Atomic, Relaxed};

/// How far an insertion probes before it gives up.
const PROBES: usize = 8;

/// `N` places for mm addresses; 0 is a free place.
pub struct MmTable<const N: usize> {
    slots: [Atomic<u64>; N],
    /// mms inserted.
    seen: Atomic<i64>,
    /// Notes of an mm that found no place within [`PROBES`].
    lost: Atomic<i64>,
}

impl<const N: usize> MmTable<N> {
    /// An empty table.
    #[cfg(not(loom))]
    pub const fn new() -> Self {
        Self {
            slots: [const { Atomic::<u64>::new(0) }; N],
            seen: Atomic::<i64>::new(0),
            lost: Atomic::<i64>::new(0),
        }
    }

    /// An empty table.
    #[cfg(loom)]
    pub fn new() -> Self {
        Self {
            slots: core::array::from_fn(|_| Atomic::<u64>::new(0)),
            seen: Atomic::<i64>::new(0),
            lost: Atomic::<i64>::new(0),
        }
    }

    /// Remember `mm` once.  False when it found no place (counted in
    /// [`MmTable::lost`]).  A freed mm whose address is reused counts once.
    pub fn note(&self, mm: u64) -> bool {
        if mm == 0 {
            return true;
        }
        // Fibonacci hashing of the address, cache-line bits dropped.
        let h = (mm >> 6).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 58;
        let h = usize::try_from(h).unwrap_or(0);
        for k in 0..PROBES.min(N) {
            let slot = &self.slots[(h + k) % N];
            // Seen before, the common case: no atomic write on the switch path.
            if slot.load(Relaxed) == mm {
                return true;
            }
            match slot.cmpxchg(0, mm, Relaxed) {
                Ok(_) => {
                    self.seen.add(1, Relaxed);
                    return true;
                }
                Err(old) if old == mm => return true,
                Err(_) => {}
            }
        }
        self.lost.add(1, Relaxed);
        false
    }

    /// mms inserted since reset.
    pub fn seen(&self) -> i64 {
        self.seen.load(Relaxed)
    }

    /// Notes that found no place since reset.
    pub fn lost(&self) -> i64 {
        self.lost.load(Relaxed)
    }

    /// Forget every mm.  Notes that run meanwhile may land on either side.
    pub fn reset(&self) {
        for m in &self.slots {
            m.store(0, Relaxed);
        }
        self.seen.store(0, Relaxed);
        self.lost.store(0, Relaxed);
    }

    /// The addresses held, for the tests.
    #[cfg(test)]
    pub fn held(&self) -> impl Iterator<Item = u64> + '_ {
        self.slots
            .iter()
            .map(|s| s.load(Relaxed))
            .filter(|&m| m != 0)
    }
}

impl<const N: usize> Default for MmTable<N> {
    fn default() -> Self {
        Self::new()
    }
}
