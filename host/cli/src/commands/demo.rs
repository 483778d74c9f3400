//! `commute demo`: the idea in one command, on an embedded store in a temporary directory.
//!
//! It installs the example canisters, queues thousands of calls whose keys collide (logger
//! events from a few users, transfers between a few accounts that each fire a child call
//! to the logger, CPU-bound analytics work), then runs the *same* queue — copied byte
//! for byte, so every call carries the same seq and time — on one thread and on every core,
//! three times each, and shows the speedup, that the two state roots are equal, and a few
//! values read back with queries. Then it does the same for the logging case alone: tiny
//! `logger.log` calls, each from its own user, with their own speedup and, when it is
//! smaller, why.

use anyhow::{ensure, Context};
use commute::submit::Args;
use commute::{Config, Host, Principal};
use commute_examples::{Canister, ANALYTICS, AUDIT, LOGGER};
use std::path::Path;
use std::time::{Duration, Instant};

/// Run the example canisters under load, at 1 thread and at all cores.
#[derive(Debug, clap::Args)]
pub(crate) struct DemoArgs {
    /// Logger events to fire (from 50 users).
    #[arg(long, default_value_t = 3000)]
    events: u32,
    /// Transfers to record (between 40 accounts; each logs to the logger too).
    #[arg(long, default_value_t = 1000)]
    transfers: u32,
    /// CPU-bound analytics calls (over 200 keys).
    #[arg(long, default_value_t = 2000)]
    work: u32,
    /// Tiny logging calls for the second run, the logging case: logger.log, every call
    /// from its own user.
    #[arg(long, default_value_t = 5000)]
    tiny: u32,
}

fn principal(kind: u8, i: u32) -> Principal {
    let mut bytes = vec![kind];
    bytes.extend_from_slice(&i.to_be_bytes());
    Principal::from_slice(&bytes)
}

fn install(host: &mut Host, c: &Canister) -> anyhow::Result<()> {
    host.install(c.name, c.wasm, c.did_file(), None)
        .with_context(|| format!("installing the {} example", c.name))
}

/// Keys the demo used, to read back: a user, an account, a work key.
struct Sample {
    user: Principal,
    account: Principal,
    work_key: u32,
}

/// Fills `dir` with the installed examples and the queued calls; returns how many, and
/// keys worth reading back.
fn prepare(dir: &Path, args: &DemoArgs) -> anyhow::Result<(usize, Sample)> {
    let mut texts: Vec<(&str, &str, String)> = Vec::new();
    let mut sample = Sample {
        user: principal(1, 0),
        account: principal(2, 0),
        work_key: 0,
    };
    // A small LCG: the demo is the same on every run.
    let mut seed = 0x00c0_ffee_u64;
    let mut next = |n: u32| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((seed >> 33) % u64::from(n)) as u32
    };
    for i in 0..args.events {
        let user = principal(1, next(50));
        sample.user = user;
        texts.push((
            "logger",
            "log",
            format!("(principal \"{user}\", \"event {i}\")"),
        ));
    }
    for _ in 0..args.transfers {
        let (from, to) = (principal(2, next(40)), principal(2, next(40)));
        sample.account = from;
        let amount = 1 + next(1000);
        let text = format!("(principal \"{from}\", principal \"{to}\", {amount})");
        texts.push(("audit", "record", text));
    }
    for _ in 0..args.work {
        sample.work_key = next(200);
        texts.push(("analytics", "work", format!("({}, 4000)", sample.work_key)));
    }
    Ok((queue(dir, &texts)?, sample))
}

/// Fills `dir` with the logging case: `calls` tiny `logger.log` calls, each from its own
/// user, so no two share a key. Returns how many.
fn prepare_tiny(dir: &Path, calls: u32) -> anyhow::Result<usize> {
    let texts: Vec<(&str, &str, String)> = (0..calls)
        .map(|i| {
            let user = principal(4, i);
            (
                "logger",
                "log",
                format!("(principal \"{user}\", \"event {i}\")"),
            )
        })
        .collect();
    queue(dir, &texts)
}

