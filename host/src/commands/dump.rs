//! `commute dump NAME`.

use commute::Host;
use std::path::Path;

/// Print a canister's stable structures as JSON, bytes as hex, in a stable order.
#[derive(Debug, clap::Args)]
pub(crate) struct DumpArgs {
    /// The canister.
    name: String,
}

pub(crate) fn run(data_dir: &Path, args: DumpArgs) -> anyhow::Result<()> {
    let host = Host::open(data_dir)?;
    println!("{}", host.dump(&args.name)?);
    Ok(())
}
