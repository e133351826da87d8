// SPDX-License-Identifier: GPL-2.0

//! Counterexamples as a per-CPU timeline, one column per CPU, the way the
//! fix's changelog tells its story, followed by the final CID state and
//! what waits for what.

use crate::scenario::Config;
use crate::search::{Finding, Report};
use crate::world::{Action, Life, Op, Violation, World};
use mmcid_model::*;
use std::fmt::Write;

const COL: usize = 30;

fn task_cpu(w: &World, t: u8) -> usize {
    usize::from(w.s.tasks[usize::from(t)].cpu)
}

/// A CPU mask as `taskset -c` reads it: `{0}`, `{0-2}`, `{0,2-3}`.
pub struct FmtMask(pub u64);

impl std::fmt::Display for FmtMask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("{")?;
        let mut first = true;
        let mut cpus = cpus_in(self.0).peekable();
        while let Some(lo) = cpus.next() {
            let mut hi = lo;
            while cpus.peek() == Some(&(hi + 1)) {
                hi = cpus.next().unwrap_or(hi);
            }
            f.write_str(if first { "" } else { "," })?;
            first = false;
            if hi == lo {
                write!(f, "{}", lo)?;
            } else {
                write!(f, "{}-{}", lo, hi)?;
            }
        }
        f.write_str("}")
    }
}

