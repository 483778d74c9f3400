//! `commute root`.

use super::target::{self, Target};
use std::path::Path;

/// Print the state root, 64 hex characters.
#[derive(Debug, clap::Args)]
pub(crate) struct RootArgs {}

pub(crate) fn run(data_dir: &Path, url: Option<&str>, _args: RootArgs) -> anyhow::Result<()> {
    let root = match target::open(data_dir, url)? {
        Target::Local(host) => host.root().to_hex(),
        Target::Server(server) => server.root()?,
    };
    println!("{root}");
    Ok(())
}
