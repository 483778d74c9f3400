//! `speedup_tiny`: the logging case, tiny pure calls, at N threads against 1.
//!
//! - Subject: a batch of `logger.log(user, event)` calls, every call its own user (so the
//!   DAG has no edge and each call writes its own counter entry, map entry and list
//!   element), on a host with N worker threads, taken as rounds of
//!   [`ROUND_CALLS`](super::speedup::ROUND_CALLS) calls as a backlog is (pipelined
//!   [`Host::tick`](commute::Host::tick)). Submitted untimed; the tick is timed.
//! - Baseline: the same batch on a host with 1 thread.
//!
//! Repetitions interleave the two hosts; the ratio is the median time at 1 thread over the
//! median at N. Unlike `speedup_uniform`'s ~50 µs calls, a call here costs a few µs of
//! guest work, so the ratio is bound by the part of a round that does not run on every
//! worker: the commit's serial part.

use super::batch::{host_with, run_calls, OwnUsers, Ticking};
use super::progress::Progress;
use super::speedup::ROUND_CALLS;
use super::timing::{interleave, median, ms, per_s, speedup};
use super::Sizes;
use commute::Config;
use commute_examples::LOGGER;
use serde_json::{json, Value};

/// Measures `speedup_tiny` at `threads` against 1; see the module doc.
///
/// # Errors
///
/// If a host fails or a call traps.
pub(crate) fn measure(sizes: Sizes, threads: usize, progress: &Progress) -> anyhow::Result<Value> {
    let calls = 3 * sizes.e2e_calls;
    progress.start("speedup_tiny", 2 * (sizes.reps + 1));
    let mut users = OwnUsers::default();
    let config = |threads| Config {
        threads,
        max_round_calls: ROUND_CALLS,
        ..Config::default()
    };
    let mut hosts = [
        host_with(&LOGGER, config(1))?,
        host_with(&LOGGER, config(threads))?,
    ];
    let times = interleave(sizes.reps, 2, |turn| {
        let args = users.draw(calls);
        let host = &mut hosts[turn.subject];
        let (_, tick) = run_calls(host, LOGGER.name, "log", &args, Ticking::Pipelined)?;
        progress.step();
        Ok::<_, anyhow::Error>(tick)
    })?;
    let (one, many) = (median(&times[0]), median(&times[1]));
    Ok(json!({
        "measure": "speedup_tiny",
        "ratio": speedup(one, many),
        "threads": threads,
        "calls": calls,
        "reps": sizes.reps,
        "median_ms_1": ms(one),
        "median_ms_n": ms(many),
        "calls_per_s_1": per_s(calls, one),
        "calls_per_s_n": per_s(calls, many),
    }))
}
