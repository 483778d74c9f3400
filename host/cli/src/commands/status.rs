//! `commute status SEQ`.

use super::target::{self, Target};
use std::path::Path;

/// Print a ticket's outcome: `pending`, `done` or `trapped: MESSAGE`.
#[derive(Debug, clap::Args)]
pub(crate) struct StatusArgs {
    /// The seq `call` printed.
    seq: u64,
}

pub(crate) fn run(data_dir: &Path, url: Option<&str>, args: StatusArgs) -> anyhow::Result<()> {
    let host = match target::open(data_dir, url)? {
        Target::Local(host) => host,
        Target::Server(server) => {
            println!("{}", server.status(args.seq, None)?);
            return Ok(());
        }
    };
    match host.status(args.seq)? {
        commute::Status::Unknown => anyhow::bail!("no call was accepted as seq {}", args.seq),
        status => println!("{status}"),
    }
    Ok(())
}