/// The CPU an action happens on and what it did, given the states around it.
fn describe(a: Action, before: &World, after: &World) -> (usize, String) {
    let cid = |t: u8| FmtCid(after.s.tasks[usize::from(t)].cid);
    match a {
        Action::Switch {
            cpu,
            prev,
            next,
            sleep,
        } => {
            let c = usize::from(cpu);
            let mut s = String::new();
            if let Some(p) = prev {
                let how = if sleep { "sleeps" } else { "out" };
                let _ = write!(s, "T{} {}, ", p, how);
            }
            match next {
                Some(n) if after.spin[c].is_some() => {
                    let _ = write!(
                        s,
                        "T{} in: pool empty, SPINS in mm_get_cid() holding rq{}",
                        n, c
                    );
                }
                Some(n) => {
                    let from = before.s.tasks[usize::from(n)].cpu;
                    let mig = if usize::from(from) != c && before.s.tasks[usize::from(n)].active {
                        format!(" (from CPU{})", from)
                    } else {
                        String::new()
                    };
                    let _ = write!(s, "T{} in{}: cid {}", n, mig, cid(n));
                }
                None => s.push_str("-> other"),
            }
            (c, s)
        }
        Action::GotCid { cpu } => {
            let c = usize::from(cpu);
            let t = after.s.curr(c).unwrap_or(0) as u8;
            (c, format!("T{} gets cid {}", t, cid(t)))
        }
        Action::Fork {
            task,
            child,
            process,
        } => {
            let c = task_cpu(before, task);
            let flip = before.s.mm_cid.mode != after.s.mm_cid.mode;
            let how = if process { "vforks" } else { "forks" };
            let mut s = format!(
                "T{} {} T{}: users {}",
                task, how, child, after.s.mm_cid.users
            );
            if after.task[usize::from(task)].op == (Op::Attach { child }) {
                let _ = write!(
                    s,
                    ", T{} cid {} (not on the thread list)",
                    child,
                    cid(child)
                );
            }
            if flip {
                let _ = write!(
                    s,
                    ", mode {}, T{} cid {}",
                    mode_name(after.s.mm_cid.mode),
                    task,
                    cid(task)
                );
            }
            (c, s)
        }
        Action::Flush { cpu, bits } => {
            let what = match bits {
                1 => "the TRANSIT bit",
                2 => "the ONCPU bit",
                _ => "the mode",
            };
            let seen = after.weak.seen(usize::from(cpu), after.s.mm_cid.mode);
            (
                usize::from(cpu),
                format!("sees {} stored: mode {}", what, mode_name(seen)),
            )
        }
        Action::Attach { task } => {
            let c = task_cpu(before, task);
            let child = match before.task[usize::from(task)].op {
                Op::Attach { child } => child,
                _ => task,
            };
            (c, format!("T{} on the thread list, woken", child))
        }
        Action::ForkCid { task } => {
            let c = task_cpu(before, task);
            let child = match before.task[usize::from(task)].op {
                Op::ForkLockedCid { child, .. } | Op::ForkCid { child } => child,
                _ => task,
            };
            (c, format!("T{} cid {}", child, cid(child)))
        }
        Action::FixupTask { task, target } => {
            let c = task_cpu(before, task);
            if task == target {
                return (c, format!("walk: skip T{} (current)", target));
            }
            (
                c,
                format!(
                    "walk: T{} (rq{}) cid {}",
                    target,
                    task_cpu(before, target),
                    cid(target)
                ),
            )
        }
        Action::FixupCpu { task, cpu } => {
            let c = task_cpu(before, task);
            let p = after.s.mm_cid.pcpu[usize::from(cpu)];
            (c, format!("walk: CPU{} pcpu {}", cpu, FmtCid(p)))
        }
        Action::Complete { task } => {
            let c = task_cpu(before, task);
            (
                c,
                format!("fixup done: mode {}", mode_name(after.s.mm_cid.mode)),
            )
        }
        Action::Affinity { task, .. } => {
            let t = usize::from(task);
            let mc = &after.s.mm_cid;
            let mut s = format!(
                "sched_setaffinity(T{}, {}): mm allowed {} ({} CPUs), pcpu_thrs {}",
                task,
                FmtMask(u64::from(after.task[t].allowed)),
                FmtMask(mc.cpus_allowed),
                mc.nr_cpus_allowed,
                mc.pcpu_thrs
            );
            if mc.update_deferred && !before.s.mm_cid.update_deferred {
                s.push_str(", queues mm_cid_work_fn()");
            }
            (task_cpu(before, task), s)
        }
        Action::Work => {
            let what = if after.work_walk.is_some() {
                format!("mode {}", mode_name(after.s.mm_cid.mode))
            } else {
                "nothing to do".to_string()
            };
            (after.nr_cpus(), format!("mm_cid_work_fn(): {}", what))
        }
        Action::WorkFixupCpu { cpu } => {
            let p = after.s.mm_cid.pcpu[usize::from(cpu)];
            (
                after.nr_cpus(),
                format!("walk: CPU{} pcpu {}", cpu, FmtCid(p)),
            )
        }
        Action::WorkComplete => (
            after.nr_cpus(),
            format!("fixup done: mode {}", mode_name(after.s.mm_cid.mode)),
        ),
        Action::Exit { task } | Action::Execve { task } | Action::ExecveFailed { task } => {
            let c = task_cpu(before, task);
            let what = match a {
                Action::Exit { .. } => "exits",
                Action::Execve { .. } => "execve(): before_execve",
                _ => "execve() fails: after_execve",
            };
            let mut s = format!("T{} {}: users {}", task, what, after.s.mm_cid.users);
            if before.s.mm_cid.mode != after.s.mm_cid.mode {
                let _ = write!(s, ", mode {}", mode_name(after.s.mm_cid.mode));
            }
            let _ = write!(s, ", T{} cid {}", task, cid(task));
            (c, s)
        }
    }
}

/// Print a column-per-CPU timeline of `trace` replayed from `cfg`.
pub fn timeline(cfg: &Config, trace: &[Action]) -> String {
    let mut w = cfg.initial();
    let ncpu = w.nr_cpus();
    let mut out = String::new();
    let _ = write!(out, "{:>4}  ", "step");
    for c in 0..ncpu {
        let _ = write!(out, "{:<COL$}", format!("CPU{}", c));
    }
    if w.masks.is_some() {
        out.push_str("mm_cid work");
    }
    out.push('\n');
    let _ = writeln!(out, "      initial: {}", summary(&w));
    for (i, &a) in trace.iter().enumerate() {
        let before = w;
        w.step(a);
        let (cpu, text) = describe(a, &before, &w);
        let _ = write!(out, "{:>4}  {}", i + 1, " ".repeat(COL * cpu));
        let _ = writeln!(out, "{}", text);
    }
    out
}

