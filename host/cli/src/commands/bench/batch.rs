//! Hosts for the measures, and running a batch of calls through one.

use anyhow::{bail, Context};
use candid::Principal;
use commute::round::RoundReport;
use commute::submit::Args;
use commute::{Config, Host};
use commute_examples::Canister;
use std::time::{Duration, Instant};

/// A host on a temporary directory, with `config`, and `canister` installed.
///
/// # Errors
///
/// If the host cannot start or the install is refused.
pub(crate) fn host_with(canister: &Canister, config: Config) -> anyhow::Result<Host> {
    let mut host = Host::temporary_with(config).context("cannot start a host")?;
    host.install(canister.name, canister.wasm, canister.did_file(), None)
        .with_context(|| format!("cannot install the {} canister", canister.name))?;
    Ok(host)
}

/// How a submitted batch is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ticking {
    /// [`Host::tick`], as `commute tick` runs a backlog: pipelined rounds, which shrink as
    /// the backlog does.
    Pipelined,
    /// [`Host::tick_round`] until nothing is pending: each round as big as the host's
    /// `max_round_calls` allows, and committed before the next runs.
    Serial,
}

/// Submits `args` (Candid bytes) as calls of `canister.method` in one batch, then runs
/// rounds until nothing is pending, as `ticking` says. Returns how long the submit took
/// (checks, queueing, one flush) and how long the rounds took (execution, merge, commit,
/// flushes).
///
/// # Errors
///
/// If the submit or a round fails, or a call traps: a measure must not time failures.
pub(crate) fn run_calls(
    host: &mut Host,
    canister: &str,
    method: &str,
    args: &[Vec<u8>],
    ticking: Ticking,
) -> anyhow::Result<(Duration, Duration)> {
    let calls: Vec<_> = args
        .iter()
        .map(|a| (canister, method, Args::Binary(a), Principal::anonymous()))
        .collect();
    let started = Instant::now();
    host.submit_batch(&calls)?;
    let submitted = Instant::now();
    let (mut ran, mut trapped) = (0, 0);
    let mut count = |report: &RoundReport| {
        ran += report.calls;
        trapped += report.trapped;
    };
    match ticking {
        Ticking::Pipelined => {
            host.tick(count)?;
        }
        Ticking::Serial => {
            while let Some(report) = host.tick_round()? {
                count(&report);
            }
        }
    }
    let ticked = submitted.elapsed();
    if trapped > 0 || ran != args.len() {
        bail!(
            "{canister}.{method}: {trapped} of {ran} calls trapped ({} submitted)",
            args.len()
        );
    }
    Ok((submitted - started, ticked))
}

/// The arguments of `logger.log(user, event)` calls in which every call is its own user:
/// the logging case, each call writing a counter entry, a map entry and a list element of
/// its own. Users are numbered on from one batch to the next.
#[derive(Debug, Default)]
pub(crate) struct OwnUsers {
    last: u64,
}

impl OwnUsers {
    /// The next `calls` calls' Candid arguments.
    pub(crate) fn draw(&mut self, calls: usize) -> Vec<Vec<u8>> {
        (0..calls)
            .map(|_| {
                self.last += 1;
                let id = blake3::hash(&self.last.to_le_bytes());
                let user = Principal::from_slice(&id.as_bytes()[..10]);
                candid::encode_args((user, format!("event {}", self.last)))
                    .expect("a principal and a text encode")
            })
            .collect()
    }
}
