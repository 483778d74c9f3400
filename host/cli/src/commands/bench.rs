//! `commute bench [--quick] [--threads LIST] [--plot FILE.svg]`: the benchmark suite.
//!
//! Every figure is a ratio of a subject and its baseline measured side by side in one run,
//! interleaved (A B A B …, see [`timing::interleave`]) and reduced with medians, because
//! the machine is shared and noisy; absolute times only come along as the raw figures
//! behind a ratio. Each measure prints one JSON line on stdout,
//! `{"measure": NAME, "ratio" | "value": X, ...raw figures...}`, in this order:
//!
//! | measure | file | figure | target |
//! | --- | --- | --- | --- |
//! | `speedup_uniform` | [`speedup`] | rounds of ~50 µs `analytics.work` calls on distinct keys, 1 thread ÷ N threads | ≥ 1.9 at 2 |
//! | `speedup_zipf` | [`speedup`] | the same with keys drawn Zipf(1.0) over 1,000 keys | ≥ 1.8 at 2 |
//! | `speedup_tiny` | [`tiny`] | rounds of tiny `logger.log` calls, distinct users, 1 thread ÷ N threads | ≥ 1.8 at 2 |
//! | `e2e_vs_store` | [`e2e`] | `logger.log` calls/s, submit → durable commit, ÷ a raw sled batch + flush of the same writes | ≥ 1.0 |
//! | `overhead_vs_wasmtime` | [`overhead`] | `analytics.view` calls/s through the host at 1 thread ÷ a bare wasmtime instantiate + call loop | ≥ 0.85 |
//! | `tiny_vs_wasmtime` | [`overhead`] | `logger.log` calls/s, every call its own user, through the host at 1 thread ÷ the same bare loop | ≥ 0.5 |
//! | `growth` | [`growth`] | cost per write of a round at 10^6 entries ÷ at 10^4 | ≤ 1.3 |
//! | `scheduler_ns_per_call` | [`scheduler`] | DAG build + dispatch per call, 3 keys each, no wasm (ns) | ≤ 1,000 |
//! | `available_parallelism` | [`speedup`] | work ÷ span of the uniform batch, from the scheduler's trace | ≥ 100 |
//! | `amdahl_ceiling` | [`speedup`] | 1 + execute ÷ the serial part of a round (what runs on one thread at a time), `speedup_uniform`'s one-round host at 1 thread: the speedup no core count passes | ≥ 30 |
//! | `mm_syscalls_per_call` | [`syscalls`] | mmap, munmap, mprotect, madvise and ioctl calls per further call of `commute tick --threads 2`, counted by `strace -f -c` | ≤ 0.05 |
//! | `serve_calls_per_s` | [`serve`] | `logger.log` calls/s fired at `commute serve` (all cores) over HTTP by 64 keep-alive clients (`value`), ÷ `Host::submit` in process (`ratio`), ÷ the same at one worker thread (`speedup`); p50/p99 time to durable | ≥ 20,000 (`value`); `speedup` > 1 |
//!
//! # Thread counts
//!
//! `--threads 1,2,4` measures both speedups at every count (1, the baseline, is always
//! measured, added if missing); the default is 1 and the machine's cores. A speedup line
//! carries `ratio` and `threads` at the *largest* count, and the whole curve in
//! `curve: [{"threads", "ratio", "median_ms"}, ...]`: one line per measure, whatever the
//! list. `--plot FILE.svg` draws both curves beside the ideal line.
//!
//! When stderr is a terminal, a progress bar goes there, and after the last line the
//! verdict ([`verdict`]): each printed measure's figure against its target above, met or
//! not, and what it means. Nothing else is printed there.
//! `--quick` uses smaller batches and fewer repetitions ([`Sizes::quick`]) and finishes
//! within 5 minutes on 2 cores in a release build.

mod batch;
mod e2e;
mod growth;
mod load;
mod overhead;
mod plot;
mod progress;
mod rng;
mod scheduler;
mod serve;
mod speedup;
mod syscalls;
mod timing;
mod tiny;
mod verdict;

#[cfg(test)]
mod tests;

use anyhow::{bail, Context};
use serde_json::Value;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use progress::Progress;

/// The measures, in the order they run and print.
pub(crate) const MEASURES: [&str; 12] = [
    "speedup_uniform",
    "speedup_zipf",
    "speedup_tiny",
    "e2e_vs_store",
    "overhead_vs_wasmtime",
    "tiny_vs_wasmtime",
    "growth",
    "scheduler_ns_per_call",
    "available_parallelism",
    "amdahl_ceiling",
    "mm_syscalls_per_call",
    "serve_calls_per_s",
];