/// One line: mode, bitmap and who owns which CID.
pub fn summary(w: &World) -> String {
    let s = &w.s;
    let mut out = format!(
        "mode {}, users {}, max_cids {}, bitmap {} |",
        mode_name(s.mm_cid.mode),
        s.mm_cid.users,
        s.mm_cid.max_cids,
        FmtBitmap(s.mm_cid.cidmask, s.nr_possible_cpus)
    );
    for c in s.possible_cpus() {
        let curr = s.curr(c).map_or("-".to_string(), |t| format!("T{}", t));
        let _ = write!(out, " CPU{}:{}/{}", c, curr, FmtCid(s.mm_cid.pcpu[c]));
    }
    out.push_str(" |");
    for t in 0..s.nr_tasks {
        if matches!(w.task[t].life, Life::Alive | Life::Exiting | Life::Execing)
            || w.task[t].op != Op::None
        {
            let _ = write!(out, " T{}:{}", t, FmtCid(s.tasks[t].cid));
        }
    }
    if w.masks.is_some() {
        let _ = write!(
            out,
            " | mm allowed {} ({}), pcpu_thrs {}",
            FmtMask(s.mm_cid.cpus_allowed),
            s.mm_cid.nr_cpus_allowed,
            s.mm_cid.pcpu_thrs
        );
        for t in 0..s.nr_tasks {
            if w.task[t].life != Life::Dead {
                let _ = write!(out, " T{}:{}", t, FmtMask(u64::from(w.task[t].allowed)));
            }
        }
    }
    out
}

/// One line for a [`LiveLockShape`]: the catalogue in docs/explorer.md.
pub fn shape_name(s: &LiveLockShape) -> String {
    let pool = format!("{} of max_cids {} taken", s.taken, s.max_cids);
    match (s.is_changelog(), s.own_cid, s.owner) {
        (true, Some(cid), Some(cpu)) => format!(
            "changelog: pool exhausted ({}), own CID {} owned by CPU{}",
            pool, cid, cpu
        ),
        (_, Some(cid), None) => format!(
            "{} ({}), own CID {} held, by no other CPU",
            if s.pool_exhausted() {
                "pool exhausted"
            } else {
                "pool not exhausted"
            },
            pool,
            cid
        ),
        _ if s.pool_exhausted() => format!("pool exhausted ({}), no own CID", pool),
        _ => format!("pool not exhausted ({}), no own CID", pool),
    }
}

