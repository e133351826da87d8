// SPDX-License-Identifier: GPL-2.0

//! mmcid_rs: runs a Rust model of the mm_cid ownership code beside the C
//! code of kernel/sched and reports in debugfs (`/sys/kernel/debug/mmcid_rs/`)
//! how many transitions it checked and every disagreement.
//!
//! The model is `model/`, the same source cargo builds for the explorer.
//! The C glue in `glue/` attaches to the scheduler and takes the snapshots;
//! `module/` compares them with the model and keeps the report.

use core::fmt;
use kernel::{prelude::*, seq_file::SeqFile};

#[path = "model/model.rs"]
pub mod model;

/// The atomics of the report's lock-free code: the kernel's.  Cargo
/// builds the same code over `module/atomic_shim.rs`.
pub mod sync {
    pub use kernel::sync::atomic::{Acquire, Atomic, Relaxed, Release};
}

#[path = "module/module.rs"]
mod module;
pub use module::*;

#[path = "module/report.rs"]
pub mod report;

/// What the build found comparing the tree it built against with
/// `model/fingerprints/` (Kbuild runs scripts/fingerprint.py).
mod guard_generated {
    include!("guard_generated.rs");
}

module! {
    type: MmcidRs,
    name: "mmcid_rs",
    authors: ["mmcid-rs developers"],
    description: "Cross-check of the mm_cid ownership code against a Rust model",
    license: "GPL",
    params: {
        force: bool {
            default: false,
            description: "check even if the mm_cid code of the tree built against is not what the variant mirrors",
        },
        pid: i32 {
            default: 0,
            description: "check and watch only the process with this tgid (0: all)",
        },
        stall_ms: u32 {
            default: 50,
            description: "name a live lock when a CPU stays this long in a context switch (0: off, at most 10000)",
        },
    },
}

// Implemented by glue/: include/mmcid_rs.h, through bindgen.
use ffi::bindings::{
    mmcid_rs_debugfs_create, mmcid_rs_debugfs_remove, mmcid_rs_file, mmcid_rs_hooks_register,
    mmcid_rs_hooks_unregister, mmcid_rs_param_variant, mmcid_rs_watchdog_start,
    mmcid_rs_watchdog_starts, mmcid_rs_watchdog_stop, mmcid_rs_watchdog_stops,
};

// The functions below implement the header's Rust side: each must have the
// type bindgen gave its prototype.
const _: () = {
    let _ = [ffi::bindings::mmcid_rs_check_switch, mmcid_rs_check_switch];
    let _ = [
        ffi::bindings::mmcid_rs_check_fork,
        ffi::bindings::mmcid_rs_check_exit,
        ffi::bindings::mmcid_rs_check_affinity,
        ffi::bindings::mmcid_rs_check_work,
        mmcid_rs_check_fork,
        mmcid_rs_check_exit,
        mmcid_rs_check_affinity,
        mmcid_rs_check_work,
    ];
    let _ = [ffi::bindings::mmcid_rs_live_lock, mmcid_rs_live_lock];
    let _ = [ffi::bindings::mmcid_rs_show, mmcid_rs_show];
    let _ = [ffi::bindings::mmcid_rs_reset, mmcid_rs_reset];
};

/// The watchdog's timers, for the debugfs files.
fn watchdog() -> report::Watchdog {
    // SAFETY: both only read an atomic counter of glue/watchdog.c.
    let (starts, stops) = unsafe { (mmcid_rs_watchdog_starts(), mmcid_rs_watchdog_stops()) };
    report::Watchdog { starts, stops }
}

/// The variant checked against, set once in init() before the hooks run.
static VARIANT: kernel::sync::atomic::Atomic<i32> = kernel::sync::atomic::Atomic::new(0);

fn variant() -> model::Variant {
    let i = VARIANT.load(kernel::sync::atomic::Relaxed);
    model::Variant::ALL[usize::try_from(i).unwrap_or(0)]
}

