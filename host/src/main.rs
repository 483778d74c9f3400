//! The `commute` command line (DESIGN §10). Each subcommand lives in its own file under
//! `commands/`; this file only parses the command line and turns errors into the one-line,
//! exit-status-1 form every command shares (usage errors exit 2, from clap).

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

mod commands;

/// A host for Internet-Computer-style canisters that runs `pure_update` methods in parallel.
#[derive(Debug, Parser)]
#[command(name = "commute", version, about)]
struct Cli {
    /// Where the host keeps its state.
    #[arg(long, global = true, default_value = ".commute", value_name = "DIR")]
    data_dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Work with `.did` files.
    #[command(subcommand)]
    Did(commands::did::DidCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let _ = &cli.data_dir; // Read by the commands that keep state.
    let result = match cli.command {
        Command::Did(cmd) => commands::did::run(cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line, naming what was wrong (DESIGN §10).
            let message = format!("{e:#}");
            eprintln!("error: {}", message.lines().collect::<Vec<_>>().join(" "));
            ExitCode::FAILURE
        }
    }
}
