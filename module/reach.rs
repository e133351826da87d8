// SPDX-License-Identifier: GPL-2.0

//! Which branches of the mm_cid code the module has checked since load:
//! the model records the [`Path`]s each run takes (model/paths.rs), and
//! every check in agreement counts those of the run that agreed.  `reset`
//! leaves them: the verdict of a run says what the whole run reached.
//! The text that shows them is report_text.rs's.

use super::counters::Counters;
use super::model::paths::Path;
use super::model::MAX_CPUS;

/// A row per CPU the model holds, and one for the rest.
static REACHED: Counters<{ MAX_CPUS + 1 }, { Path::COUNT }> = Counters::new();

/// Count the paths of `paths` (a run's [`Sched::paths`]) on `cpu`.
///
/// [`Sched::paths`]: super::model::Sched::paths
pub fn reach(cpu: u32, paths: u64) {
    let row = usize::try_from(cpu).unwrap_or(MAX_CPUS);
    for p in Path::in_mask(paths) {
        REACHED.add(row, p as usize, 1);
    }
}

/// Checks in agreement that took `p`, since load.
pub fn count(p: Path) -> i64 {
    REACHED.count(p as usize)
}
