// SPDX-License-Identifier: GPL-2.0

//! The mm_cid ownership state machine of Linux 7.3 (kernel/sched/core.c and
//! kernel/sched/sched.h), re-implemented for checking: cargo builds this
//! crate for the tests and the explorer, the kernel module includes
//! `model.rs` through `#[path]`.  Same source, no copy.

#![no_std]

#[path = "model.rs"]
mod model;

pub use model::*;
