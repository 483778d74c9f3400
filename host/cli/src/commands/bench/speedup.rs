//! `speedup_uniform`, `speedup_zipf` and `available_parallelism`.
//!
//! The subject is a batch of CPU-bound pure calls, `analytics.work(key, rounds)` from the
//! example canister, with `rounds` calibrated at startup so that one call costs about
//! 50 µs on this machine ([`calibrate`]). Two hosts per thread count, each on its own
//! temporary directory and worker pool, get the *same* batch each repetition, submitted
//! untimed; what is timed is `tick`, which runs and commits the batch:
//!
//! - the *rounds* host takes it as rounds of [`ROUND_CALLS`] calls, as a host works
//!   through a backlog: each round's pure calls run while the round before commits
//!   ([`Host::tick`]). Its speedup is the measure's `ratio`;
//! - the *one-round* host takes the whole batch as one round (the round size is the batch
//!   size), so nothing overlaps its commit. Its speedup is `one_round_ratio`, and its
//!   trace splits the round into the parallel phase and the rest (`exec_ms`,
//!   `serial_ms`).
//!
//! Repetitions interleave the thread counts; the ratio at N threads is the median time at
//! 1 thread over the median at N.
//!
//! - Uniform: every call has its own key, so the DAG has no edge.
//! - Zipf: keys are drawn Zipf(1.0) over 1,000 keys (seeded; the same draw for every
//!   thread count), so the most popular key holds 13% of the calls and forms a chain.
//!
//! `available_parallelism` is work ÷ span of the uniform batch at the largest thread
//! count, from the scheduler's own trace ([`commute::schedule::Trace`]): the sum of the
//! calls' durations over the longest chain of durations along the DAG. The median over
//! the repetitions is reported.

use super::batch::{host_with, run_calls, Ticking};
use super::overhead::Bare;
use super::progress::Progress;
use super::rng::{SplitMix64, Zipf};
use super::timing::{interleave, median, median_f64, ms, round};
use super::Sizes;
use anyhow::Context;
use commute::execute::Limits;
use commute::schedule::{Schedule, Trace};
use commute::{Config, Host};
use commute_examples::ANALYTICS;
use serde_json::{json, Value};
use std::time::Duration;

/// What one call should cost, in µs.
const TARGET_CALL_US: f64 = 50.0;
/// The most calls one speedup batch may hold: the one-round hosts' round size.
const MAX_BATCH: usize = 10_000;
/// The round size of the rounds hosts: big enough that a round's fixed costs (its flush)
/// are small beside its calls, small enough that a batch is several rounds to pipeline.
pub(crate) const ROUND_CALLS: usize = 1_000;
/// Keys the Zipf batch draws from, and its exponent.
const ZIPF_KEYS: usize = 1_000;
const ZIPF_EXPONENT: f64 = 1.0;
/// The seed of the Zipf draws.
const ZIPF_SEED: u64 = 0x005e_ed0f_21bf;

/// How a batch's keys are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keys {
    /// Every call its own key.
    Uniform,
    /// Zipf(1.0) over 1,000 keys.
    Zipf,
}

impl Keys {
    fn measure(self) -> &'static str {
        match self {
            Keys::Uniform => "speedup_uniform",
            Keys::Zipf => "speedup_zipf",
        }
    }
}

/// The hosts, two per thread count, with the analytics canister installed; the bare
/// wasmtime ceiling's pools; and the calibrated work per call.
pub(crate) struct Speedup {
    threads: Vec<usize>,
    /// Per thread count: the one-round host, then the rounds host.
    hosts: Vec<[Host; 2]>,
    /// The same module in bare wasmtime, and a pool per thread count to run it on.
    bare: Bare,
    pools: Vec<rayon::ThreadPool>,
    calibration: Calibration,
    /// Distinct keys handed out so far, for uniform batches.
    next_key: u64,
}

/// The calibrated work per call.
#[derive(Debug, Clone, Copy)]
struct Calibration {
    /// `rounds` of `analytics.work` that make a call cost about 50 µs.
    work_rounds: u32,
    /// What a call of `work_rounds` cost (median, at 1 thread), in µs.
    call_us: f64,
    /// What a call of 0 rounds cost (instantiation, decoding, two writes), in µs.
    fixed_us: f64,
}

