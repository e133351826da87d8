// SPDX-License-Identifier: GPL-2.0

//! `explorer`: search the interleavings of one mm_cid configuration.
//!
//! Exit status: 0 exhausted without violation, 1 violation found (trace
//! printed), 2 usage error, 3 state bound reached before the end.

use clap::builder::PossibleValue;
use clap::{Parser, ValueEnum};
use explorer::scenario::{Config, Scenario};
use explorer::search::{explore, random_walk, Finding, Progress};
use explorer::trace::render;
use explorer::world::UNBOUNDED;
use mmcid_model::{Variant, SMALL_CPUS, SMALL_TASKS};
use std::process::ExitCode;

/// A [`Variant`] on the command line: the names and their order come from
/// `Variant::ALL` and `Variant::name()`, the one list in model/variant.rs.
#[derive(Clone, Copy, Debug)]
struct VariantArg(Variant);

const VARIANTS: [VariantArg; Variant::ALL.len()] = {
    let mut a = [VariantArg(Variant::V7_3); Variant::ALL.len()];
    let mut i = 0;
    while i < a.len() {
        a[i] = VariantArg(Variant::ALL[i]);
        i += 1;
    }
    a
};

impl ValueEnum for VariantArg {
    fn value_variants<'a>() -> &'a [Self] {
        &VARIANTS
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.0.name()).help(self.0.summary()))
    }
}

/// A budget of forks, exits or execve() calls: below the task slots.
fn budget() -> clap::builder::RangedI64ValueParser<u8> {
    clap::value_parser!(u8).range(0..SMALL_TASKS as i64)
}

/// The defaults every option shows and uses.
const DEFAULT: Config = Config::new(Variant::V7_3);

/// `--switches`: a number of context switches, or `none` ([`UNBOUNDED`]).
#[derive(Clone, Copy, Debug)]
struct Switches(u8);

fn parse_switches(s: &str) -> Result<Switches, String> {
    if s == "none" {
        return Ok(Switches(UNBOUNDED));
    }
    s.parse::<u8>().map(Switches).map_err(|_| {
        format!(
            "'{}' is neither 'none' nor a number in 0..={}",
            s, UNBOUNDED
        )
    })
}

impl std::fmt::Display for Switches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0 == UNBOUNDED {
            f.write_str("none")
        } else {
            write!(f, "{}", self.0)
        }
    }
}

/// What each scenario sets, for the help of the options it sets.
fn scenario_defaults(what: &str, get: fn(&Config) -> String) -> String {
    let per: Vec<String> = Scenario::ALL
        .iter()
        .map(|&sc| {
            let name = sc
                .to_possible_value()
                .expect("named")
                .get_name()
                .to_string();
            format!("{} {}", get(&DEFAULT.scenario(sc, sc.default_cpus())), name)
        })
        .collect();
    format!("{} [default: {}]", what, per.join(", "))
}

#[derive(Parser, Debug)]
#[command(
    name = "explorer",
    about = "Explore every interleaving of one mm_cid configuration",
    long_about = "Explores every interleaving of schedule in/out, migration, fork (with its \
mode switch and fixup walk, one runqueue lock at a time), exit and sched_setaffinity() (with its \
deferred work), and reports a live lock, a duplicate or out-of-range CID, a fault of the C code, \
a mode transition left unfinished, or per CPU mode left stuck after an affinity widening. \
States that differ only in the names of interchangeable tasks and CPUs are explored once. \
With --random, runs seeded random walks instead; a failure prints the seed that replays it.",
    after_help = "Exit status: 0 clean, 1 violation (trace printed), 2 usage, 3 incomplete \
(state bound reached).\nProgress (states/s, queue, memory) goes to stderr every 5 s."
)]
struct Cli {
    /// The code the model follows
    #[arg(long, value_enum, default_value_t = VariantArg(DEFAULT.variant))]
    variant: VariantArg,

    /// The configuration: who runs where at the start, forks and exits
    #[arg(long, value_enum, default_value_t = Scenario::BpfCi)]
    scenario: Scenario,

