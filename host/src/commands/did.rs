//! `commute did check FILE.did`: validate a `.did` and print its standard form.

use anyhow::Context;
use clap::Subcommand;
use commute_did::Did;
use std::io::Write;
use std::path::PathBuf;

/// `commute did ...`
#[derive(Debug, Subcommand)]
pub(crate) enum DidCommand {
    /// Check a `.did` (with `pure_update key(...)`) and print the standard `.did` that stock
    /// Candid tools accept: each pure method as `oneway` under `// @pure_update key(...)`.
    Check {
        /// The `.did` file.
        file: PathBuf,
    },
}

pub(crate) fn run(cmd: DidCommand) -> anyhow::Result<()> {
    match cmd {
        DidCommand::Check { file } => {
            let name = file.display().to_string();
            let src = super::read_capped(&file, super::MAX_DID_FILE, "`.did` file")?;
            let src = String::from_utf8(src).with_context(|| format!("{name}: not UTF-8"))?;
            let did = Did::parse(&name, &src)?;
            std::io::stdout()
                .write_all(did.standard().as_bytes())
                .context("cannot write to stdout")?;
            Ok(())
        }
    }
}
