// SPDX-License-Identifier: GPL-2.0

//! The subset of `kernel::sync::atomic` the report's lock-free code
//! uses, for cargo builds: over `core` atomics normally,
//! over loom's under `--cfg loom`, so that loom checks every interleaving
//! of that code (module/report_tests.rs).  The kernel build uses the
//! kernel's types instead (mmcid_rs.rs, `mod sync`).

#[cfg(not(loom))]
use core::sync::atomic as imp;
#[cfg(loom)]
use loom::sync::atomic as imp;

pub use imp::Ordering;
#[allow(non_upper_case_globals)]
/// `kernel::sync::atomic::Relaxed`.
pub const Relaxed: Ordering = Ordering::Relaxed;
#[allow(non_upper_case_globals)]
/// `kernel::sync::atomic::Acquire`.
pub const Acquire: Ordering = Ordering::Acquire;
#[allow(non_upper_case_globals)]
/// `kernel::sync::atomic::Release`.
pub const Release: Ordering = Ordering::Release;

/// The atomic type of an integer.
pub trait Repr {
    /// `core`'s (or loom's) atomic of that integer.
    type A;
}

/// `kernel::sync::atomic::Atomic<T>`.
pub struct Atomic<T: Repr>(T::A);

macro_rules! atomic {
    ($t:ty, $a:ident) => {
        impl Repr for $t {
            type A = imp::$a;
        }

        impl Atomic<$t> {
            /// An atomic holding `v`.
            #[cfg(not(loom))]
            pub const fn new(v: $t) -> Self {
                Self(imp::$a::new(v))
            }

            /// An atomic holding `v`.
            #[cfg(loom)]
            pub fn new(v: $t) -> Self {
                Self(imp::$a::new(v))
            }

            /// Its value.
            pub fn load(&self, o: Ordering) -> $t {
                self.0.load(o)
            }

            /// Set it to `v`.
            pub fn store(&self, v: $t, o: Ordering) {
                self.0.store(v, o)
            }

            /// Add `v` (wrapping).
            pub fn add(&self, v: $t, o: Ordering) {
                self.0.fetch_add(v, o);
            }

            /// Add `v` (wrapping); the value before.
            pub fn fetch_add(&self, v: $t, o: Ordering) -> $t {
                self.0.fetch_add(v, o)
            }

            /// Set it to `new` if it is `old`; `Err` with the value found
            /// otherwise.  A failed exchange is relaxed, as in the kernel.
            pub fn cmpxchg(&self, old: $t, new: $t, o: Ordering) -> Result<$t, $t> {
                self.0.compare_exchange(old, new, o, Ordering::Relaxed)
            }
        }
    };
}

atomic!(i32, AtomicI32);
atomic!(i64, AtomicI64);
atomic!(u64, AtomicU64);
