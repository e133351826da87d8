// SPDX-License-Identifier: GPL-2.0

//! The module's checks, built by cargo for their tests.  The kernel module
//! includes `ffi.rs` and `check.rs` through `#[path]` instead.

#![no_std]

pub use mmcid_model as model;

#[path = "ffi.rs"]
pub mod ffi;

#[path = "check.rs"]
pub mod check;

#[path = "counters.rs"]
pub mod counters;

#[path = "op.rs"]
pub mod op;

#[path = "stall.rs"]
pub mod stall;

#[path = "guard.rs"]
pub mod guard;

#[cfg(test)]
mod tests;

#[cfg(test)]
#[path = "op_tests.rs"]
mod op_tests;

#[cfg(test)]
#[path = "guard_tests.rs"]
mod guard_tests;

#[cfg(test)]
#[path = "counters_tests.rs"]
mod counters_tests;
