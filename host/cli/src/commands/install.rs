//! `commute install NAME --wasm W [--did D] [--argument ARGS]`.

use super::target::{self, Target};
use anyhow::Context;
use std::path::{Path, PathBuf};

/// Install a canister (re-install keeps its state).
#[derive(Debug, clap::Args)]
pub(crate) struct InstallArgs {
    /// The name to install it under: [a-z0-9_-], 1 to 64 characters.
    name: String,
    /// The wasm module.
    #[arg(long)]
    wasm: PathBuf,
    /// Its `.did`; without it, the wasm's `icp:public candid:service` section is used.
    #[arg(long)]
    did: Option<PathBuf>,
    /// Init arguments in Candid text, for a service that takes them.
    #[arg(long)]
    argument: Option<String>,
}

pub(crate) fn run(data_dir: &Path, url: Option<&str>, args: InstallArgs) -> anyhow::Result<()> {
    let wasm = super::read_capped(&args.wasm, super::MAX_WASM_FILE, "module")?;
    let did = match &args.did {
        Some(path) => {
            let bytes = super::read_capped(path, super::MAX_DID_FILE, "`.did` file")?;
            let text = String::from_utf8(bytes)
                .with_context(|| format!("{}: not UTF-8", path.display()))?;
            Some((path.display().to_string(), text))
        }
        None => None,
    };
    let did = did.as_ref().map(|(f, t)| (f.as_str(), t.as_str()));
    match target::open_for_install(data_dir, url)? {
        Target::Local(mut host) => {
            host.install(&args.name, &wasm, did, args.argument.as_deref())?
        }
        Target::Server(server) => server
            .install(&args.name, &wasm, did, args.argument.as_deref())
            .map_err(|e| target::operator(e, data_dir))?,
    }
    // The id is what IC clients (`@dfinity/agent`, `ic-agent`, `dfx`) address it by.
    let id = commute::registry::principal_of(&args.name);
    println!("installed {} (id {id})", args.name);
    Ok(())
}
