// SPDX-License-Identifier: GPL-2.0

//! An `UnsafeCell` whose accesses loom can see when the report's lock-free
//! code is checked under `--cfg loom` (module/report_tests.rs); a plain
//! `UnsafeCell` otherwise, in the kernel too.

/// An `UnsafeCell` whose accesses loom can see.
#[derive(Debug)]
pub struct Cell<T>(
    #[cfg(loom)] loom::cell::UnsafeCell<T>,
    #[cfg(not(loom))] core::cell::UnsafeCell<T>,
);

impl<T> Cell<T> {
    /// A cell holding `v`.
    #[cfg(not(loom))]
    pub const fn new(v: T) -> Self {
        Self(core::cell::UnsafeCell::new(v))
    }

    /// A cell holding `v`.
    #[cfg(loom)]
    pub fn new(v: T) -> Self {
        Self(loom::cell::UnsafeCell::new(v))
    }

    /// Run `f` on a shared pointer to the contents.
    pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        #[cfg(loom)]
        return self.0.with(f);
        #[cfg(not(loom))]
        return f(self.0.get());
    }

    /// Run `f` on a unique pointer to the contents.
    pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        #[cfg(loom)]
        return self.0.with_mut(f);
        #[cfg(not(loom))]
        return f(self.0.get());
    }
}
