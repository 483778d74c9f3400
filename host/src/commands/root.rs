//! `commute root`.

use commute::Host;
use std::path::Path;

/// Print the state root, 64 hex characters.
#[derive(Debug, clap::Args)]
pub(crate) struct RootArgs {}

pub(crate) fn run(data_dir: &Path, _args: RootArgs) -> anyhow::Result<()> {
    println!("{}", Host::open(data_dir)?.root().to_hex());
    Ok(())
}
