//! `mm_syscalls_per_call`: the memory-map system calls a call costs in steady state.
//!
//! Every `mmap`, `munmap`, `mprotect` and `madvise` takes the process's memory-map lock
//! for writing, and wasmtime's `PAGEMAP_SCAN` `ioctl` takes it for reading: on many cores,
//! a few of them per call serialize instantiation across all of them. The figure counts
//! those five (`ioctl` whatever its request, so it over-counts if anything else ioctls).
//!
//! - Subject: `commute tick --threads 2 --round-size N/2` in a child process, under
//!   `strace -f -c`, over a data dir with `N` queued calls of a Rust example guest, and
//!   again with `3N`.
//! - The figure: (count at `3N` − count at `N`) ÷ `2N`. The difference removes what a
//!   process pays once (opening sled, the engine's pool, loading the module, the first
//!   use of each pool slot, the heap its first round grows), leaving what each call of a
//!   later round costs.
//!
//! The line gives the figure for `logger.log` and `analytics.view` and, as `value`, the
//! larger. Where `strace` is not installed (or `ptrace` is not allowed), the line has
//! `"value": null` and says why in `why`.

use super::progress::Progress;
use super::Sizes;
use anyhow::{bail, Context};
use candid::Principal;
use commute::submit::Args;
use commute::Config;
use commute_examples::{Canister, ANALYTICS, LOGGER};
use serde_json::{json, Value};
use std::process::Command;

/// The system calls counted.
const COUNTED: [&str; 5] = ["mmap", "munmap", "mprotect", "madvise", "ioctl"];

/// Measures `mm_syscalls_per_call`; see the module doc.
///
/// # Errors
///
/// If a host, the child or strace fails other than by being absent.
pub(crate) fn measure(sizes: Sizes, progress: &Progress) -> anyhow::Result<Value> {
    let calls = sizes.syscall_calls;
    // The child is this very binary; a test harness is not `commute`.
    let can = if cfg!(test) {
        Err("not measured under cargo test: the child process must be the commute binary".into())
    } else {
        strace_works()
    };
    if let Err(why) = can {
        return Ok(json!({"measure": "mm_syscalls_per_call", "value": null, "why": why}));
    }
    progress.start("mm_syscalls_per_call", 4);
    let mut guests = serde_json::Map::new();
    let mut worst: f64 = 0.0;
    for (guest, method, arg) in [
        (&LOGGER, "log", logger_arg as fn(usize) -> Vec<u8>),
        (&ANALYTICS, "view", analytics_arg),
    ] {
        let mut counts = Vec::new();
        for n in [calls, 3 * calls] {
            counts.push(count(guest, method, arg, (n, (calls / 2).max(1)))?);
            progress.step();
        }
        let per_call = |i: usize| (counts[1][i] as f64 - counts[0][i] as f64) / (2 * calls) as f64;
        let total = (0..COUNTED.len()).map(per_call).sum::<f64>().max(0.0);
        let mut each = serde_json::Map::new();
        for (i, name) in COUNTED.iter().enumerate() {
            each.insert((*name).into(), json!(super::timing::round(per_call(i), 4)));
        }
        worst = worst.max(total);
        guests.insert(
            format!("{}.{method}", guest.name),
            json!({"per_call": super::timing::round(total, 4), "each": each,
                   "counts": {"n": counts[0], "3n": counts[1]}}),
        );
    }
    Ok(json!({
        "measure": "mm_syscalls_per_call",
        "value": super::timing::round(worst, 4),
        "calls": calls,
        "threads": 2,
        "syscalls": COUNTED,
        "guests": guests,
    }))
}

/// `logger.log(user, "event")`, a distinct user per call.
fn logger_arg(i: usize) -> Vec<u8> {
    let user = Principal::self_authenticating((i as u64).to_le_bytes());
    candid::encode_args((user, format!("event {i}"))).expect("the arguments encode")
}

/// `analytics.view(page)`, over 16 pages.
fn analytics_arg(i: usize) -> Vec<u8> {
    candid::encode_args((format!("/page/{}", i % 16),)).expect("a text encodes")
}

/// Whether `strace -f -c` can trace a child here.
fn strace_works() -> Result<(), String> {
    let out = Command::new("strace")
        .args(["-f", "-c", "-o", "/dev/null", "true"])
        .output()
        .map_err(|e| format!("strace cannot be run ({e}); install it to count system calls"))?;
    if !out.status.success() {
        let text = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "strace cannot trace here: {}",
            text.lines().next().unwrap_or("no reason given")
        ));
    }
    Ok(())
}

/// The counts of [`COUNTED`] of a `commute tick --threads 2` of `n` queued calls, in rounds
/// of at most `round_size`.
fn count(
    guest: &Canister,
    method: &str,
    arg: fn(usize) -> Vec<u8>,
    (n, round_size): (usize, usize),
) -> anyhow::Result<Vec<u64>> {
    let dir = tempfile::tempdir().context("cannot make a data dir")?;
    let data = dir.path().join("data");
    {
        let config = Config {
            threads: 2,
            ..Config::default()
        };
        let mut host = commute::Host::open_with(&data, config)?;
        install(&mut host, guest)?;
        let args: Vec<Vec<u8>> = (0..n).map(arg).collect();
        let calls: Vec<_> = args
            .iter()
            .map(|a| (guest.name, method, Args::Binary(a), Principal::anonymous()))
            .collect();
        host.submit_batch(&calls)?;
    }
    let summary = dir.path().join("strace.txt");
    let exe = std::env::current_exe().context("cannot find the commute binary")?;
    let out = Command::new("strace")
        .args(["-f", "-c", "-U", "name,calls", "-e"])
        .arg(format!("trace={}", COUNTED.join(",")))
        .arg("-o")
        .arg(&summary)
        .arg(&exe)
        .arg("--data-dir")
        .arg(&data)
        .args(["tick", "--threads", "2", "--round-size"])
        .arg(round_size.to_string())
        .output()
        .context("cannot run strace")?;
    if !out.status.success() {
        bail!(
            "commute tick under strace failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = std::fs::read_to_string(&summary).context("strace wrote no summary")?;
    Ok(parse(&text))
}

fn install(host: &mut commute::Host, guest: &Canister) -> anyhow::Result<()> {
    host.install(guest.name, guest.wasm, guest.did_file(), None)
        .with_context(|| format!("cannot install the {} canister", guest.name))
}

/// The calls of each of [`COUNTED`] in an `strace -c -U name,calls` summary (0 if absent).
pub(crate) fn parse(summary: &str) -> Vec<u64> {
    COUNTED
        .iter()
        .map(|want| {
            summary
                .lines()
                .filter_map(|line| {
                    let mut fields = line.split_whitespace();
                    let (name, calls) = (fields.next()?, fields.next()?);
                    (name == *want).then(|| calls.parse::<u64>().ok()).flatten()
                })
                .sum()
        })
        .collect()
}
