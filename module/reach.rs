// SPDX-License-Identifier: GPL-2.0

//! Which branches of the mm_cid code the module has checked since load:
//! the model records the [`Path`]s each run takes (model/paths.rs), and
//! every check in agreement counts those of the run that agreed.  `reset`
//! leaves them: the verdict of a run says what the whole run reached.

use super::counters::Counters;
use super::model::paths::Path;
use super::model::MAX_CPUS;
use core::fmt;

/// A path needs this many checks in agreement to count as tested:
/// reached once says little about a boundary.
pub const TESTED: i64 = 100;

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

/// The paths 7.3 can take.
pub fn reachable() -> impl Iterator<Item = Path> {
    Path::in_mask(Path::MASK & !Path::UNREACHABLE_ON_V7_3)
}

/// Reachable paths checked at least `min` times.
pub fn at_least(min: i64) -> usize {
    reachable().filter(|&p| count(p) >= min).count()
}

/// `path_<name> <count>` for every path, for `report`.
pub fn show_report(f: &mut fmt::Formatter<'_>) -> fmt::Result {
    for p in Path::ALL {
        writeln!(f, "path_{} {}", p.name(), count(p))?;
    }
    Ok(())
}

/// The lines of `status`: how many paths, which are missing, which were
/// checked fewer than [`TESTED`] times.
pub fn show_status(f: &mut fmt::Formatter<'_>) -> fmt::Result {
    writeln!(
        f,
        "paths of the mm_cid code checked since load: {} of {} reachable on 7.3, {} of them {} times or more",
        at_least(1),
        reachable().count(),
        at_least(TESTED),
        TESTED
    )?;
    write!(f, "  not checked:")?;
    for p in reachable().filter(|&p| count(p) == 0) {
        write!(f, " {}", p.name())?;
    }
    write!(f, "\n  checked fewer than {} times:", TESTED)?;
    for p in reachable().filter(|&p| (1..TESTED).contains(&count(p))) {
        write!(f, " {} ({})", p.name(), count(p))?;
    }
    write!(f, "\n  unreachable on 7.3 (model/paths.rs):")?;
    for p in Path::in_mask(Path::UNREACHABLE_ON_V7_3) {
        write!(f, " {}", p.name())?;
    }
    writeln!(f)
}