/// Explain the final state of a live lock: who spins, who waits for whom.
pub fn explain_live_lock(w: &World, cpu: u8) -> String {
    let c = usize::from(cpu);
    let spinner = w.s.curr(c).map_or("?".into(), |t| format!("T{}", t));
    let mut out = format!(
        "live lock: CPU{} spins in mm_get_cid() for {} with rq{} held, and no reachable state frees a CID for it\n",
        c, spinner, c
    );
    if let Some(t) = w.s.curr(c) {
        let n = w.nr_cpus();
        let shape = LiveLockShape::of(
            w.s.mm_cid.cidmask,
            w.s.mm_cid.max_cids,
            &w.s.mm_cid.pcpu[..n],
            c,
            w.s.tasks[t].cid,
        );
        let _ = writeln!(out, "shape: {}", shape_name(&shape));
    }
    for t in 0..w.s.nr_tasks {
        if w.task[t].op != Op::None && w.running_on(t).is_none() {
            let rq = usize::from(w.s.tasks[t].cpu);
            let held = if w.spin[rq].is_some() {
                ", whose lock is held"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "  T{}'s fixup walk is preempted, queued on rq{}{}",
                t, rq, held
            );
            continue;
        }
        let held = |cpu: usize| w.spin[cpu].is_some();
        let waits = match w.task[t].op {
            // The walk blocks at the first task whose runqueue lock is held.
            Op::ForkTasksToCpus { i, .. } => {
                let (targets, n) = w.walk_targets(t);
                targets[..n]
                    .iter()
                    .map(|&x| usize::from(x))
                    .skip(usize::from(i))
                    .find(|&x| x != t && held(usize::from(w.s.tasks[x].cpu)))
                    .map(|x| {
                        format!(
                            "T{}'s fixup walk will wait at T{} for rq{}",
                            t, x, w.s.tasks[x].cpu
                        )
                    })
            }
            Op::ForkCpusToTasks { cpu, .. } | Op::ExitCpusToTasks { cpu } => (usize::from(cpu)
                ..w.nr_cpus())
                .find(|&c| held(c))
                .map(|c| format!("T{}'s fixup walk will wait for rq{}", t, c)),
            _ => None,
        };
        if let Some(s) = waits {
            let _ = writeln!(out, "  {}", s);
        }
    }
    for cid in 0..w.s.nr_possible_cpus {
        let owner =
            w.s.possible_cpus()
                .find(|&p| cid_on_cpu(w.s.mm_cid.pcpu[p]) && task_mm_cid(w.s.mm_cid.pcpu[p]) == cid)
                .map(|p| format!("CPU{}", p))
                .or_else(|| {
                    (0..w.s.nr_tasks)
                        .find(|&t| {
                            w.s.tasks[t].cid != MM_CID_UNSET && task_mm_cid(w.s.tasks[t].cid) == cid
                        })
                        .map(|t| format!("T{} ({})", t, FmtCid(w.s.tasks[t].cid)))
                })
                .unwrap_or_else(|| "free".into());
        let _ = writeln!(out, "  CID {}: {}", cid, owner);
    }
    out
}

/// The whole human-readable report of a search.
pub fn render(cfg: &Config, r: &Report) -> String {
    let mut out = String::new();
    let what = match &r.finding {
        Finding::Clean => "no violation".to_string(),
        Finding::Incomplete => format!("state bound {} reached, search incomplete", cfg.max_states),
        Finding::LiveLock { cpu } => format!("LIVE LOCK on CPU{}", cpu),
        Finding::Violation(v) => match v {
            Violation::DuplicateCid { a, b, cid } => {
                format!("DUPLICATE CID {} seen by T{} and T{}", cid, a, b)
            }
            Violation::CidOutOfRange { task, cid } => {
                format!("CID OUT OF RANGE: T{} sees {}", task, cid)
            }
            Violation::Fault(f) => format!("FAULT in the C code: {:?}", f),
            Violation::WalkBehind { cpu, task } => format!(
                "WALK BEHIND: CPU{} switches T{} out in per task mode, both still holding the CPU's CID",
                cpu, task
            ),
            Violation::TransitionUnfinished { mode, task, cpu } => match task {
                Some(t) => format!(
                    "TRANSITION UNFINISHED: mode {} but T{} still owns a CID",
                    mode_name(*mode),
                    t
                ),
                None => format!(
                    "TRANSITION UNFINISHED: mode {} but CPU{} still owns a CID",
                    mode_name(*mode),
                    cpu
                ),
            },
            Violation::ModeStuck {
                users,
                thrs,
                nr_cpus_allowed,
                pcpu_thrs,
            } => format!(
                "MODE STUCK: per CPU mode with {} users, below {}, the threshold of {} \
allowed CPUs (pcpu_thrs {}), and no switch back in flight",
                users, thrs, nr_cpus_allowed, pcpu_thrs
            ),
        },
    };
    let _ = writeln!(
        out,
        "{}: {} ({} states, {} transitions, {:.3} s)",
        cfg.variant.name(),
        what,
        r.states,
        r.edges,
        r.elapsed.as_secs_f64()
    );
    if !r.trace.is_empty() {
        out.push_str(&timeline(cfg, &r.trace));
        let w = crate::search::replay(cfg, &r.trace);
        let _ = writeln!(out, "final: {}", summary(&w));
        if let Finding::LiveLock { cpu } = r.finding {
            out.push_str(&explain_live_lock(&w, cpu));
        }
    }
    out
}