/// Is the mm_cid code of the tree built against what `v` mirrors?
fn guard(v: model::Variant) -> guard::Status {
    guard::Status(guard::check(
        guard_generated::DIFFERS,
        guard_generated::BASE,
        v.name(),
    ))
}

/// Called by glue/switch.c at the entry of finish_task_switch(), runqueue
/// lock held, interrupts off.
///
/// # Safety
///
/// `pre` and `post` point to valid snapshots for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn mmcid_rs_check_switch(
    pre: *const ffi::SwitchSnap,
    post: *const ffi::SwitchSnap,
) {
    // SAFETY: the caller passes two valid snapshots (function contract).
    let (pre, post) = unsafe { (&*pre, &*post) };
    // SAFETY: glue/switch.c calls this from finish_task_switch() on
    // `pre.cpu` (both snapshots read smp_processor_id() there) with
    // interrupts off, so no other switch check runs on that CPU until it
    // returns.
    let (v, repeated) = match unsafe { SWITCH_ROOM.get(pre.cpu as usize) } {
        Some(room) => room.check(variant(), pre, post),
        None => (check::SwitchVerdict::Unsupported, false),
    };
    report::record_switch(v, repeated, pre, post);
}

/// Room for the model of the switch checks and their last verdicts, one
/// per CPU.
static SWITCH_ROOM: room::PerCpu<memo::SwitchRoom> = room::PerCpu::new();

/// Called by glue/op.c when `sched_mm_cid_fork()` returns.
///
/// # Safety
///
/// `pre` and `post` point to valid snapshots for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn mmcid_rs_check_fork(pre: *const ffi::OpSnap, post: *const ffi::OpSnap) {
    // SAFETY: the caller passes two valid snapshots (function contract).
    let (pre, post) = unsafe { (&*pre, &*post) };
    op_returned(op::Op::Fork, pre, post);
}

/// Room for the model of the fork and exit checks, one per CPU.
static OP_ROOM: op::PerCpuOpSched = op::PerCpuOpSched::new();

/// Check a call that returned on `post.cpu`, preemption disabled.
fn op_returned(o: op::Op, pre: &ffi::OpSnap, post: &ffi::OpSnap) {
    // SAFETY: glue/op.c calls the op checks from its kretprobe return
    // handlers, which run with preemption disabled on `post.cpu` (its
    // snapshot reads raw_smp_processor_id() there) and do not nest in
    // each other: a kprobe that hits while a kprobe handler runs on the
    // same CPU (an affinity change from a wakeup in an interrupt, through
    // select_fallback_rq()) is counted as missed, not run.
    let c = match unsafe { OP_ROOM.get(post.cpu as usize) } {
        Some(s) => op::check_op(variant(), o, pre, post, s),
        None => op::unsupported(pre, post),
    };
    report::record_op(o, c, pre, post);
}

/// Called by glue/op.c when `sched_mm_cid_exit()` returns.
///
/// # Safety
///
/// `pre` and `post` point to valid snapshots for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn mmcid_rs_check_exit(pre: *const ffi::OpSnap, post: *const ffi::OpSnap) {
    // SAFETY: the caller passes two valid snapshots (function contract).
    let (pre, post) = unsafe { (&*pre, &*post) };
    op_returned(op::Op::Exit, pre, post);
}

/// Called by glue/op.c when `set_cpus_allowed_common()` returns, under
/// the caller's runqueue lock.
///
/// # Safety
///
/// `pre` and `post` point to valid snapshots for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn mmcid_rs_check_affinity(
    pre: *const ffi::OpSnap,
    post: *const ffi::OpSnap,
) {
    // SAFETY: the caller passes two valid snapshots (function contract).
    let (pre, post) = unsafe { (&*pre, &*post) };
    op_returned(op::Op::Affinity, pre, post);
}

/// Called by glue/op.c when `mm_cid_work_fn()` returns.
///
/// # Safety
///
/// `pre` and `post` point to valid snapshots for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn mmcid_rs_check_work(pre: *const ffi::OpSnap, post: *const ffi::OpSnap) {
    // SAFETY: the caller passes two valid snapshots (function contract).
    let (pre, post) = unsafe { (&*pre, &*post) };
    op_returned(op::Op::Work, pre, post);
}