/// What one repetition of one host showed, beside its round time.
#[derive(Debug, Clone, Copy)]
struct Observed {
    /// The parallel phase: from the start of `Schedule::run` to the last call's end.
    exec: Duration,
    /// The parts of the round's merge and commit split across the pool
    /// ([`Host::pool_time`]).
    pooled: Duration,
    /// The DAG's work and span, from the trace.
    work: Duration,
    span: Duration,
    /// Call durations: median, 99th percentile, longest.
    p50: Duration,
    p99: Duration,
    max: Duration,
}

/// One speedup measure's results: the curve over thread counts, and the DAG's parallelism.
#[derive(Debug, Clone)]
pub(crate) struct Curve {
    /// The key distribution.
    pub(crate) keys: Keys,
    /// The thread counts, ascending, starting at 1.
    pub(crate) threads: Vec<usize>,
    /// The speedup of the rounds host at each count: its median time at 1 thread ÷ its
    /// median time at that count.
    pub(crate) ratios: Vec<f64>,
    /// The median time of the rounds host at each count.
    medians: Vec<Duration>,
    /// The median time of the one-round host at each count.
    one_round: Vec<Duration>,
    /// What each count's host showed, per repetition.
    observed: Vec<Vec<Observed>>,
    /// The median time of the bare wasmtime loop at each count.
    bare: Vec<Duration>,
    calls: usize,
    reps: usize,
    calibration: Calibration,
}

impl Speedup {
    /// Calibrates the work per call and starts a host per thread count.
    ///
    /// # Errors
    ///
    /// If a host cannot start, the canister cannot be installed, or a call traps.
    pub(crate) fn new(
        threads: &[usize],
        sizes: Sizes,
        progress: &Progress,
    ) -> anyhow::Result<Speedup> {
        progress.start(
            "calibrating analytics.work",
            CALIBRATION_STEPS + 2 * threads.len(),
        );
        let calibration = calibrate(sizes.calibration_calls, progress)?;
        let mut hosts = Vec::new();
        let mut pools = Vec::new();
        for &t in threads {
            hosts.push([
                analytics_host(t, MAX_BATCH)?,
                analytics_host(t, ROUND_CALLS)?,
            ]);
            progress.step();
            pools.push(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(t)
                    .build()
                    .context("cannot start a worker pool")?,
            );
            progress.step();
        }
        Ok(Speedup {
            threads: threads.to_vec(),
            hosts,
            bare: Bare::new(ANALYTICS.wasm, Limits::default().fuel)?,
            pools,
            calibration,
            next_key: 0,
        })
    }

