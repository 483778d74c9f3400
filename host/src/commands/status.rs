//! `commute status SEQ`.

use commute::Host;
use std::path::Path;

/// Print a ticket's outcome: `pending`, `done` or `trapped: MESSAGE`.
#[derive(Debug, clap::Args)]
pub(crate) struct StatusArgs {
    /// The seq `call` printed.
    seq: u64,
}

pub(crate) fn run(data_dir: &Path, args: StatusArgs) -> anyhow::Result<()> {
    let host = Host::open(data_dir)?;
    match host.status(args.seq)? {
        commute::Status::Unknown => anyhow::bail!("no call was accepted as seq {}", args.seq),
        status => println!("{status}"),
    }
    Ok(())
}
