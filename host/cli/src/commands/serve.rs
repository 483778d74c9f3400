//! `commute serve [--listen ADDR] [--threads N] [--max-pending N] [--round-size N]
//! [--checkpoint-bytes N] [--header-timeout S] [--keep-alive-timeout S]
//! [--body-idle-timeout S] [--body-timeout S] [--no-json-caller]`.

use super::round_args::RoundArgs;
use super::target::URL_FILE;
use anyhow::Context;
use commute::{Config, Host};
use commute_serve::{ServeConfig, Server, Signals};
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

/// Serve the data dir over HTTP: accept calls from other processes, run rounds as they
/// arrive. Prints the URL it bound; SIGINT or SIGTERM stops it cleanly.
#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// The address to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:4943")]
    listen: SocketAddr,
    #[command(flatten)]
    rounds: RoundArgs,
    /// The most accepted calls that may wait uncommitted; past it, submits get 503.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
    max_pending: u64,
    /// Seconds from a request's first byte to its last header line [default: 10].
    #[arg(long, value_name = "SECONDS", value_parser = seconds)]
    header_timeout: Option<Duration>,
    /// Seconds a connection may send nothing while no request is under way [default: 30].
    #[arg(long, value_name = "SECONDS", value_parser = seconds)]
    keep_alive_timeout: Option<Duration>,
    /// Seconds a request body may pause between two pieces [default: 10].
    #[arg(long, value_name = "SECONDS", value_parser = seconds)]
    body_idle_timeout: Option<Duration>,
    /// Seconds a whole request body may take [default: 30].
    #[arg(long, value_name = "SECONDS", value_parser = seconds)]
    body_timeout: Option<Duration>,
    /// Refuse the JSON API's `?caller=`, which takes any principal on trust: only senders
    /// verified by the IC interface's signatures are then callers.
    #[arg(long)]
    no_json_caller: bool,
}

/// A positive number of seconds, at most a day.
fn seconds(text: &str) -> Result<Duration, String> {
    match text.parse::<f64>() {
        Ok(s) if s > 0.0 && s <= 86_400.0 => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!(
            "`{text}` is not a number of seconds above 0, at most 86400"
        )),
    }
}

pub(crate) fn run(data_dir: &Path, args: ServeArgs) -> anyhow::Result<()> {
    let config = args.rounds.apply(Config {
        max_pending: args.max_pending,
        ..Config::default()
    });
    let host = Host::open_with(data_dir, config).map_err(|e| match e {
        commute::HostError::InUse(_) => match std::fs::read_to_string(data_dir.join(URL_FILE)) {
            Ok(url) => anyhow::anyhow!(
                "{e}: a commute serve at {} owns it (stop it first, or use another --data-dir)",
                url.trim()
            ),
            Err(_) => e.into(),
        },
        e => e.into(),
    })?;
    let defaults = ServeConfig::default();
    let serve_config = ServeConfig {
        header_timeout: args.header_timeout.unwrap_or(defaults.header_timeout),
        keep_alive_timeout: args
            .keep_alive_timeout
            .unwrap_or(defaults.keep_alive_timeout),
        body_idle_timeout: args.body_idle_timeout.unwrap_or(defaults.body_idle_timeout),
        body_timeout: args.body_timeout.unwrap_or(defaults.body_timeout),
        json_caller: !args.no_json_caller,
    };
    let server = Server::start_with(host, args.listen, Signals::Handle, serve_config)?;
    if !server.addr().ip().is_loopback() {
        eprintln!(
            "warning: listening on {}, not a loopback address: anyone who can reach it can call canisters (installs and dumps need the token in {})",
            server.addr(),
            data_dir.join(commute_serve::TOKEN_FILE).display()
        );
    }
    let url_file = data_dir.join(URL_FILE);
    std::fs::write(&url_file, format!("{}\n", server.url()))
        .with_context(|| format!("{}: cannot write", url_file.display()))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", server.url())
        .and_then(|()| out.flush())
        .context("cannot write to stdout")?;
    drop(out);
    let stopped = server.wait();
    // Only a server that stopped cleanly takes its address down; a killed one leaves it,
    // and the CLI finds nobody there and opens the dir itself.
    let _ = std::fs::remove_file(&url_file);
    stopped?;
    Ok(())
}
