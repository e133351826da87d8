// SPDX-License-Identifier: GPL-2.0

//! mmcid_rs: runs a Rust model of the mm_cid ownership code beside the C
//! code of kernel/sched and reports in debugfs (`/sys/kernel/debug/mmcid_rs/`)
//! how many transitions it checked and every disagreement.
//!
//! The model is `model/`, the same source cargo builds for the explorer.
//! The C glue in `glue/` attaches to the scheduler and takes the snapshots;
//! `module/` compares them with the model and keeps the report.

use core::fmt;
use kernel::{
    debugfs::{Dir, File},
    prelude::*,
    uaccess::UserSliceReader,
};

#[path = "model/model.rs"]
pub mod model;

/// The atomics of the report's lock-free code: the kernel's.  Cargo
/// builds the same code over `module/atomic_shim.rs`.
pub mod sync {
    pub use kernel::sync::atomic::{Acquire, Atomic, Relaxed, Release};
}

#[path = "module/cell.rs"]
pub mod cell;
#[path = "module/check.rs"]
pub mod check;
#[path = "module/counters.rs"]
pub mod counters;
#[path = "module/ffi.rs"]
pub mod ffi;
#[path = "module/guard.rs"]
pub mod guard;
#[path = "module/mm_table.rs"]
pub mod mm_table;
#[path = "module/once.rs"]
pub mod once;
#[path = "module/op.rs"]
pub mod op;
#[path = "module/report.rs"]
pub mod report;
#[path = "module/stall.rs"]
pub mod stall;

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
    mmcid_rs_hooks_register, mmcid_rs_hooks_unregister, mmcid_rs_param_variant,
    mmcid_rs_print_deferred, mmcid_rs_watchdog_start, mmcid_rs_watchdog_starts,
    mmcid_rs_watchdog_stop, mmcid_rs_watchdog_stops,
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
};

/// Print `line` (up to its first 1000 bytes) from any context, runqueue
/// lock held included.
pub(crate) fn print_deferred(line: &[u8]) {
    let len = line.len().min(1000);
    // SAFETY: `line` is valid for `len` bytes during the call, which
    // prints at most that many and keeps no pointer.
    unsafe { mmcid_rs_print_deferred(line.as_ptr().cast(), len as kernel::ffi::c_uint) };
}

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

/// Called by glue/hooks.c at the entry of finish_task_switch(), runqueue
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
    report::record(check::check_switch(variant(), pre, post), pre, post);
}

/// Called by glue/hooks.c when `sched_mm_cid_fork()` returns.
///
/// # Safety
///
/// `pre` and `post` point to valid snapshots for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn mmcid_rs_check_fork(pre: *const ffi::OpSnap, post: *const ffi::OpSnap) {
    // SAFETY: the caller passes two valid snapshots (function contract).
    let (pre, post) = unsafe { (&*pre, &*post) };
    check_op(op::Op::Fork, pre, post);
}

/// Room for the model of the fork and exit checks, one per CPU.
static OP_ROOM: op::PerCpuOpSched = op::PerCpuOpSched::new();

/// Check a call that returned on `post.cpu`, preemption disabled.
fn check_op(o: op::Op, pre: &ffi::OpSnap, post: &ffi::OpSnap) {
    // SAFETY: glue/hooks.c calls the op checks from its kretprobe return
    // handlers, which run with preemption disabled on `post.cpu` (its
    // snapshot reads raw_smp_processor_id() there) and do not nest in
    // each other: a kprobe that hits while a kprobe handler runs on the
    // same CPU (an affinity change from a wakeup in an interrupt, through
    // select_fallback_rq()) is counted as missed, not run.
    let s = unsafe { OP_ROOM.get(post.cpu as usize) };
    report::record_op(o, op::check(variant(), o, pre, post, s), pre, post);
}

/// Called by glue/hooks.c when `sched_mm_cid_exit()` returns.
///
/// # Safety
///
/// `pre` and `post` point to valid snapshots for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn mmcid_rs_check_exit(pre: *const ffi::OpSnap, post: *const ffi::OpSnap) {
    // SAFETY: the caller passes two valid snapshots (function contract).
    let (pre, post) = unsafe { (&*pre, &*post) };
    check_op(op::Op::Exit, pre, post);
}

/// Called by glue/hooks.c when `set_cpus_allowed_common()` returns, under
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
    check_op(op::Op::Affinity, pre, post);
}

/// Called by glue/hooks.c when `mm_cid_work_fn()` returns.
///
/// # Safety
///
/// `pre` and `post` point to valid snapshots for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn mmcid_rs_check_work(pre: *const ffi::OpSnap, post: *const ffi::OpSnap) {
    // SAFETY: the caller passes two valid snapshots (function contract).
    let (pre, post) = unsafe { (&*pre, &*post) };
    check_op(op::Op::Work, pre, post);
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

/// Data of the debugfs files: everything they show is in statics.
struct Files;

impl Files {
    fn status(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pid = module_parameters::pid.value();
        report::show_status(f, variant().name(), guard(variant()), pid, watchdog())
    }

    fn report(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        report::show_report(f, guard(variant()), watchdog())
    }

    fn live_lock(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        report::show_live_lock(f)
    }

    /// `echo 1 > reset` zeroes the counters; anything else is EINVAL.
    fn reset(&self, r: &mut UserSliceReader) -> Result {
        let mut buf = [0u8; 8];
        let n = r.len();
        if n == 0 || n > buf.len() {
            return Err(EINVAL);
        }
        r.read_slice(&mut buf[..n])?;
        match &buf[..n] {
            b"1" | b"1\n" => {
                report::reset();
                Ok(())
            }
            _ => Err(EINVAL),
        }
    }
}

struct MmcidRs {
    // Files before their directory: fields drop in declaration order.
    _files: [Pin<KBox<File<Files>>>; 4],
    _dir: Dir,
}

/// A read-only debugfs file of `dir` that shows `show`.
fn read_file<F>(dir: &Dir, name: &CStr, show: &'static F) -> Result<Pin<KBox<File<Files>>>>
where
    F: Fn(&Files, &mut fmt::Formatter<'_>) -> fmt::Result + Send + Sync,
{
    KBox::pin_init(dir.read_callback_file(name, Files, show), GFP_KERNEL)
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

        let dir = Dir::new(c"mmcid_rs");
        let files = [
            read_file(&dir, c"status", &Files::status)?,
            read_file(&dir, c"report", &Files::report)?,
            read_file(&dir, c"live_lock", &Files::live_lock)?,
            KBox::pin_init(
                dir.write_callback_file(c"reset", Files, &Files::reset),
                GFP_KERNEL,
            )?,
        ];
        // SAFETY: mmcid_rs_hooks_register() has no preconditions; it is paired
        // with mmcid_rs_hooks_unregister() in drop().
        let ret = unsafe { mmcid_rs_hooks_register(pid) };
        if ret != 0 {
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
        Ok(Self {
            _files: files,
            _dir: dir,
        })
    }
}

impl Drop for MmcidRs {
    fn drop(&mut self) {
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
