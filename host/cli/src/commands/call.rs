//! `commute call NAME METHOD [ARGS] [--caller P]`.

use super::target::{self, Target};
use anyhow::Context;
use commute::submit::Args;
use commute::{Mode, Principal};
use commute_serve::wire::Called;
use std::io::IsTerminal;
use std::path::Path;

/// Call a method: a query or update prints its reply; a pure update or oneway is queued
/// and prints `queued SEQ`.
#[derive(Debug, clap::Args)]
pub(crate) struct CallArgs {
    /// The canister: its name or its id (`commute id NAME`).
    name: String,
    /// The method.
    method: String,
    /// Arguments in Candid text, e.g. `'(principal "aaaaa-aa", "hi")'`.
    #[arg(default_value = "()")]
    args: String,
    /// The caller's principal, in text form.
    #[arg(long, default_value = "2vxsx-fae")]
    caller: String,
}

pub(crate) fn run(data_dir: &Path, url: Option<&str>, args: CallArgs) -> anyhow::Result<()> {
    let caller = Principal::from_text(&args.caller)
        .with_context(|| format!("--caller `{}` is not a principal", args.caller))?;
    let mut host = match target::open(data_dir, url)? {
        Target::Local(host) => host,
        Target::Server(server) => {
            match server.call(&args.name, &args.method, Args::Text(&args.args), caller)? {
                Called::Queued(q) => queued(q.seq, true),
                Called::Replied(r) => println!("{}", r.reply),
            }
            return Ok(());
        }
    };
    // A canister id names the canister installed with it.
    let name = match host.registry().resolve(&args.name) {
        Some(name) => name.to_string(),
        None => args.name.clone(),
    };
    let mode = host
        .registry()
        .get(&name)
        .and_then(|c| c.interface.with(|i| i.method(&args.method).map(|m| m.mode)));
    let call_args = Args::Text(&args.args);
    if matches!(mode, Some(Mode::PureUpdate | Mode::Oneway)) {
        let seq = host.submit(&name, &args.method, call_args, caller)?;
        queued(seq, false);
    } else {
        let reply = host.call(&name, &args.method, call_args, caller)?;
        println!("{}", reply.text);
    }
    Ok(())
}

/// Prints `queued SEQ`; on a terminal, also what a dfx user would otherwise wonder: there
/// is no reply, and when the call runs.
fn queued(seq: u64, served: bool) {
    println!("queued {seq}");
    if std::io::stderr().is_terminal() {
        let when = if served {
            "the server runs it in its next round"
        } else {
            "it runs at the next `commute tick`"
        };
        eprintln!("  a pure update or oneway: no reply; {when}; `commute status {seq}` says when it is done");
    }
}