    /// Measures the speedup curve on batches of `sizes.speedup_calls` calls (at most
    /// 10,000), `sizes.reps` interleaved repetitions. Beside each host, the same calls run
    /// in the bare wasmtime loop, spread over a rayon pool of the same size: the ceiling
    /// that instantiation and the kernel leave, whatever the host does.
    ///
    /// # Errors
    ///
    /// If a submit or a round fails, or a call traps.
    pub(crate) fn measure(
        &mut self,
        keys: Keys,
        sizes: Sizes,
        progress: &Progress,
    ) -> anyhow::Result<Curve> {
        let calls = sizes.speedup_calls.min(MAX_BATCH);
        let counts = self.threads.len();
        progress.start(keys.measure(), (sizes.reps + 1) * 3 * counts);
        let zipf = Zipf::new(ZIPF_KEYS, ZIPF_EXPONENT);
        let mut rng = SplitMix64::new(ZIPF_SEED);
        let rounds = self.calibration.work_rounds;
        // Each repetition's batch, drawn by its first turn and run by every subject.
        let mut batch: Option<(Option<usize>, Vec<Vec<u8>>)> = None;
        let mut observed = vec![Vec::new(); counts];
        let (hosts, bare, pools) = (&mut self.hosts, &self.bare, &self.pools);
        let next_key = &mut self.next_key;
        // Subjects 0..counts are the one-round hosts, counts..2*counts the rounds hosts,
        // 2*counts..3*counts the bare loops.
        let times = interleave(sizes.reps, 3 * counts, |turn| {
            if batch.as_ref().is_none_or(|(rep, _)| *rep != turn.rep) {
                let args = (0..calls)
                    .map(|_| {
                        let key = match keys {
                            Keys::Uniform => {
                                *next_key += 1;
                                *next_key
                            }
                            Keys::Zipf => zipf.sample(&mut rng) as u64,
                        };
                        candid::encode_args((key, rounds)).expect("a nat64 and a nat32 encode")
                    })
                    .collect();
                batch = Some((turn.rep, args));
            }
            let (_, args) = batch.as_ref().expect("drawn above");
            let time = if turn.subject < 2 * counts {
                let (one_round, i) = (turn.subject < counts, turn.subject % counts);
                let host = &mut hosts[i][usize::from(!one_round)];
                let ticking = if one_round {
                    Ticking::Serial
                } else {
                    Ticking::Pipelined
                };
                let pooled = host.pool_time();
                let (_submit, time) = run_calls(host, ANALYTICS.name, "work", args, ticking)?;
                if one_round && turn.rep.is_some() {
                    let pooled = host.pool_time().saturating_sub(pooled);
                    let (schedule, trace) = host.last_trace().context("the host records traces")?;
                    observed[i].push(Observed::of(schedule, trace, pooled));
                }
                time
            } else {
                bare.call_all(
                    &pools[turn.subject - 2 * counts],
                    "canister_update work",
                    args,
                )?
            };
            progress.step();
            Ok::<_, anyhow::Error>(time)
        })?;
        let medians: Vec<Duration> = times.iter().map(|t| median(t)).collect();
        let rounds = &medians[counts..2 * counts];
        let ratios = rounds.iter().map(|m| ratio(rounds[0], *m)).collect();
        Ok(Curve {
            keys,
            threads: self.threads.clone(),
            ratios,
            bare: medians[2 * counts..].to_vec(),
            medians: rounds.to_vec(),
            one_round: medians[..counts].to_vec(),
            observed,
            calls,
            reps: sizes.reps,
            calibration: self.calibration,
        })
    }
}

/// The part of a job that does not shrink with threads, from its time `one` at 1 thread
/// and `at_n` at `n`: with T(k) = s + p/k, s = (n·T(n) − T(1)) / (n − 1) (Karp–Flatt),
/// kept within 0 and `one`. The whole job when `n` is 1: nothing tells the parts apart.
pub(crate) fn serial_share(one: Duration, at_n: Duration, n: usize) -> Duration {
    if n < 2 {
        return one;
    }
    let n = n as f64;
    let s = (n * at_n.as_secs_f64() - one.as_secs_f64()) / (n - 1.0);
    Duration::from_secs_f64(s.clamp(0.0, one.as_secs_f64()))
}

impl Observed {
    fn of(schedule: &Schedule, trace: &Trace, pooled: Duration) -> Observed {
        let mut durations: Vec<Duration> = trace
            .start
            .iter()
            .zip(&trace.end)
            .map(|(s, e)| e.saturating_sub(*s))
            .collect();
        durations.sort_unstable();
        let at = |q: f64| {
            durations
                .get(((durations.len() as f64 - 1.0) * q).round() as usize)
                .copied()
                .unwrap_or_default()
        };
        Observed {
            exec: trace.end.iter().max().copied().unwrap_or_default(),
            pooled,
            work: trace.work(),
            span: trace.span(schedule),
            p50: at(0.5),
            p99: at(0.99),
            max: at(1.0),
        }
    }
}

impl Curve {
    /// The speedup of the bare wasmtime loop at each thread count.
    pub(crate) fn wasmtime_ratios(&self) -> Vec<f64> {
        self.bare.iter().map(|b| ratio(self.bare[0], *b)).collect()
    }

    /// The speedup at the largest thread count.
    pub(crate) fn ratio(&self) -> f64 {
        *self.ratios.last().expect("at least the baseline")
    }

    /// The median of `f` over the repetitions of thread count number `i`.
    fn observed(&self, i: usize, f: impl Fn(&Observed) -> Duration) -> Duration {
        let values: Vec<Duration> = self.observed[i].iter().map(f).collect();
        median(&values)
    }

