//! `commute dump NAME`.

use super::target::{self, Target};
use std::path::Path;

/// Print a canister's stable structures as JSON, bytes as hex, in a stable order.
#[derive(Debug, clap::Args)]
pub(crate) struct DumpArgs {
    /// The canister.
    name: String,
}

pub(crate) fn run(data_dir: &Path, url: Option<&str>, args: DumpArgs) -> anyhow::Result<()> {
    let dump = match target::open(data_dir, url)? {
        Target::Local(host) => host.dump(&args.name)?,
        Target::Server(server) => server.dump(&args.name)?,
    };
    println!("{dump}");
    Ok(())
}
