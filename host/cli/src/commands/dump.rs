//! `commute dump NAME [--hex]`.

use super::target::{self, Target};
use std::path::Path;

/// Print a canister's stable structures as JSON, in a stable order: names, keys and values
/// as text where they are printable UTF-8, else as `0x` and hex.
#[derive(Debug, clap::Args)]
pub(crate) struct DumpArgs {
    /// The canister: its name or its id (`commute id NAME`).
    name: String,
    /// Every name, key and value in hex, on one line: the form the HTTP API serves.
    #[arg(long)]
    hex: bool,
}

pub(crate) fn run(data_dir: &Path, url: Option<&str>, args: DumpArgs) -> anyhow::Result<()> {
    // Both a local host and a server give the hex form; the readable one is made from it
    // here, so that it reads the same either way.
    let dump = match target::open(data_dir, url)? {
        Target::Local(host) => {
            // A canister id names the canister installed with it.
            let name = host.registry().resolve(&args.name).unwrap_or(&args.name);
            host.dump(name)?
        }
        Target::Server(server) => server
            .dump(&args.name)
            .map_err(|e| target::operator(e, data_dir))?,
    };
    if args.hex {
        println!("{dump}");
    } else {
        let readable = commute::dump::readable(&dump)?;
        println!("{}", serde_json::to_string_pretty(&readable)?);
    }
    Ok(())
}
