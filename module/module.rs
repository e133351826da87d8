// SPDX-License-Identifier: GPL-2.0

//! Module list of the module's checks and report state.  Both the cargo
//! crate (`lib.rs`, for the tests) and the kernel module (`mmcid_rs.rs`)
//! include this file and re-export it, so it must stay free of
//! crate-level attributes.  Each root adds what only it has: the kernel
//! module its atomics (`sync`), the debugfs report and the entry points;
//! the cargo crate the atomics of `atomic_shim.rs`.

pub(crate) use super::model;
pub(crate) use super::sync;

pub mod cell;
pub mod check;
pub mod counters;
pub mod ffi;
pub mod guard;
pub mod memo;
pub mod mm_table;
pub mod once;
pub mod op;
// Its counters are a static, which loom's atomics cannot build in const.
#[cfg(not(loom))]
pub mod reach;
pub mod report_text;
pub mod room;
pub mod stall;

#[cfg(test)]
mod check_tests;
#[cfg(test)]
mod counters_tests;
#[cfg(test)]
mod guard_tests;
#[cfg(test)]
mod memo_tests;
#[cfg(test)]
mod op_tests;
#[cfg(test)]
mod report_tests;
#[cfg(test)]
mod report_text_tests;
