//! `speedup_tiny`: the logging case, tiny pure calls, at N threads against 1.
//!
//! - Subject: a batch of `logger.log(user, event)` calls, every call its own user (so the
//!   DAG has no edge and each call writes its own counter entry, map entry and list
//!   element), on a host with N worker threads, taken as rounds of
//!   [`ROUND_CALLS`](super::speedup::ROUND_CALLS) calls as a backlog is (pipelined
//!   [`Host::tick`](commute::Host::tick)). Submitted untimed; the tick is timed.
//! - Baseline: the same batch on a host with 1 thread.
//! - Ceiling: the same calls in the bare wasmtime loop ([`Bare`]), spread over a rayon pool
//!   of 1 and of N threads: `wasmtime_ratio`, the speedup that instantiation, the guest
//!   and the machine leave for calls this small, whatever the host does.
//!
//! Repetitions interleave the two hosts and the two bare pools; the ratio is the host's
//! median time at 1 thread over its median at N. Unlike `speedup_uniform`'s ~50 µs calls,
//! a call here costs a few µs of guest work, so the ratio is bound by the part of a round
//! that does not run on every worker, the commit's serial part, and by what the cores
//! share: a logging call resets its instance's memory (two 64 KiB pages) and writes a
//! few table entries, and two cores doing that at once each go slower than one alone
//! (`wasmtime_ratio`).

use super::batch::{host_with, run_calls, OwnUsers, Ticking};
use super::overhead::Bare;
use super::progress::Progress;
use super::speedup::ROUND_CALLS;
use super::timing::{interleave, median, ms, per_s, speedup};
use super::Sizes;
use anyhow::Context;
use commute::execute::Limits;
use commute::Config;
use commute_examples::LOGGER;
use serde_json::{json, Value};

/// Measures `speedup_tiny` at `threads` against 1; see the module doc.
///
/// # Errors
///
/// If a host or a worker pool fails, or a call traps.
pub(crate) fn measure(sizes: Sizes, threads: usize, progress: &Progress) -> anyhow::Result<Value> {
    let calls = 3 * sizes.e2e_calls;
    progress.start("speedup_tiny", 4 * (sizes.reps + 1));
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
    let bare = Bare::new(LOGGER.wasm, Limits::default().fuel)?;
    let pools = [1, threads]
        .into_iter()
        .map(|threads| rayon::ThreadPoolBuilder::new().num_threads(threads).build())
        .collect::<Result<Vec<_>, _>>()
        .context("cannot start the bare loop's worker pools")?;
    // Subjects 0 and 1 are the hosts, 2 and 3 the bare loops.
    let times = interleave(sizes.reps, 4, |turn| {
        let args = users.draw(calls);
        let time = match hosts.get_mut(turn.subject) {
            Some(host) => run_calls(host, LOGGER.name, "log", &args, Ticking::Pipelined)?.1,
            None => bare.call_all(&pools[turn.subject - 2], "canister_update log", &args)?,
        };
        progress.step();
        Ok::<_, anyhow::Error>(time)
    })?;
    let (one, many) = (median(&times[0]), median(&times[1]));
    let (bare_one, bare_many) = (median(&times[2]), median(&times[3]));
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
        "wasmtime_ratio": speedup(bare_one, bare_many),
        "bare_calls_per_s_1": per_s(calls, bare_one),
        "bare_calls_per_s_n": per_s(calls, bare_many),
    }))
}
