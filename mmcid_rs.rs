// SPDX-License-Identifier: GPL-2.0

//! mmcid_rs: runs a Rust model of the mm_cid ownership code beside the C
//! code of kernel/sched and reports in debugfs (`/sys/kernel/debug/mmcid_rs/`).
//!
//! The model is `model/`, the same source cargo builds for the explorer.
//! The C glue in `glue/` attaches to the scheduler tracepoints.

use core::fmt;
use kernel::{
    debugfs::{Dir, File},
    prelude::*,
    sync::atomic::{Atomic, Relaxed},
};

#[path = "model/model.rs"]
pub mod model;

module! {
    type: MmcidRs,
    name: "mmcid_rs",
    authors: ["mmcid-rs developers"],
    description: "Cross-check of the mm_cid ownership code against a Rust model",
    license: "GPL",
}

// Implemented by glue/hooks.c, declared in include/mmcid_rs.h.
extern "C" {
    fn mmcid_hooks_register() -> kernel::ffi::c_int;
    fn mmcid_hooks_unregister();
}

/// Context switches seen by the `sched_switch` probe since load.
static SWITCHES: Atomic<i64> = Atomic::new(0);

/// Called by the `sched_switch` probe with the runqueue lock held.
#[no_mangle]
pub extern "C" fn mmcid_rs_on_switch(_cpu: kernel::ffi::c_uint) {
    SWITCHES.add(1, Relaxed);
}

/// What `/sys/kernel/debug/mmcid_rs/status` shows.
struct Status {
    variant: model::Variant,
}

impl Status {
    fn show(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "model variant: {}", self.variant.name())?;
        writeln!(f, "model cpus max: {}", model::MAX_CPUS)?;
        writeln!(f, "sched_switch events: {}", SWITCHES.load(Relaxed))
    }
}

struct MmcidRs {
    // Files before their directory: fields drop in declaration order.
    _status: Pin<KBox<File<Status>>>,
    _dir: Dir,
}

impl kernel::Module for MmcidRs {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let dir = Dir::new(c"mmcid_rs");
        let status = Status {
            variant: model::Variant::V7_3,
        };
        let status = KBox::pin_init(
            dir.read_callback_file(c"status", status, &Status::show),
            GFP_KERNEL,
        )?;
        // SAFETY: mmcid_hooks_register() has no preconditions; it is paired
        // with mmcid_hooks_unregister() in drop() below.
        let ret = unsafe { mmcid_hooks_register() };
        if ret != 0 {
            return Err(Error::from_errno(ret));
        }
        pr_info!(
            "loaded: checking mm_cid against model {} on {} possible CPUs\n",
            model::Variant::V7_3.name(),
            kernel::cpu::nr_cpu_ids()
        );
        Ok(Self {
            _status: status,
            _dir: dir,
        })
    }
}

impl Drop for MmcidRs {
    fn drop(&mut self) {
        // SAFETY: the hooks were registered in init(), which succeeded.
        unsafe { mmcid_hooks_unregister() };
        pr_info!(
            "unloaded after {} context switches\n",
            SWITCHES.load(Relaxed)
        );
    }
}