    /// The measure's JSON line. Each point of `curve` has the rounds host's median time
    /// and ratio; the one-round host's (`one_round_ms`, `one_round_ratio`); `exec_ms` and
    /// `exec_ratio`, the same for its parallel phase alone (`Schedule::run`); `serial_ms`,
    /// the rest of its round (reading the queue, building the DAG, merge, commit, flush);
    /// and `wasmtime_ratio`, the speedup of the same calls in the bare wasmtime loop.
    pub(crate) fn line(&self) -> Value {
        let exec0 = self.observed(0, |o| o.exec);
        let curve: Vec<Value> = (0..self.threads.len())
            .map(|i| {
                let exec = self.observed(i, |o| o.exec);
                json!({
                    "threads": self.threads[i],
                    "ratio": round(self.ratios[i], 3),
                    "median_ms": ms(self.medians[i]),
                    "one_round_ms": ms(self.one_round[i]),
                    "one_round_ratio": round(ratio(self.one_round[0], self.one_round[i]), 3),
                    "exec_ms": ms(exec),
                    "exec_ratio": round(ratio(exec0, exec), 3),
                    "serial_ms": ms(self.one_round[i].saturating_sub(exec)),
                    "pooled_ms": ms(self.observed(i, |o| o.pooled)),
                    "wasmtime_ratio": round(self.wasmtime_ratios()[i], 3),
                })
            })
            .collect();
        let mut line = json!({
            "measure": self.keys.measure(),
            "ratio": round(self.ratio(), 3),
            "threads": self.threads.last(),
            "calls": self.calls,
            "round_calls": ROUND_CALLS,
            "reps": self.reps,
            "work_rounds": self.calibration.work_rounds,
            "call_us": round(self.calibration.call_us, 1),
            "fixed_call_us": round(self.calibration.fixed_us, 1),
            "curve": curve,
        });
        if self.keys == Keys::Zipf {
            line["keys"] = json!(ZIPF_KEYS);
            line["exponent"] = json!(ZIPF_EXPONENT);
            line["dag_parallelism"] = json!(round(self.parallelism(), 1));
        }
        line
    }

    /// Work ÷ span at the largest thread count: the median over the repetitions.
    fn parallelism(&self) -> f64 {
        let last = self.observed.last().expect("at least the baseline");
        let values: Vec<f64> = last.iter().map(|o| ratio(o.work, o.span)).collect();
        median_f64(&values)
    }

    /// The `amdahl_ceiling` line: 1 + execute ÷ serial of the one-round host at 1 thread,
    /// the speedup no core count can pass while the serial part of the round stays as it
    /// is. *serial* counts what runs on one thread at a time, wherever it runs:
    ///
    /// - the round less its parallel phase (`Schedule::run`) and less the jobs it splits
    ///   across the pool (the merge, the commit's preparation and its apply, less the
    ///   apply's wait on the disk: [`Host::pool_time`]): the queue read, the DAG, the
    ///   journal, the wait on the flush;
    /// - plus the part of those jobs that does not shrink with more threads, from their
    ///   times at 1 and N threads (the largest count): with T(k) = s + p/k,
    ///   s = (N·T(N) − T(1)) / (N − 1) (Karp–Flatt). With no second count they count whole.
    ///
    /// `floor` is the old, stricter figure that counts those jobs whole as serial.
    pub(crate) fn amdahl_line(&self) -> Value {
        let last = self.threads.len() - 1;
        let exec = self.observed(0, |o| o.exec);
        let pooled = self.observed(0, |o| o.pooled);
        let pooled_n = self.observed(last, |o| o.pooled);
        let pooled_serial = serial_share(pooled, pooled_n, self.threads[last]);
        let outside = self.one_round[0].saturating_sub(exec);
        let serial = outside.saturating_sub(pooled) + pooled_serial;
        let ceiling =
            |serial: Duration| round(1.0 + exec.as_secs_f64() / serial.as_secs_f64().max(1e-9), 1);
        let per_call = |d: Duration| round(d.as_secs_f64() * 1e6 / self.calls as f64, 2);
        json!({
            "measure": "amdahl_ceiling",
            "value": ceiling(serial),
            "calls": self.calls,
            "threads": self.threads[0],
            "exec_ms": ms(exec),
            "serial_ms": ms(serial),
            "serial_us_per_call": per_call(serial),
            "pooled_ms": ms(pooled),
            "pooled_ms_at_n": ms(pooled_n),
            "pooled_serial_ms": ms(pooled_serial),
            "n": self.threads[last],
            "floor": ceiling(outside),
            "floor_serial_us_per_call": per_call(outside),
        })
    }

