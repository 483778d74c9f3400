//! Where a command runs: on a `commute serve` that owns the data dir, or on the data dir
//! itself. `install`, `call`, `status`, `root` and `dump` work the same either way.

use commute::Host;
use commute_serve::client::{Client, ClientError};
use std::path::Path;

/// The file, inside the data dir, where a running server leaves its URL.
pub(crate) const URL_FILE: &str = "serve.url";

/// A command's target.
pub(crate) enum Target {
    /// No server: the command opens the data dir.
    Local(Box<Host>),
    /// A server owns the data dir (or `--url` named one).
    Server(Client),
}

/// The server named by `url`, else the one that left its URL in `data_dir` if it answers,
/// else the data dir itself.
///
/// # Errors
///
/// If `--url` names no server, or the data dir cannot be opened.
pub(crate) fn open(data_dir: &Path, url: Option<&str>) -> anyhow::Result<Target> {
    open_making(data_dir, url, false)
}

/// [`open`], for an install: a data dir that does not exist yet is made.
///
/// # Errors
///
/// As [`open`].
pub(crate) fn open_for_install(data_dir: &Path, url: Option<&str>) -> anyhow::Result<Target> {
    open_making(data_dir, url, true)
}

/// [`open`], making a missing data dir only when `make`.
fn open_making(data_dir: &Path, url: Option<&str>, make: bool) -> anyhow::Result<Target> {
    if let Some(client) = server(data_dir, url)? {
        return Ok(Target::Server(client));
    }
    if !make {
        existing(data_dir)?;
    }
    Ok(Target::Local(Box::new(Host::open(data_dir)?)))
}

/// Refuses a data dir that does not exist, rather than leave an empty one behind in
/// whatever directory a command was run from.
///
/// # Errors
///
/// If `data_dir` does not exist.
pub(crate) fn existing(data_dir: &Path) -> anyhow::Result<()> {
    if !data_dir.exists() {
        anyhow::bail!(
            "no data dir {}: nothing is installed there (give the right one with --data-dir, \
             or install a canister first)",
            data_dir.display()
        );
    }
    Ok(())
}

/// The server named by `url`, else the one that left its URL in `data_dir` if it answers.
///
/// # Errors
///
/// If a server answers its health check with an error.
pub(crate) fn server(data_dir: &Path, url: Option<&str>) -> anyhow::Result<Option<Client>> {
    if let Some(url) = url {
        return Ok(Some(with_token(Client::new(url), data_dir)));
    }
    let Ok(url) = std::fs::read_to_string(data_dir.join(URL_FILE)) else {
        return Ok(None);
    };
    let client = with_token(Client::new(url.trim()), data_dir);
    match client.health() {
        // The address left behind may now be another dir's server's (a reused port).
        Ok(health) if Path::new(&health.data_dir) == std::fs::canonicalize(data_dir)? => {
            Ok(Some(client))
        }
        Ok(_) => Ok(None),
        // Killed without cleaning up: nobody serves the dir any more.
        Err(ClientError::Unreachable { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// `client`, sending the token the data dir's server left there, if any: installs and
/// dumps need it, other requests go without.
/// `error`, from an install or dump through a server, with a note when `data_dir` holds
/// no token: the server asks for one in HTTP terms, but a CLI user needs the served dir.
pub(crate) fn operator(error: impl Into<anyhow::Error>, data_dir: &Path) -> anyhow::Error {
    let error = error.into();
    match commute_serve::client::read_token(data_dir) {
        Ok(_) => error,
        Err(_) => error.context(format!(
            "no server token in {} (give the dir the server serves as --data-dir)",
            data_dir.join(commute_serve::TOKEN_FILE).display()
        )),
    }
}

fn with_token(client: Client, data_dir: &Path) -> Client {
    match commute_serve::client::read_token(data_dir) {
        Ok(token) => client.with_token(&token),
        Err(_) => client,
    }
}