    #[arg(long, value_name = "N",
          help = scenario_defaults("Possible CPUs", |c| c.cpus.to_string()),
          value_parser = clap::value_parser!(u32).range(1..=SMALL_CPUS as i64))]
    cpus: Option<u32>,

    #[arg(long, value_name = "M", help = "Tasks at the start of a per task mode scenario \
[default: --cpus]",
          value_parser = clap::value_parser!(u32).range(1..=SMALL_TASKS as i64))]
    tasks: Option<u32>,

    #[arg(long, value_name = "F",
          help = scenario_defaults("Forks of threads the forkers may do", |c| c.forks.to_string()),
          value_parser = budget())]
    forks: Option<u8>,

    /// Forks of processes that share the mm (vfork(), CLONE_VM without
    /// CLONE_THREAD) the forkers may do
    #[arg(long, value_name = "V", default_value_t = DEFAULT.vforks,
          value_parser = budget())]
    vforks: u8,

    /// Tasks T0.. that fork; the others may exit
    #[arg(long, value_name = "K", default_value_t = DEFAULT.forkers,
          value_parser = clap::value_parser!(u8).range(1..=SMALL_TASKS as i64))]
    forkers: u8,

    #[arg(long, value_name = "E",
          help = scenario_defaults("Exits the other tasks may do", |c| c.exits.to_string()),
          value_parser = budget())]
    exits: Option<u8>,

    #[arg(long, value_name = "A",
          help = scenario_defaults("sched_setaffinity() calls on the tasks that do not fork, \
between the narrow and the wide mask of the affinity scenario", |c| c.affinity.to_string()),
          value_parser = budget())]
    affinity: Option<u8>,

    /// Failing execve() calls, by any task: the window between
    /// sched_mm_cid_before_execve() and sched_mm_cid_after_execve()
    #[arg(long, value_name = "X", default_value_t = DEFAULT.execs,
          value_parser = budget())]
    execs: u8,

    /// Weak memory: a CPU's stores to mm_cid::mode reach other CPUs late,
    /// unless a runqueue lock orders them
    #[arg(long)]
    weak_memory: bool,

    /// Do not report a CID left with the wrong owner after a mode
    /// transition completes; report only what user space or the C sees
    /// (duplicate or out-of-range CIDs, live locks, faults)
    #[arg(long)]
    no_transition_check: bool,

    /// Do not report a task back in user space without a CID (rseq shows
    /// it MM_CID_UNSET, as 7.3 does after a failed execve() in per CPU
    /// mode), to see what follows in the same window
    #[arg(long)]
    no_unset_check: bool,

    /// Context switches the search allows, or `none` (also 255) for no bound
    #[arg(long, value_name = "K|none", default_value_t = Switches(DEFAULT.switches),
          value_parser = parse_switches)]
    switches: Switches,

    /// Give up (exit status 3) after this many states
    #[arg(long, value_name = "S", env = "MMCID_EXPLORER_MAX_STATES",
          default_value_t = DEFAULT.max_states as u64,
          value_parser = clap::value_parser!(u64).range(1..=u64::from(u32::MAX)))]
    max_states: u64,

    /// Threads that expand states (default: the CPUs this process may run
    /// on); every count gives the same states, transitions and trace
    #[arg(long, value_name = "N", env = "MMCID_EXPLORER_THREADS",
          value_parser = clap::value_parser!(u16).range(1..=1024))]
    threads: Option<u16>,

    /// Run seeded random walks from this seed instead of the search
    #[arg(long, value_name = "SEED")]
    random: Option<u64>,

    /// Random walks to run
    #[arg(long, value_name = "K", default_value_t = 100, requires = "random")]
    walks: u64,

    /// Steps of each random walk
    #[arg(long, value_name = "S", default_value_t = 10_000, requires = "random")]
    steps: usize,

    /// Consecutive spinning steps after which a walk runs the live lock search
    #[arg(long, value_name = "B", default_value_t = 1000, requires = "random")]
    spin_bound: usize,
}