/// Called by glue/watchdog.c, once per load, from a timer (softirq) on a
/// CPU that holds no runqueue lock, when a CPU has stayed in a context
/// switch for longer than `stall_ms`.
///
/// # Safety
///
/// `s` points to a valid snapshot for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn mmcid_rs_live_lock(s: *const ffi::StallSnap) {
    // SAFETY: the caller passes a valid snapshot (function contract).
    report::record_live_lock(unsafe { &*s });
}

/// The text of one read-only debugfs file.
#[derive(Clone, Copy)]
enum Show {
    Status,
    Report,
    LiveLock,
    Verdict,
}

impl Show {
    fn of(file: mmcid_rs_file) -> Option<Self> {
        use ffi::bindings::{
            mmcid_rs_file_MMCID_RS_FILE_LIVE_LOCK as LIVE_LOCK,
            mmcid_rs_file_MMCID_RS_FILE_REPORT as REPORT,
            mmcid_rs_file_MMCID_RS_FILE_STATUS as STATUS,
            mmcid_rs_file_MMCID_RS_FILE_VERDICT as VERDICT,
        };
        match file {
            STATUS => Some(Show::Status),
            REPORT => Some(Show::Report),
            LIVE_LOCK => Some(Show::LiveLock),
            VERDICT => Some(Show::Verdict),
            _ => None,
        }
    }
}

impl fmt::Display for Show {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Show::Status => {
                let pid = module_parameters::pid.value();
                report::show_status(f, variant().name(), guard(variant()), pid, watchdog())
            }
            Show::Report => report::show_report(f, guard(variant()), watchdog()),
            Show::LiveLock => report::show_live_lock(f),
            Show::Verdict => report::show_verdict(f, variant().name(), guard(variant())),
        }
    }
}

/// Called by glue/debugfs.c to fill a read of `file`.
///
/// # Safety
///
/// `m` is the `seq_file` of a show callback, valid and used by no other
/// thread for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn mmcid_rs_show(
    m: *mut ffi::bindings::seq_file,
    file: mmcid_rs_file,
) -> kernel::ffi::c_int {
    // SAFETY: the caller's contract is from_raw()'s; bindgen's opaque
    // `seq_file` of the header is the kernel's.
    let m = unsafe { SeqFile::from_raw(m.cast()) };
    match Show::of(file) {
        Some(show) => {
            m.call_printf(format_args!("{show}"));
            0
        }
        None => EINVAL.to_errno(),
    }
}

/// Called by glue/debugfs.c for a write to `reset`: `echo 1 > reset`
/// zeroes the counters; anything else is EINVAL.
///
/// # Safety
///
/// `buf` is valid for `len` bytes for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn mmcid_rs_reset(
    buf: *const core::ffi::c_char,
    len: kernel::ffi::c_uint,
) -> kernel::ffi::c_int {
    // SAFETY: the caller passes `len` valid bytes (function contract).
    let cmd = unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), len as usize) };
    match cmd {
        b"1" | b"1\n" => {
            report::reset();
            0
        }
        _ => EINVAL.to_errno(),
    }
}

/// The longest `stall_ms=` accepted.
const MAX_STALL_MS: u32 = 10_000;

/// Parse the `variant=` parameter.
fn parse_variant() -> Result<model::Variant> {
    // SAFETY: mmcid_rs_param_variant() returns the NUL-terminated parameter
    // buffer, which lives as long as the module and is read-only (0444).
    let name = unsafe { CStr::from_char_ptr(mmcid_rs_param_variant().cast()) };
    let name = name.to_str().map_err(|_| EINVAL)?;
    model::Variant::from_name(name).ok_or_else(|| {
        pr_err!(
            "variant={}: unknown; want one of: {}\n",
            name,
            format_args!("{}", model::Variant::NAMES)
        );
        EINVAL
    })
}

