//! `commute install NAME --wasm W [--did D] [--argument ARGS] [--controller P]... [--no-controllers]`.

use super::target::{self, Target};
use anyhow::Context;
use candid::Principal;
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
    /// A principal that may upgrade the canister through the IC interface's management
    /// canister (`install_code`), as on the IC; repeat for several. Without any, a
    /// re-install keeps the controllers the canister has (none at first).
    #[arg(long = "controller", value_name = "PRINCIPAL", value_parser = parse_principal)]
    controllers: Vec<Principal>,
    /// Leave the canister with no controllers: only the operator changes its code.
    #[arg(long, conflicts_with = "controllers")]
    no_controllers: bool,
}

fn parse_principal(text: &str) -> Result<Principal, String> {
    Principal::from_text(text).map_err(|e| format!("not a principal: {e}"))
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
    let controllers = (args.no_controllers || !args.controllers.is_empty())
        .then_some(args.controllers.as_slice());
    let argument = args.argument.as_deref();
    match target::open_for_install(data_dir, url)? {
        Target::Local(mut host) => {
            host.install_controlled(&args.name, &wasm, did, argument, controllers)?
        }
        Target::Server(server) => server
            .install(&args.name, &wasm, did, argument, controllers)
            .map_err(|e| target::operator(e, data_dir))?,
    }
    // The id is what IC clients (`@dfinity/agent`, `ic-agent`, `dfx`) address it by.
    let id = commute::registry::principal_of(&args.name);
    println!("installed {} (id {id})", args.name);
    Ok(())
}