impl Cli {
    fn config(&self) -> Result<Config, String> {
        let cpus = self.cpus.unwrap_or(self.scenario.default_cpus());
        let mut cfg = Config {
            variant: self.variant.0,
            ..DEFAULT
        }
        .scenario(self.scenario, cpus);
        cfg.tasks = self.tasks.unwrap_or(cfg.tasks.min(cpus));
        cfg.affinity = self.affinity.unwrap_or(cfg.affinity);
        cfg.forks = self.forks.unwrap_or(cfg.forks);
        cfg.exits = self.exits.unwrap_or(cfg.exits);
        cfg.execs = self.execs;
        cfg.vforks = self.vforks;
        cfg.forkers = self.forkers;
        cfg.check_transitions = !self.no_transition_check;
        cfg.check_unset = !self.no_unset_check;
        cfg.weak = self.weak_memory;
        cfg.switches = self.switches.0;
        cfg.max_states = self.max_states as usize;
        cfg.threads = self.threads.map_or_else(
            || std::thread::available_parallelism().map_or(1, |n| n.get()),
            usize::from,
        );
        cfg.validate()?;
        Ok(cfg)
    }
}

/// `1.5 G`, `12.3 M`, `456 k`: integer arithmetic only.
fn human(n: usize, unit: &str) -> String {
    let (div, suffix) = match n {
        n if n >= 1 << 30 => (1usize << 30, " Gi"),
        n if n >= 1 << 20 => (1 << 20, " Mi"),
        n if n >= 1 << 10 => (1 << 10, " ki"),
        _ => (1, " "),
    };
    let tenths = n * 10 / div;
    format!("{}.{}{}{}", tenths / 10, tenths % 10, suffix, unit)
}

/// `VmRSS` or `VmHWM` of this process, in bytes.
fn vm(field: &str) -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn report_progress(p: &Progress) {
    let ms = p.elapsed.as_millis().max(1) as usize;
    eprintln!(
        "explorer: {:>6} s: {} states ({} states/s), {} queued, {} transitions, tables {} \
({} B/state), RSS {}",
        ms / 1000,
        p.states,
        p.states * 1000 / ms,
        p.queued,
        p.edges,
        human(p.bytes, "B"),
        p.bytes / p.states.max(1),
        human(vm("VmRSS:").unwrap_or(0), "B"),
    );
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let cfg = match cli.config() {
        Ok(cfg) => cfg,
        Err(e) => {
            use clap::CommandFactory;
            let mut cmd = Cli::command();
            cmd.error(clap::error::ErrorKind::ValueValidation, e).exit();
        }
    };
    eprintln!(
        "explorer: {} on {} CPUs, {} tasks, {} forks, {} exits, {} execs, {} affinity, {} \
switches, start {:?}, {} threads",
        cfg.variant.name(),
        cfg.cpus,
        cfg.tasks,
        cfg.forks,
        cfg.exits,
        cfg.execs,
        cfg.affinity,
        Switches(cfg.switches),
        cfg.start,
        cfg.threads
    );
    if let Some(seed) = cli.random {
        for k in 0..cli.walks {
            let s = seed.wrapping_add(k);
            let r = random_walk(&cfg, s, cli.steps, cli.spin_bound);
            if r.finding != Finding::Clean {
                print!("{}", render(&cfg.unbounded(), &r));
                println!("replay: --random {} --walks 1 --steps {}", s, cli.steps);
                return ExitCode::from(1);
            }
        }
        println!(
            "{}: {} random walks of {} steps from seed {}: no violation",
            cfg.variant.name(),
            cli.walks,
            cli.steps,
            seed
        );
        return ExitCode::SUCCESS;
    }
    let r = explore(&cfg, report_progress);
    print!("{}", render(&cfg, &r));
    if let Some(peak) = vm("VmHWM:") {
        eprintln!(
            "explorer: peak RSS {} ({} B/state)",
            human(peak, "B"),
            peak / r.states.max(1)
        );
    }
    match r.finding {
        Finding::Clean => ExitCode::SUCCESS,
        Finding::Incomplete => ExitCode::from(3),
        _ => ExitCode::from(1),
    }
}
