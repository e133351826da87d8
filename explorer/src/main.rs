// SPDX-License-Identifier: GPL-2.0

//! `explorer`: search the interleavings of one mm_cid configuration.
//!
//! Exit status: 0 exhausted without violation, 1 violation found (trace
//! printed), 2 usage error, 3 state bound reached before the end.

use explorer::scenario::{Config, Scenario};
use explorer::search::{explore, random_walk, Finding};
use explorer::trace::render;
use mmcid_model::Variant;
use std::process::ExitCode;

fn usage() -> &'static str {
    "usage: explorer [--variant v7.3|pre-fix|no-transit] [--cpus N] [--tasks M]
                [--forks F] [--exits E] [--switches K]
                [--scenario bpf-ci|changelog|cpu-to-task]
                [--random SEED [--walks K] [--steps S] [--spin-bound B]]

Explores every interleaving of schedule in/out, migration, fork (with its
mode switch and fixup walk, one runqueue lock at a time) and exit, and
reports a live lock, a duplicate or out-of-range CID, a fault of the C
code, or a mode transition left unfinished.  With --random, runs K seeded
random walks instead; a failure prints the seed that replays it.

The search is exhaustive up to K context switches (default 8, 255 = no
bound); deciding whether a spinning CPU is live locked is not bounded.

Defaults: --variant v7.3 --scenario bpf-ci --cpus 4.
Environment: MMCID_EXPLORER_MAX_STATES (default 20000000).
Exit status: 0 clean, 1 violation (trace printed), 2 usage, 3 incomplete."
}

struct Args {
    cfg: Config,
    random: Option<u64>,
    walks: u64,
    steps: usize,
    spin_bound: usize,
}

fn parse() -> Result<Args, String> {
    let mut variant = Variant::V7_3;
    let mut scenario = Some(Scenario::BpfCi);
    let mut cpus = 4u32;
    let (mut tasks, mut forks, mut exits, mut switches) = (None, None, None, None);
    let mut a = Args {
        cfg: Config::new(variant),
        random: None,
        walks: 100,
        steps: 10_000,
        spin_bound: 1000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let (key, inline) = match arg.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (arg.clone(), None),
        };
        if key == "-h" || key == "--help" {
            println!("{}", usage());
            std::process::exit(0);
        }
        let val = match inline {
            Some(v) => v,
            None => it.next().ok_or_else(|| format!("{} needs a value", key))?,
        };
        let num = |v: &str| {
            v.parse::<u64>()
                .map_err(|_| format!("{}: not a number: {}", key, v))
        };
        match key.as_str() {
            "--variant" => {
                variant =
                    Variant::from_name(&val).ok_or_else(|| format!("unknown variant {}", val))?
            }
            "--scenario" => {
                scenario = Some(
                    Scenario::from_name(&val).ok_or_else(|| format!("unknown scenario {}", val))?,
                )
            }
            "--cpus" => cpus = num(&val)? as u32,
            "--tasks" => tasks = Some(num(&val)? as u32),
            "--forks" => forks = Some(num(&val)? as u8),
            "--exits" => exits = Some(num(&val)? as u8),
            "--switches" => switches = Some(num(&val)?.min(255) as u8),
            "--random" => a.random = Some(num(&val)?),
            "--walks" => a.walks = num(&val)?,
            "--steps" => a.steps = num(&val)? as usize,
            "--spin-bound" => a.spin_bound = num(&val)? as usize,
            _ => return Err(format!("unknown option {}", key)),
        }
    }
    let mut cfg = Config::new(variant).from_env();
    if let Some(sc) = scenario {
        cfg = cfg.scenario(sc, cpus);
    }
    cfg.cpus = cpus;
    cfg.tasks = tasks.unwrap_or(cfg.tasks.min(cpus));
    cfg.forks = forks.unwrap_or(cfg.forks);
    cfg.exits = exits.unwrap_or(cfg.exits);
    cfg.switches = switches.unwrap_or(cfg.switches);
    cfg.validate()?;
    a.cfg = cfg;
    Ok(a)
}

fn main() -> ExitCode {
    let a = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("explorer: {}\n\n{}", e, usage());
            return ExitCode::from(2);
        }
    };
    let cfg = a.cfg;
    eprintln!(
        "explorer: {} on {} CPUs, {} tasks, {} forks, {} exits, {} switches, start {:?}",
        cfg.variant.name(),
        cfg.cpus,
        cfg.tasks,
        cfg.forks,
        cfg.exits,
        cfg.switches,
        cfg.start
    );
    if let Some(seed) = a.random {
        for k in 0..a.walks {
            let s = seed.wrapping_add(k);
            let r = random_walk(&cfg, s, a.steps, a.spin_bound);
            if r.finding != Finding::Clean {
                print!("{}", render(&cfg.unbounded(), &r));
                println!("replay: --random {} --walks 1 --steps {}", s, a.steps);
                return ExitCode::from(1);
            }
        }
        println!(
            "{}: {} random walks of {} steps from seed {}: no violation",
            cfg.variant.name(),
            a.walks,
            a.steps,
            seed
        );
        return ExitCode::SUCCESS;
    }
    let r = explore(&cfg, |states, queued| {
        eprintln!("explorer: {} states, {} queued", states, queued);
    });
    print!("{}", render(&cfg, &r));
    match r.finding {
        Finding::Clean => ExitCode::SUCCESS,
        Finding::Incomplete => ExitCode::from(3),
        _ => ExitCode::from(1),
    }
}
