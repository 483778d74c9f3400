//! `scheduler_ns_per_call`: the scheduler's own cost, without wasm.
//!
//! A batch of `sizes.scheduler_calls` calls (10,000: the host's default round size) with 3
//! keys each, drawn (seeded) from 3 keys per call, so calls share keys and the DAG has
//! edges as a busy round's does. Each
//! repetition builds the DAG (`Schedule::build`) and dispatches every call on a rayon pool
//! of the machine's cores (`Schedule::run`) with work that does nothing. The value is the
//! median time per call, in nanoseconds.

use super::progress::Progress;
use super::rng::SplitMix64;
use super::timing::{interleave, median, ms, round};
use super::Sizes;
use anyhow::Context;
use commute::schedule::Schedule;
use serde_json::{json, Value};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Keys per call.
const KEYS_PER_CALL: usize = 3;
/// The seed of the keys.
const SEED: u64 = 0x5c4e_d01e;

/// Measures `scheduler_ns_per_call`; see the module doc.
///
/// # Errors
///
/// If the pool cannot start.
pub(crate) fn measure(sizes: Sizes, threads: usize, progress: &Progress) -> anyhow::Result<Value> {
    let calls = sizes.scheduler_calls;
    progress.start("scheduler_ns_per_call", sizes.scheduler_reps + 1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()
        .context("cannot start the worker pool")?;
    let mut rng = SplitMix64::new(SEED);
    let space = (KEYS_PER_CALL * calls) as u64 + 1;
    let keys: Vec<[(&str, [u8; 8]); KEYS_PER_CALL]> = (0..calls)
        .map(|_| std::array::from_fn(|_| ("bench", rng.below(space).to_be_bytes())))
        .collect();
    let mut builds = Vec::new();
    let mut edges = 0;
    let times = interleave(sizes.scheduler_reps, 1, |turn| {
        let started = Instant::now();
        let schedule = Schedule::build(&keys);
        let built = started.elapsed();
        let (done, _) = schedule.run(&pool, black_box, false);
        let time = started.elapsed();
        black_box(done);
        if turn.rep.is_some() {
            builds.push(built);
        }
        edges = schedule.edges();
        progress.step();
        Ok::<_, anyhow::Error>(time)
    })?;
    let total = median(&times[0]);
    let build = median(&builds);
    let per_call_ns = |d: Duration| round(d.as_secs_f64() * 1e9 / calls.max(1) as f64, 1);
    Ok(json!({
        "measure": "scheduler_ns_per_call",
        "value": per_call_ns(total),
        "calls": calls,
        "keys_per_call": KEYS_PER_CALL,
        "edges": edges,
        "threads": threads,
        "reps": sizes.scheduler_reps,
        "build_ns_per_call": per_call_ns(build),
        "run_ns_per_call": per_call_ns(total.saturating_sub(build)),
        "median_ms": ms(total),
    }))
}
