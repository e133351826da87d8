// SPDX-License-Identifier: GPL-2.0

//! The module's checks, built by cargo for their tests.  The kernel module
//! includes `ffi.rs` and `check.rs` through `#[path]` instead.

#![no_std]

pub use mmcid_model as model;

#[path = "ffi.rs"]
pub mod ffi;

#[path = "atomic_shim.rs"]
pub mod sync;

#[path = "cell.rs"]
pub mod cell;

#[path = "check.rs"]
pub mod check;

#[path = "mm_table.rs"]
pub mod mm_table;

#[path = "once.rs"]
pub mod once;

#[path = "counters.rs"]
pub mod counters;

#[path = "op.rs"]
pub mod op;

#[path = "room.rs"]
pub mod room;

// Its counters are a static, which loom's atomics cannot build in const.
#[cfg(not(loom))]
#[path = "reach.rs"]
pub mod reach;

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

#[cfg(test)]
#[path = "report_tests.rs"]
mod report_tests;
