//! `serve_calls_per_s`: pure calls fired at `commute serve` over loopback HTTP, at one
//! worker thread and at all of them, against the in-process submit path.
//!
//! - Subjects: two [`Server`]s on temporary hosts with the logger installed, one with one
//!   worker thread and one with the machine's cores, and [`CLIENTS`] keep-alive client
//!   connections, each firing its share of a batch of `logger.log` calls one request at a
//!   time (as a service logging events does), each answered with its seq once durable; one
//!   thread drives them all, as `wrk` does (`bench/load.rs`). The
//!   server runs rounds on the same machine meanwhile. Accepted calls per second over the
//!   batch; each request's time to durable (send → seq) goes into `p50_ms` / `p99_ms` over
//!   every timed request, per server.
//! - Baseline: the same calls through [`commute::Host::submit`] in process, one at a time,
//!   each checked, queued and flushed before it returns (no rounds run while timed).
//!
//! `value` is the all-cores server's calls per second; `ratio` is that ÷ the baseline's
//! (medians of interleaved repetitions): what HTTP and the server's threads cost, or gain
//! by group commit, per accepted call; `speedup` is the all-cores server's calls per
//! second ÷ the one-thread server's.

use super::batch::host_with;
use super::load::Load;
use super::progress::Progress;
use super::rng::SplitMix64;
use super::timing::{interleave, median, ms, per_s, speedup};
use super::Sizes;
use anyhow::Context;
use candid::Principal;
use commute::submit::Args;
use commute::Config;
use commute_examples::LOGGER;
use commute_serve::client::Client;
use commute_serve::{Server, Signals};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Client threads firing at the server, each with its own keep-alive connection.
pub(crate) const CLIENTS: usize = 64;
/// Users the calls log for.
const USERS: u64 = 256;
/// The seed of the users.
const SEED: u64 = 0x5e_2e5e_2e5e;

/// Measures `serve_calls_per_s`; see the module doc.
///
/// # Errors
///
/// If a host, the server or a request fails.
pub(crate) fn measure(sizes: Sizes, progress: &Progress) -> anyhow::Result<Value> {
    let calls = sizes.serve_calls;
    progress.start("serve_calls_per_s", 3 * (sizes.reps + 1));
    let mut rng = SplitMix64::new(SEED);
    let mut next_event = 0u64;
    let mut draw = |rng: &mut SplitMix64| -> Vec<Vec<u8>> {
        (0..calls)
            .map(|_| {
                let user = Principal::from_slice(&rng.below(USERS).to_le_bytes());
                next_event += 1;
                let event = format!("event {next_event}");
                candid::encode_args((user, event)).expect("a principal and a text encode")
            })
            .collect()
    };

    let threads = Config::default().threads;
    let mut servers = [1, threads]
        .into_iter()
        .map(|threads| {
            let config = Config {
                threads,
                ..Config::default()
            };
            let server = Server::start(
                host_with(&LOGGER, config)?,
                "127.0.0.1:0".parse().expect("an address"),
                Signals::Ignore,
            )?;
            let client = Client::new(&server.url());
            let load = Load::new(&server.url(), CLIENTS)?;
            Ok((server, client, load))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut local = host_with(&LOGGER, Config::default())?;
    let mut latencies = [Vec::new(), Vec::new()];
    let path = format!(
        "/submit/{}/log?caller={}",
        LOGGER.name,
        Principal::anonymous().to_text()
    );
    let times = interleave(sizes.reps, 3, |turn| {
        let args = draw(&mut rng);
        let time = if let Some((_, client, load)) = servers.get_mut(turn.subject) {
            let (elapsed, answered) = load.fire(&path, &args)?;
            let last = answered.iter().map(|&(_, seq)| seq).max().unwrap_or(0);
            if turn.rep.is_some() {
                latencies[turn.subject].extend(answered.into_iter().map(|(time, _)| time));
            }
            // Untimed: let the server's rounds finish, so they do not run beside the
            // next subject.
            while client
                .status(last, Some(Duration::from_secs(60)))?
                .is_pending()
            {}
            elapsed
        } else {
            let started = Instant::now();
            for arg in &args {
                local.submit(
                    LOGGER.name,
                    "log",
                    Args::Binary(arg),
                    Principal::anonymous(),
                )?;
            }
            let elapsed = started.elapsed();
            local.tick(|_| {})?; // untimed: keep the queue short
            elapsed
        };
        progress.step();
        Ok::<_, anyhow::Error>(time)
    })?;
    for (server, _, _) in servers {
        server.stop().context("stopping the server")?;
    }
    let (one, all, in_process) = (median(&times[0]), median(&times[1]), median(&times[2]));
    let at = |latencies: &mut Vec<Duration>, q: f64| {
        latencies.sort_unstable();
        let i = ((latencies.len() as f64 - 1.0) * q).round() as usize;
        ms(latencies.get(i).copied().unwrap_or_default())
    };
    let [mut lat_1, mut lat_n] = latencies;
    Ok(json!({
        "measure": "serve_calls_per_s",
        "value": per_s(calls, all),
        "ratio": speedup(in_process, all),
        "speedup": speedup(one, all),
        "calls": calls,
        "clients": CLIENTS,
        "reps": sizes.reps,
        "threads": threads,
        "calls_per_s_1": per_s(calls, one),
        "calls_per_s_n": per_s(calls, all),
        "in_process_calls_per_s": per_s(calls, in_process),
        "p50_ms_1": at(&mut lat_1, 0.5),
        "p99_ms_1": at(&mut lat_1, 0.99),
        "p50_ms": at(&mut lat_n, 0.5),
        "p99_ms": at(&mut lat_n, 0.99),
    }))
}