/// Run the benchmark suite; one JSON line per measure on stdout.
#[derive(Debug, clap::Args)]
pub(crate) struct BenchArgs {
    /// Smaller batches and fewer repetitions: done within 5 minutes on 2 cores.
    #[arg(long)]
    quick: bool,
    /// Thread counts to measure speedup at, e.g. `1,2,4,8` [default: 1 and the machine's
    /// cores]. 1 is always measured: it is the baseline.
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = clap::value_parser!(u16).range(1..))]
    threads: Vec<u16>,
    /// Draw speedup vs threads beside the ideal line, as an SVG file.
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<PathBuf>,
    /// Run only these measures (comma-separated names, as printed) [default: all].
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    only: Vec<String>,
}

/// How much each measure runs: batch sizes and repetitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sizes {
    /// Interleaved repetitions of each subject (and of its baseline).
    pub(crate) reps: usize,
    /// Calls per batch that calibrates the work per call.
    pub(crate) calibration_calls: usize,
    /// Calls per speedup batch (each ~50 µs of guest work), at most 10,000.
    pub(crate) speedup_calls: usize,
    /// Calls per end-to-end batch.
    pub(crate) e2e_calls: usize,
    /// Calls per batch fired at the server.
    pub(crate) serve_calls: usize,
    /// Calls per overhead batch.
    pub(crate) overhead_calls: usize,
    /// Entries of the small and the large state of `growth`.
    pub(crate) growth_entries: (u64, u64),
    /// Writes per measured `growth` round.
    pub(crate) growth_writes: usize,
    /// Calls per scheduler batch.
    pub(crate) scheduler_calls: usize,
    /// Repetitions of the scheduler batch.
    pub(crate) scheduler_reps: usize,
    /// Calls of the smaller `mm_syscalls_per_call` tick (the larger has three times as many).
    pub(crate) syscall_calls: usize,
}

impl Sizes {
    /// `--quick`: about a minute of work on 2 cores.
    pub(crate) const fn quick() -> Sizes {
        Sizes {
            reps: 15,
            calibration_calls: 300,
            speedup_calls: 4_000,
            e2e_calls: 1_000,
            serve_calls: 2_000,
            overhead_calls: 2_000,
            growth_entries: (10_000, 1_000_000),
            growth_writes: 2_000,
            scheduler_calls: 10_000,
            scheduler_reps: 51,
            syscall_calls: 1_000,
        }
    }

    /// Tiny sizes, for a test that every measure runs and prints its line.
    #[cfg(test)]
    pub(crate) const fn tiny() -> Sizes {
        Sizes {
            reps: 1,
            calibration_calls: 10,
            speedup_calls: 20,
            e2e_calls: 10,
            serve_calls: 16,
            overhead_calls: 10,
            growth_entries: (100, 1_000),
            growth_writes: 10,
            scheduler_calls: 100,
            scheduler_reps: 1,
            syscall_calls: 10,
        }
    }

    /// The full run: bigger batches, more repetitions.
    pub(crate) const fn full() -> Sizes {
        Sizes {
            reps: 31,
            calibration_calls: 1_000,
            speedup_calls: 5_000,
            e2e_calls: 2_000,
            serve_calls: 5_000,
            overhead_calls: 5_000,
            growth_entries: (10_000, 1_000_000),
            growth_writes: 5_000,
            scheduler_calls: 10_000,
            scheduler_reps: 201,
            syscall_calls: 2_000,
        }
    }
}

/// The thread counts to measure: `asked` (or 1 and the machine's cores), with 1 added,
/// sorted, without duplicates.
pub(crate) fn thread_counts(asked: &[u16], cores: usize) -> Vec<usize> {
    let mut counts: Vec<usize> = if asked.is_empty() {
        vec![1, cores.max(1)]
    } else {
        asked.iter().map(|&n| usize::from(n)).collect()
    };
    counts.push(1);
    counts.sort_unstable();
    counts.dedup();
    counts
}

