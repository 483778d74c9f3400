//! `commute did check FILE.did`: validate a `.did` and print its standard form.
//! `commute did extract W.wasm`: print the `.did` a wasm carries, as `candid-extractor`
//! does for ic-cdk canisters.

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
    /// Print the `.did` a wasm carries, in the standard form: its `icp:public
    /// candid:service` section, else the one its `export_candid!()` derives (run on a
    /// temporary host), as `commute install` without `--did` takes it.
    Extract {
        /// The wasm module.
        wasm: PathBuf,
    },
}

pub(crate) fn run(cmd: DidCommand) -> anyhow::Result<()> {
    match cmd {
        DidCommand::Check { file } => {
            let name = file.display().to_string();
            let src = super::read_capped(&file, super::MAX_DID_FILE, "`.did` file")?;
            let src = String::from_utf8(src).with_context(|| format!("{name}: not UTF-8"))?;
            let did = Did::parse(&name, &src)?;
            print(&did)
        }
        DidCommand::Extract { wasm } => {
            let bytes = super::read_capped(&wasm, super::MAX_WASM_FILE, "module")?;
            // The name only labels errors, as the file's: `mycan.wasm (…)`.
            let name = wasm
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "canister".into());
            let host = commute::Host::temporary()?;
            let did = host.wasm_did(&name, &bytes).map_err(|e| match e {
                // Nothing is installed: the reason, about the file.
                commute::HostError::Install { reason, .. } => {
                    anyhow::anyhow!("{}: {reason}", wasm.display())
                }
                other => anyhow::anyhow!("{}: {other}", wasm.display()),
            })?;
            print(&did)
        }
    }
}

fn print(did: &Did) -> anyhow::Result<()> {
    std::io::stdout()
        .write_all(did.standard().as_bytes())
        .context("cannot write to stdout")
}