    /// The `available_parallelism` JSON line (of a uniform curve), with the medians of the
    /// work, the span and the call durations (50th, 99th percentile, longest) behind it.
    pub(crate) fn parallelism_line(&self) -> Value {
        let i = self.threads.len() - 1;
        let us = |d: Duration| round(d.as_secs_f64() * 1e6, 1);
        json!({
            "measure": "available_parallelism",
            "value": round(self.parallelism(), 1),
            "calls": self.calls,
            "threads": self.threads[i],
            "reps": self.observed[i].len(),
            "work_ms": ms(self.observed(i, |o| o.work)),
            "span_ms": ms(self.observed(i, |o| o.span)),
            "call_p50_us": us(self.observed(i, |o| o.p50)),
            "call_p99_us": us(self.observed(i, |o| o.p99)),
            "call_max_us": us(self.observed(i, |o| o.max)),
        })
    }
}

/// `a / b` as a float; 0 if `b` is zero.
fn ratio(a: Duration, b: Duration) -> f64 {
    if b.is_zero() {
        0.0
    } else {
        a.as_secs_f64() / b.as_secs_f64()
    }
}

/// Calibration batches: a warm-up, two probes, a refinement, a check.
const CALIBRATION_STEPS: usize = 5;

/// A host with `threads` workers, rounds of up to `round_calls` calls, the trace on, and
/// the analytics canister installed.
fn analytics_host(threads: usize, round_calls: usize) -> anyhow::Result<Host> {
    let config = Config {
        threads,
        max_round_calls: round_calls,
        trace: true,
        ..Config::default()
    };
    host_with(&ANALYTICS, config)
}

/// Finds the `rounds` of `analytics.work` that make a call cost about 50 µs: the median
/// call duration (from the scheduler's trace, at 1 thread) is linear in `rounds`, so two
/// probes give the line, and one more batch refines it.
fn calibrate(calls: usize, progress: &Progress) -> anyhow::Result<Calibration> {
    let mut host = analytics_host(1, calls)?;
    let mut key = u64::MAX / 2;
    let mut call_us = |rounds: u32| -> anyhow::Result<f64> {
        let args: Vec<Vec<u8>> = (0..calls)
            .map(|_| {
                key += 1;
                candid::encode_args((key, rounds)).expect("a nat64 and a nat32 encode")
            })
            .collect();
        run_calls(&mut host, ANALYTICS.name, "work", &args, Ticking::Serial)?;
        let (_, trace) = host.last_trace().context("the host records traces")?;
        let durations: Vec<f64> = trace
            .start
            .iter()
            .zip(&trace.end)
            .map(|(s, e)| e.saturating_sub(*s).as_secs_f64() * 1e6)
            .collect();
        progress.step();
        Ok(median_f64(&durations))
    };
    call_us(0)?; // warm-up
    let fixed_us = call_us(0)?;
    const PROBE: u32 = 20_000;
    let per_round = ((call_us(PROBE)? - fixed_us) / f64::from(PROBE)).max(1e-6);
    let guess = ((TARGET_CALL_US - fixed_us) / per_round).max(1.0);
    let at_guess = call_us(guess as u32)?;
    // Refine: scale the part that grows with `rounds` to hit the target.
    let scale = (TARGET_CALL_US - fixed_us) / (at_guess - fixed_us).max(1e-3);
    let work_rounds = (guess * scale).clamp(1.0, f64::from(u32::MAX)) as u32;
    Ok(Calibration {
        work_rounds,
        call_us: call_us(work_rounds)?,
        fixed_us,
    })
}
