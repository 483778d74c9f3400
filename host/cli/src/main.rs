//! The `commute` command line (`docs/cli.md`). Each subcommand lives in its own file under
//! `commands/`; this file only parses the command line and turns errors into the one-line,
//! exit-status-1 form every command shares (usage errors exit 2, from clap).

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

mod commands;

/// mimalloc, not glibc's malloc: with several workers, glibc's arenas contended on their
/// locks (perf: `__lll_lock_wait_private` under sled's node copies and the write logs) and
/// grew thread heaps with an `mprotect` per 4 KiB page.
/// Freed memory is kept, not given back with `madvise` 10 ms later (mimalloc's default),
/// so that steady-state calls make no memory-map system calls.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` and `mi_option_allow_thp` in mimalloc v3's `mi_option_e`
/// (mimalloc.h), which libmimalloc-sys builds by default but does not name.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
const MI_OPTION_ALLOW_THP: libmimalloc_sys::mi_option_t = 43;

/// Lets a command whose output goes to a reader that stopped (`commute dump … | head`) end
/// quietly, as Unix tools do, instead of panicking on its next `println!`: Rust ignores
/// SIGPIPE, so a write to a closed pipe fails, and the print macros panic on failure. Not
/// for the commands that serve: their sockets write with `MSG_NOSIGNAL`, and no reader of
/// their log may stop them.
fn die_on_closed_pipe() {
    // SAFETY: restores a signal's default disposition; no handler of ours is involved.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Freed memory stays mapped (purging is a `madvise` per page run, a kernel call in the
/// middle of rounds), and no arena asks for transparent huge pages: the first touch of
/// each zeroes 2 MiB in the fault, inside a round (perf: `clear_page_erms` under
/// `do_huge_pmd_anonymous_page`, ~19% of a `speedup_tiny` run). `speedup_tiny`, 5 runs
/// each, interleaved: median 1.41 with them, 1.50 without.
///
/// mimalloc reads `allow_thp` only as it starts, before `main`, after its first arena was
/// advised `MADV_HUGEPAGE`; so the process opts out itself too, which the kernel checks
/// at every fault, in old mappings as in new.
fn tune_allocator() {
    // SAFETY: sets plain integer options; mimalloc reads options at any time. The prctl
    // takes integers and touches no memory of ours.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1);
        libmimalloc_sys::mi_option_set(MI_OPTION_ALLOW_THP, 0);
        // Variadic: pass each argument as the full register the kernel reads.
        let (on, zero): (libc::c_ulong, libc::c_ulong) = (1, 0);
        libc::prctl(libc::PR_SET_THP_DISABLE, on, zero, zero, zero);
    }
}

/// A host for Internet-Computer-style canisters that runs `pure_update` methods in parallel.
#[derive(Debug, Parser)]
#[command(name = "commute", version, about)]
struct Cli {
    /// Where the host keeps its state.
    #[arg(long, global = true, default_value = ".commute", value_name = "DIR")]
    data_dir: PathBuf,
    /// Talk to the `commute serve` at this URL (found from DIR when one serves it).
    #[arg(long, global = true, value_name = "URL")]
    url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a canister crate NAME/ of one's own, outside any workspace.
    New(commands::new::NewArgs),
    /// Work with `.did` files.
    #[command(subcommand)]
    Did(commands::did::DidCommand),
    /// Install a canister (re-install keeps its state).
    Install(commands::install::InstallArgs),
    /// Call a method: queries and updates print the reply, pure updates `queued SEQ`.
    Call(commands::call::CallArgs),
    /// Print a ticket's outcome: `pending`, `done` or `trapped: MESSAGE`.
    Status(commands::status::StatusArgs),
    /// Run rounds until nothing is pending; one JSON object per round.
    Tick(commands::tick::TickArgs),
    /// Print a canister's principal, the id IC clients address it by.
    Id(commands::id::IdArgs),
    /// Print the state root.
    Root(commands::root::RootArgs),
    /// Print a canister's stable structures as JSON.
    Dump(commands::dump::DumpArgs),
    /// Serve DIR over HTTP: accept calls from other processes and run rounds as they arrive.
    Serve(commands::serve::ServeArgs),
    /// Run the example canisters under load at 1 thread and at all cores; compare roots.
    Demo(commands::demo::DemoArgs),
    /// Write the example canisters' .wasm and .did files to DIR.
    Examples(commands::examples::ExamplesArgs),
    /// Run the benchmark suite: one JSON line per measure (ratios measured side by side).
    Bench(commands::bench::BenchArgs),
}

fn main() -> ExitCode {
    tune_allocator();
    let cli = Cli::parse();
    // Every command may parse a `.did` or Candid text, whose depth is bounded for this
    // stack, not for whatever `ulimit -s` gave the main thread.
    let command = std::thread::Builder::new()
        .name("commute".into())
        .stack_size(commute_did::PARSER_STACK_BYTES)
        .spawn(move || run(cli));
    match command.map(std::thread::JoinHandle::join) {
        Ok(Ok(code)) => code,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(e) => {
            eprintln!("error: cannot start the command's thread: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> ExitCode {
    if !matches!(
        cli.command,
        Command::Serve(_) | Command::Demo(_) | Command::Bench(_)
    ) {
        die_on_closed_pipe();
    }
    let dir = cli.data_dir.as_path();
    let url = cli.url.as_deref();
    let result = match cli.command {
        Command::New(args) => commands::new::run(args),
        Command::Did(cmd) => commands::did::run(cmd),
        Command::Install(args) => commands::install::run(dir, url, args),
        Command::Call(args) => commands::call::run(dir, url, args),
        Command::Status(args) => commands::status::run(dir, url, args),
        Command::Tick(args) => commands::tick::run(dir, url, args),
        Command::Id(args) => commands::id::run(args),
        Command::Root(args) => commands::root::run(dir, url, args),
        Command::Dump(args) => commands::dump::run(dir, url, args),
        Command::Serve(args) => commands::serve::run(dir, args),
        Command::Demo(args) => commands::demo::run(args),
        Command::Examples(args) => commands::examples::run(args),
        Command::Bench(args) => commands::bench::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// `error` and its causes on one line, naming what was wrong. A cause whose text the one
/// before it already holds is left out: sled's and thiserror's errors print their source
/// in their own message, and the chain would say it twice.
fn one_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line.lines().collect::<Vec<_>>().join(" ")
}