/// Installs the examples in a new host in `dir` and queues `texts` (canister, method,
/// Candid text); returns how many.
fn queue(dir: &Path, texts: &[(&str, &str, String)]) -> anyhow::Result<usize> {
    let mut host = Host::open(dir)?;
    for c in [&LOGGER, &AUDIT, &ANALYTICS] {
        install(&mut host, c)?;
    }
    let calls: Vec<_> = texts
        .iter()
        .map(|(c, m, t)| (*c, *m, Args::Text(t), principal(3, 0)))
        .collect();
    host.submit_batch(&calls)?;
    Ok(calls.len())
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// Ticks the host in `dir` on `threads` threads until nothing is pending.
fn tick_on(dir: &Path, threads: usize) -> anyhow::Result<(Host, usize, Duration)> {
    let config = Config {
        threads,
        ..Config::default()
    };
    let mut host = Host::open_with(dir, config)?;
    // Compile the modules before the clock starts: the demo times rounds, not cranelift.
    host.query(
        "logger",
        "events_len",
        Args::Text("()"),
        Principal::anonymous(),
    )?;
    for name in ["audit", "analytics"] {
        if let Some(c) = host.registry().get(name) {
            c.compiled(host.engine())?;
        }
    }
    let started = Instant::now();
    let mut calls = 0;
    host.tick(|r| calls += r.calls)?;
    Ok((host, calls, started.elapsed()))
}

/// How many times each side is timed. One run is a fraction of a second, so a single
/// timing swings with the machine: the sides alternate and each shows its median.
const REPS: usize = 3;

/// Runs the queue in `dir` on one thread and on `cores`, [`REPS`] times each, alternating,
/// each time from a byte-for-byte copy; prints both medians and the speedup, and checks
/// that every run reached the same root. Returns the last host that ran on every core.
fn side_by_side(dir: &Path, cores: usize) -> anyhow::Result<(Host, Run)> {
    let mut times: [Vec<Duration>; 2] = [Vec::new(), Vec::new()];
    let mut last: [Option<(Host, usize)>; 2] = [None, None];
    for rep in 0..REPS {
        for (side, threads) in [1, cores].into_iter().enumerate() {
            let copy = dir.with_extension(format!("{rep}-{side}"));
            copy_dir(dir, &copy).context("cannot copy the data dir")?;
            let (host, calls, took) = tick_on(&copy, threads)?;
            if let Some((first, first_calls)) = last.iter().flatten().next() {
                ensure!(
                    host.root() == first.root() && calls == *first_calls,
                    "the roots differ: parallel execution did not match sequential execution"
                );
            }
            times[side].push(took);
            last[side] = Some((host, calls));
        }
    }
    let median = |mut t: Vec<Duration>| {
        t.sort();
        t[t.len() / 2]
    };
    let [t_one, t_all] = times.map(median);
    let [Some((one, calls_one)), Some((all, calls_all))] = last else {
        unreachable!("every side ran REPS > 0 times");
    };
    let rate = |calls: usize, t: Duration| calls as f64 / t.as_secs_f64().max(1e-9);
    println!(
        "  1 thread:    {calls_one} calls in {:.3} s = {:.0} calls/s   root {}",
        t_one.as_secs_f64(),
        rate(calls_one, t_one),
        one.root()
    );
    println!(
        "  {cores} threads:   {calls_all} calls in {:.3} s = {:.0} calls/s   root {}",
        t_all.as_secs_f64(),
        rate(calls_all, t_all),
        all.root()
    );
    let speedup = t_one.as_secs_f64() / t_all.as_secs_f64().max(1e-9);
    println!(
        "  speedup {speedup:.2}x on {cores} cores (medians of {REPS} runs each); the state roots are equal"
    );
    let micros_per_call = t_one.as_secs_f64() * 1e6 / calls_one.max(1) as f64;
    Ok((
        all,
        Run {
            speedup,
            micros_per_call,
        },
    ))
}

/// What [`side_by_side`] measured.
struct Run {
    /// 1 thread's time ÷ every core's.
    speedup: f64,
    /// A call's time at 1 thread, in µs.
    micros_per_call: f64,
}

pub(crate) fn run(args: DemoArgs) -> anyhow::Result<()> {
    let tmp = tempfile::tempdir().context("cannot make a temporary directory")?;
    let (mixed_dir, tiny_dir) = (tmp.path().join("mixed"), tmp.path().join("tiny"));
    let (queued, sample) = prepare(&mixed_dir, &args)?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    println!(
        "commute demo: the same {queued} queued pure calls (and the {} child calls they fire), \
         on one thread and on every core",
        args.transfers
    );
    println!(
        "  {} logger.log from 50 users (key: user), {} audit.record between 40 accounts \
         (keys: from, to; each fires a child call to logger.log), {} analytics.work over \
         200 keys (CPU-bound)",
        args.events, args.transfers, args.work
    );
    let (all, mixed) = side_by_side(&mixed_dir, cores)?;

    let tiny = prepare_tiny(&tiny_dir, args.tiny)?;
    println!(
        "the logging case: {tiny} tiny logger.log calls, each from its own user, the same way"
    );
    let (_, logging) = side_by_side(&tiny_dir, cores)?;
    if logging.speedup < mixed.speedup {
        println!(
            "  why less: a tiny call costs {:.1} µs at 1 thread (the mix's calls {:.1} µs), so \
             a round's serial part (taking calls from the queue, the commit, its flush), \
             which one core runs, is a bigger share of it; and around each call the \
             commit does work of about the call's own size (three lattice digests, five \
             records), which cores sharing caches and memory do slower side by side \
             (`commute bench` shows the bare wasmtime loop's own speedup on such calls: \
             `wasmtime_ratio` of `speedup_tiny`)",
            logging.micros_per_call, mixed.micros_per_call
        );
    } else {
        println!("  tiny calls gain as much as the mix's");
    }

    let q = |canister: &str, method: &str, arg: String| -> anyhow::Result<String> {
        Ok(all
            .query(canister, method, Args::Text(&arg), Principal::anonymous())?
            .text
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "))
    };
    let (user, account, key) = (sample.user, sample.account, sample.work_key);
    println!("  read back with queries:");
    println!(
        "    logger.events_len()          = {}",
        q("logger", "events_len", "()".into())?
    );
    println!(
        "    logger.count({user}) = {}",
        q("logger", "count", format!("(principal \"{user}\")"))?
    );
    println!(
        "    audit.sent({account})  = {}",
        q("audit", "sent", format!("(principal \"{account}\")"))?
    );
    println!(
        "    audit.transfers_len()        = {}",
        q("audit", "transfers_len", "()".into())?
    );
    println!(
        "    analytics.work_done({key})     = {}",
        q("analytics", "work_done", format!("({key})"))?
    );
    Ok(())
}
