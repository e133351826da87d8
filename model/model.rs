// SPDX-License-Identifier: GPL-2.0

//! Module list of the mm_cid model.  Both the cargo crate (`lib.rs`) and the
//! kernel module (`mmcid_rs.rs`) include this file, so it must stay free of
//! crate-level attributes.

pub mod bits;
pub mod core_c;
pub mod invariants;
pub mod livelock;
pub mod paths;
pub mod sched;
pub mod setup;
pub mod state;
pub mod variant;

#[cfg(test)]
mod paths_tests;
#[cfg(test)]
mod tests;

pub use self::bits::*;
pub use self::core_c::*;
pub use self::livelock::LiveLockShape;
pub use self::sched::*;
pub use self::setup::MmRead;
pub use self::state::*;
pub use self::variant::Variant;
