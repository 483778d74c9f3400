//! `commute tick [--threads N] [--round-size N] [--checkpoint-bytes N]`.

use super::round_args::RoundArgs;
use super::target;
use anyhow::Context;
use commute::{round, Config, Host};
use std::io::Write;
use std::path::Path;

/// Run rounds until nothing is pending; print one JSON object per round (with nothing
/// pending, none, and `nothing pending` on stderr).
#[derive(Debug, clap::Args)]
pub(crate) struct TickArgs {
    #[command(flatten)]
    rounds: RoundArgs,
}

pub(crate) fn run(data_dir: &Path, url: Option<&str>, args: TickArgs) -> anyhow::Result<()> {
    if let Some(server) = target::server(data_dir, url)? {
        anyhow::bail!(
            "no tick needed: the commute serve at {} owns this dir and runs rounds as calls arrive",
            server.url()
        );
    }
    target::existing(data_dir)?;
    let mut host = Host::open_with(data_dir, args.rounds.apply(Config::default()))?;
    // Not locked for the whole tick: the report runs on a worker of the host's pool, and a
    // lock stays on the thread that took it.
    let mut out = std::io::stdout();
    let mut failed = None;
    let mut rounds = 0u64;
    let mut trapped = Vec::new();
    host.tick(|report| {
        rounds += 1;
        trapped.extend_from_slice(&report.trapped_seqs);
        // Each round is committed and flushed before it is reported; print it as it lands.
        let line = serde_json::to_string(report).expect("a report serializes");
        if let Err(e) = writeln!(out, "{line}").and_then(|()| out.flush()) {
            failed.get_or_insert(e);
        }
    })?;
    if let Some(e) = failed {
        return Err(e).context("cannot write to stdout");
    }
    // A trap is the call's outcome, not the tick's failure; but say which, and why, where
    // a person reads it rather than in the JSON alone.
    for seq in trapped.iter().take(round::TRAPPED_LISTED) {
        eprintln!("seq {seq} {}", host.status(*seq)?);
    }
    // Without it, an empty queue and a tick that did not run look the same to its user;
    // stdout stays empty for scripts reading one line per round.
    if rounds == 0 {
        eprintln!("nothing pending");
    }
    Ok(())
}
