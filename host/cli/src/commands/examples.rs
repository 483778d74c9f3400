//! `commute examples DIR`: the example canisters this binary carries, written out.
//!
//! An installed `commute` has them built in (for `demo`), so a newcomer's first install
//! needs no build of this repository's workspace to get them.

use anyhow::Context;
use commute_examples::ALL;
use std::path::PathBuf;

/// Write the example canisters' `.wasm` and `.did` files to DIR.
#[derive(Debug, clap::Args)]
pub(crate) struct ExamplesArgs {
    /// Where to write them (made if missing); existing files of the same names are replaced.
    dir: PathBuf,
}

pub(crate) fn run(args: ExamplesArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot make {}", args.dir.display()))?;
    for canister in &ALL {
        for (ext, bytes) in [("wasm", canister.wasm), ("did", canister.did.as_bytes())] {
            let path = args.dir.join(format!("{}.{ext}", canister.name));
            std::fs::write(&path, bytes)
                .with_context(|| format!("cannot write {}", path.display()))?;
            println!("{}", path.display());
        }
    }
    Ok(())
}
