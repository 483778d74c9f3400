//! One module per subcommand of `commute`.

pub(crate) mod bench;
pub(crate) mod call;
pub(crate) mod demo;
pub(crate) mod did;
pub(crate) mod dump;
pub(crate) mod examples;
pub(crate) mod id;
pub(crate) mod install;
pub(crate) mod new;
pub(crate) mod root;
pub(crate) mod round_args;
pub(crate) mod serve;
pub(crate) mod status;
pub(crate) mod target;
pub(crate) mod tick;

use anyhow::Context;
use std::io::Read;
use std::path::Path;

/// The most bytes of a module `install` reads: what `commute serve` takes in one request
/// (the module travels hex-encoded there).
pub(crate) const MAX_WASM_FILE: u64 = 32 << 20;

/// The most bytes of a `.did` file the CLI reads: far above the largest real interfaces.
pub(crate) const MAX_DID_FILE: u64 = 8 << 20;

/// The bytes of the file at `path`, refused past `cap` without reading further (a device
/// such as `/dev/zero` would otherwise be read until memory ran out).
pub(crate) fn read_capped(path: &Path, cap: u64, what: &str) -> anyhow::Result<Vec<u8>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let mut bytes = Vec::new();
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    if bytes.len() as u64 > cap {
        anyhow::bail!(
            "{}: more than {cap} bytes, the most a {what} may be",
            path.display()
        );
    }
    Ok(bytes)
}