pub(crate) fn run(args: BenchArgs) -> anyhow::Result<()> {
    for name in &args.only {
        if !MEASURES.contains(&name.as_str()) {
            bail!(
                "--only: unknown measure `{name}` (measures: {})",
                MEASURES.join(", ")
            );
        }
    }
    let sizes = if args.quick {
        Sizes::quick()
    } else {
        Sizes::full()
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = thread_counts(&args.threads, cores);
    let progress = Progress::new();
    let mut out = std::io::stdout().lock();
    let mut printed = Vec::new();
    let curves = measure(sizes, &threads, cores, &args.only, &progress, |line| {
        // Above the bar, which stays at the bottom of the terminal.
        progress
            .suspend(|| writeln!(out, "{}", render(&line)).and_then(|()| out.flush()))
            .context("cannot write to stdout")?;
        printed.push(line);
        Ok(())
    })?;
    progress.finish();
    // For a reader at the terminal; a script reads the JSON lines.
    if std::io::stderr().is_terminal() {
        eprint!("{}", verdict::render(&printed));
    }
    if let Some(path) = &args.plot {
        if curves.is_empty() {
            bail!("--plot needs a speedup measure, but --only left them out");
        }
        plot::draw(path, &curves)
            .with_context(|| format!("cannot draw the plot {}", path.display()))?;
    }
    Ok(())
}

/// `line` as one line of JSON, with `measure` first and `ratio` or `value` second, then
/// the raw figures in name order (serde_json's objects are sorted, which would bury the
/// figure that matters).
pub(crate) fn render(line: &Value) -> String {
    let Value::Object(fields) = line else {
        return line.to_string();
    };
    let first = ["measure", "ratio", "value"];
    let ordered = first
        .iter()
        .filter_map(|k| fields.get_key_value(*k))
        .chain(fields.iter().filter(|(k, _)| !first.contains(&k.as_str())));
    let parts: Vec<String> = ordered
        .map(|(k, v)| format!("{}:{v}", Value::String(k.clone())))
        .collect();
    format!("{{{}}}", parts.join(","))
}

/// Runs the measures named in `only` (all if empty) at `sizes`, speedups at `threads`, the
/// scheduler on `cores` threads, handing each JSON line to `emit` as it is measured.
/// Returns the speedup curves, for the plot.
///
/// # Errors
///
/// The first error of a measure or of `emit`.
pub(crate) fn measure(
    sizes: Sizes,
    threads: &[usize],
    cores: usize,
    only: &[String],
    progress: &Progress,
    mut emit: impl FnMut(Value) -> anyhow::Result<()>,
) -> anyhow::Result<Vec<speedup::Curve>> {
    let wanted = |m: &str| only.is_empty() || only.iter().any(|o| o == m);
    let mut curves = Vec::new();
    if [
        "speedup_uniform",
        "speedup_zipf",
        "available_parallelism",
        "amdahl_ceiling",
    ]
    .iter()
    .any(|m| wanted(m))
    {
        let mut bench = speedup::Speedup::new(threads, sizes, progress)?;
        let uniform = bench.measure(speedup::Keys::Uniform, sizes, progress)?;
        if wanted("speedup_uniform") {
            emit(uniform.line())?;
        }
        curves.push(uniform);
        if wanted("speedup_zipf") {
            let zipf = bench.measure(speedup::Keys::Zipf, sizes, progress)?;
            emit(zipf.line())?;
            curves.push(zipf);
        }
    }
    if wanted("speedup_tiny") {
        let most = threads.iter().copied().max().unwrap_or(1);
        emit(tiny::measure(sizes, most, progress)?)?;
    }
    if wanted("e2e_vs_store") {
        emit(e2e::measure(sizes, progress)?)?;
    }
    if wanted("overhead_vs_wasmtime") {
        emit(overhead::measure(sizes, progress)?)?;
    }
    if wanted("tiny_vs_wasmtime") {
        emit(overhead::measure_tiny(sizes, progress)?)?;
    }
    if wanted("growth") {
        emit(growth::measure(sizes, progress)?)?;
    }
    if wanted("scheduler_ns_per_call") {
        emit(scheduler::measure(sizes, cores, progress)?)?;
    }
    if wanted("available_parallelism") {
        // Measured with `speedup_uniform`, from the scheduler's trace of its batches.
        emit(curves[0].parallelism_line())?;
    }
    if wanted("amdahl_ceiling") {
        // From `speedup_uniform`'s one-round host at 1 thread.
        emit(curves[0].amdahl_line())?;
    }
    if wanted("mm_syscalls_per_call") {
        emit(syscalls::measure(sizes, progress)?)?;
    }
    if wanted("serve_calls_per_s") {
        emit(serve::measure(sizes, progress)?)?;
    }
    Ok(curves)
}
