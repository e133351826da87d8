// SPDX-License-Identifier: GPL-2.0

//! Exhaustive explorer of the interleavings of mm_cid mode transitions,
//! driving the same model the kernel module checks the C code against.

pub mod codec;
pub mod scenario;
pub mod search;
pub mod symmetry;
pub mod trace;
pub mod weak;
pub mod world;
