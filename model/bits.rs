// SPDX-License-Identifier: GPL-2.0

//! CID encoding: the flag bits of include/linux/rseq_types.h and the
//! `__always_inline` bit helpers at the top of the mm_cid part of
//! kernel/sched/sched.h, in the same order.

/// Mirrors `MM_CID_UNSET`: the CID is not set, BIT(31).
pub const MM_CID_UNSET: u32 = 1 << 31;
/// Mirrors `MM_CID_ONCPU`: the CID is owned by a CPU, BIT(30).
pub const MM_CID_ONCPU: u32 = 1 << 30;
/// Mirrors `MM_CID_TRANSIT`: the CID is only borrowed during a mode transition, BIT(29).
pub const MM_CID_TRANSIT: u32 = 1 << 29;

/// Mirrors `cid_on_cpu()`.
#[inline]
pub const fn cid_on_cpu(cid: u32) -> bool {
    cid & MM_CID_ONCPU != 0
}

/// Mirrors `cid_in_transit()`.
#[inline]
pub const fn cid_in_transit(cid: u32) -> bool {
    cid & MM_CID_TRANSIT != 0
}

/// Mirrors `cpu_cid_to_cid()`.
#[inline]
pub const fn cpu_cid_to_cid(cid: u32) -> u32 {
    cid & !MM_CID_ONCPU
}

/// Mirrors `cid_to_cpu_cid()`.
#[inline]
pub const fn cid_to_cpu_cid(cid: u32) -> u32 {
    cid | MM_CID_ONCPU
}

/// Mirrors `cid_to_transit_cid()`.
#[inline]
pub const fn cid_to_transit_cid(cid: u32) -> u32 {
    cid | MM_CID_TRANSIT
}

/// Mirrors `cid_from_transit_cid()`.
#[inline]
pub const fn cid_from_transit_cid(cid: u32) -> u32 {
    cid & !MM_CID_TRANSIT
}

/// Mirrors `cid_on_task()`: none of the ONCPU, TRANSIT, UNSET bits is set.
#[inline]
pub const fn cid_on_task(cid: u32) -> bool {
    cid < MM_CID_TRANSIT
}

/// The CID user space sees in `rseq::mm_cid`.
///
/// Mirrors `task_mm_cid()` (include/linux/sched.h), which masks ONCPU and
/// TRANSIT but keeps UNSET.
#[inline]
pub const fn task_mm_cid(cid: u32) -> u32 {
    cid & !(MM_CID_ONCPU | MM_CID_TRANSIT)
}

/// A CID as the explorer and the module print it: `UNSET`, `2`, `2|ONCPU`,
/// `2|TRANSIT`.
#[derive(Clone, Copy, Debug)]
pub struct FmtCid(pub u32);

impl core::fmt::Display for FmtCid {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let cid = self.0;
        if cid & MM_CID_UNSET != 0 {
            // transit-unset sets TRANSIT on an MM_CID_UNSET: show it.
            f.write_str("UNSET")?;
            if cid_in_transit(cid) {
                f.write_str("|TRANSIT")?;
            }
            return Ok(());
        }
        write!(f, "{}", cid & !(MM_CID_ONCPU | MM_CID_TRANSIT))?;
        if cid_on_cpu(cid) {
            f.write_str("|ONCPU")?;
        }
        if cid_in_transit(cid) {
            f.write_str("|TRANSIT")?;
        }
        Ok(())
    }
}

/// The name of an `mm_cid::mode` value.
pub const fn mode_name(mode: u32) -> &'static str {
    match (cid_on_cpu(mode), cid_in_transit(mode)) {
        (false, false) => "per task",
        (false, true) => "TRANSIT (CPU -> task)",
        (true, false) => "ONCPU",
        (true, true) => "ONCPU|TRANSIT (task -> CPU)",
    }
}

/// The first `.1` bits of a CID bitmap, CID 0 first: `1101`.
#[derive(Clone, Copy, Debug)]
pub struct FmtBitmap(pub u64, pub u32);

impl core::fmt::Display for FmtBitmap {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for b in 0..self.1.min(64) {
            f.write_str(if self.0 & (1 << b) != 0 { "1" } else { "0" })?;
        }
        Ok(())
    }
}
