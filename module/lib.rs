// SPDX-License-Identifier: GPL-2.0

//! The module's checks, built by cargo for their tests.  The kernel module
//! includes the same module list (`module.rs`) through `#[path]`.

#![no_std]

pub use mmcid_model as model;

#[path = "atomic_shim.rs"]
pub mod sync;

#[path = "module.rs"]
mod module;

pub use module::*;