/// The loaded module: its debugfs files, hooks and watchdog, which drop()
/// takes down in that order.
struct MmcidRs;

impl kernel::Module for MmcidRs {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let nr_cpu_ids = kernel::cpu::nr_cpu_ids();
        if usize::try_from(nr_cpu_ids).map_or(true, |n| n > model::MAX_CPUS) {
            pr_err!(
                "this machine has CPU numbers up to {} (nr_cpu_ids {}); the model holds at most {}: not loaded\n",
                nr_cpu_ids - 1,
                nr_cpu_ids,
                model::MAX_CPUS
            );
            return Err(EOPNOTSUPP);
        }
        let v = parse_variant()?;
        let pid = module_parameters::pid.value();
        if pid < 0 {
            pr_err!("pid={}: want a tgid, or 0 for every process\n", pid);
            return Err(EINVAL);
        }
        let stall_ms = module_parameters::stall_ms.value();
        if stall_ms > MAX_STALL_MS {
            pr_err!(
                "stall_ms={}: too long; want 0 (no watchdog) to {}\n",
                stall_ms,
                MAX_STALL_MS
            );
            return Err(EINVAL);
        }
        let status = guard(v);
        if let guard::Status(Err(m)) = status {
            if !module_parameters::force.value() {
                // The tree may be what another variant mirrors: say which.
                let other = guard::matching(guard_generated::DIFFERS);
                pr_err!(
                    "variant={}: {} (the tree this module was built against); force=1 checks anyway{}{}\n",
                    v.name(),
                    format_args!("{m}"),
                    if other.is_some() { ", or variant=" } else { "" },
                    other.unwrap_or("")
                );
                return Err(EINVAL);
            }
        }
        let idx = model::Variant::ALL
            .iter()
            .position(|&x| x == v)
            .unwrap_or(0);
        VARIANT.store(
            i32::try_from(idx).unwrap_or(0),
            kernel::sync::atomic::Relaxed,
        );
        report::reset();

        // SAFETY: no preconditions; paired with mmcid_rs_debugfs_remove()
        // in drop() and below.
        let ret = unsafe { mmcid_rs_debugfs_create() };
        if ret != 0 {
            pr_err!("cannot create /sys/kernel/debug/mmcid_rs: {}\n", ret);
            return Err(Error::from_errno(ret));
        }
        // SAFETY: mmcid_rs_hooks_register() has no preconditions; it is paired
        // with mmcid_rs_hooks_unregister() in drop().
        let ret = unsafe { mmcid_rs_hooks_register(pid) };
        if ret != 0 {
            // SAFETY: created above; nothing else removes it.
            unsafe { mmcid_rs_debugfs_remove() };
            return Err(Error::from_errno(ret));
        }
        // SAFETY: the hooks that stamp the switches are registered;
        // mmcid_rs_watchdog_stop() in drop() shuts the timers down before they go.
        unsafe { mmcid_rs_watchdog_start(stall_ms) };
        pr_info!(
            "loaded: checking mm_cid against model {} on {} possible CPUs, live lock watchdog at {} ms; {}\n",
            v.name(),
            kernel::cpu::nr_cpu_ids(),
            stall_ms,
            format_args!("{status}")
        );
        Ok(Self)
    }
}

impl Drop for MmcidRs {
    fn drop(&mut self) {
        // SAFETY: created in init(), which succeeded.  No file is open:
        // each pins the module, so exit runs only once all are closed; a
        // read or write in progress is waited for.
        unsafe { mmcid_rs_debugfs_remove() };
        // SAFETY: the timers were set up in init(), which succeeded; they
        // go first, as they read what the hooks write.
        unsafe { mmcid_rs_watchdog_stop() };
        // SAFETY: the hooks were registered in init(), which succeeded.
        unsafe { mmcid_rs_hooks_unregister() };
        pr_info!(
            "unloaded: {} context switches and {} forks and exits agreed with the model; {}\n",
            report::agreed(),
            report::agreed_ops(),
            format_args!("{}", guard(variant()))
        );
    }
}
