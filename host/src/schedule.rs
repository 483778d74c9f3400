//! Scheduling a round's pure calls: the key DAG, and running it on a rayon pool
//! (`docs/modes.md`).
//!
//! # The DAG
//!
//! Calls are numbered by their position in the round, which is seq order. Call `i` waits
//! for the *latest* earlier call that shares any of its keys, per key, and for nothing
//! else; keys are scoped to the canister. Edges only point from earlier to later calls, so
//! the graph is acyclic and no deadlock can arise; calls that share a key run one after
//! another in seq order; a call with several keys takes them all at once by waiting for the
//! latest holder of each.
//!
//! Building it costs O(keys) hash-map operations (hashbrown: key → last call holding it).
//! The map is for lookups only; its iteration order never reaches anything.
//!
//! # Dispatch
//!
//! Every call with no predecessor is spawned at once; a call is spawned the moment its last
//! predecessor finishes, by the thread that finished it. There are no waves: a worker is
//! idle only when no call is ready.
//!
//! A round in which no call waits for another (every call's keys its own, or no keys: most
//! logging) is a parallel loop over its calls instead, in small groups: the same calls on
//! the same workers, without a job of its own for each.
//!
//! # Invariants
//!
//! - (A) `preds(i)` are indices `< i`, sorted, without duplicates; `succs` is its
//!   transpose, each call's successors sorted too.
//! - (B) `run` calls `work(i)` exactly once for every `i`, and only after `work(p)` returned
//!   for every `p` in `preds(i)`; results come back indexed by `i`, whatever the order calls
//!   finished in.

use hashbrown::HashMap;
use rayon::prelude::*;
use rayon::{Scope, ThreadPool};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The dependency DAG of one round's calls; see the module doc.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schedule {
    preds: Adjacency,
    succs: Adjacency,
}

/// The neighbours of each call, all in one vector: call `i`'s are `to[ends[i - 1]..ends[i]]`.
/// One allocation for a round, where a `Vec` per call cost two (its predecessors and its
/// successors) for every call that shares a key: `Schedule::build` of 10,000 calls with
/// 3 keys each took 1.53 ms that way (criterion).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Adjacency {
    ends: Vec<u32>,
    to: Vec<u32>,
}

impl Adjacency {
    /// The neighbours of call `i`.
    fn of(&self, i: usize) -> &[u32] {
        let start = i.checked_sub(1).map_or(0, |j| self.ends[j]);
        &self.to[start as usize..self.ends[i] as usize]
    }

    /// Appends the next call, with `neighbours`.
    fn push(&mut self, neighbours: &[u32]) {
        self.to.extend_from_slice(neighbours);
        self.ends
            .push(u32::try_from(self.to.len()).expect("fewer than 2^32 edges"));
    }

    /// The transpose of `self`, over the same calls, each call's neighbours in ascending
    /// order.
    fn transpose(&self) -> Adjacency {
        let mut counts = vec![0u32; self.ends.len()];
        for &p in &self.to {
            counts[p as usize] += 1;
        }
        let mut ends = Vec::with_capacity(counts.len());
        let mut end = 0;
        for count in counts {
            end += count;
            ends.push(end);
        }
        // Filled from the front of each call's range, callers in ascending order.
        let mut next: Vec<u32> = std::iter::once(0).chain(ends.iter().copied()).collect();
        let mut to = vec![0; self.to.len()];
        for i in 0..self.ends.len() {
            for &p in self.of(i) {
                let at = &mut next[p as usize];
                to[*at as usize] = i as u32;
                *at += 1;
            }
        }
        Adjacency { ends, to }
    }
}

/// When each call of a round became ready, started and ended, from the start of `run`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace {
    /// When call `i`'s last predecessor ended (0 for calls with none).
    pub ready: Vec<Duration>,
    /// When `work(i)` started.
    pub start: Vec<Duration>,
    /// When `work(i)` returned.
    pub end: Vec<Duration>,
}

impl Trace {
    /// Total work: the sum of every call's duration.
    pub fn work(&self) -> Duration {
        self.start
            .iter()
            .zip(&self.end)
            .map(|(s, e)| e.saturating_sub(*s))
            .sum()
    }

    /// The span: the longest chain of call durations along the DAG's edges, i.e. the time
    /// the round would take on infinitely many cores.
    pub fn span(&self, schedule: &Schedule) -> Duration {
        let mut finish = vec![Duration::ZERO; self.start.len()];
        for i in 0..finish.len() {
            let own = self.end[i].saturating_sub(self.start[i]);
            let after = (schedule.preds(i).iter())
                .map(|&p| finish[p as usize])
                .max()
                .unwrap_or_default();
            finish[i] = after + own;
        }
        finish.into_iter().max().unwrap_or_default()
    }
}

impl Schedule {
    /// Builds the DAG of calls whose keys are `keys[i]`, each key a `(canister, key)` pair.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::schedule::Schedule;
    ///
    /// let k = |c: &'static str, k: &'static [u8]| (c, k);
    /// let s = Schedule::build(&[
    ///     vec![k("log", b"alice")],                   // 0
    ///     vec![k("log", b"bob")],                     // 1
    ///     vec![k("log", b"alice"), k("log", b"bob")], // 2: waits for 0 and 1
    ///     vec![k("other", b"alice")],                 // 3: another canister's key
    ///     vec![],                                     // 4: no key, never waits
    ///     vec![k("log", b"alice")],                   // 5: waits for 2 only
    /// ]);
    /// assert_eq!(s.preds(2), &[0, 1]);
    /// assert_eq!(s.preds(3), &[] as &[u32]);
    /// assert_eq!(s.preds(5), &[2]);
    /// ```
    ///
    /// # Panics
    ///
    /// If there are more than `u32::MAX` calls.
    pub fn build<K: AsRef<[(C, B)]>, C: AsRef<str>, B: AsRef<[u8]>>(keys: &[K]) -> Schedule {
        let n = keys.len();
        assert!(
            u32::try_from(n).is_ok(),
            "a round holds at most u32::MAX calls"
        );
        let mut last: HashMap<(&str, &[u8]), u32> = HashMap::with_capacity(n);
        let mut preds = Adjacency {
            ends: Vec::with_capacity(n),
            to: Vec::new(),
        };
        let mut mine: Vec<u32> = Vec::new();
        for (i, call_keys) in keys.iter().enumerate() {
            let i = i as u32;
            mine.clear();
            for (canister, key) in call_keys.as_ref() {
                if let Some(p) = last.insert((canister.as_ref(), key.as_ref()), i) {
                    if p != i {
                        mine.push(p);
                    }
                }
            }
            // Invariant A: sorted, no duplicates (two keys may share a last holder).
            mine.sort_unstable();
            mine.dedup();
            preds.push(&mine);
        }
        let succs = preds.transpose();
        Schedule { preds, succs }
    }

    /// The number of calls.
    pub fn len(&self) -> usize {
        self.preds.ends.len()
    }

    /// Whether there are no calls.
    pub fn is_empty(&self) -> bool {
        self.preds.ends.is_empty()
    }

    /// The calls call `i` waits for.
    pub fn preds(&self, i: usize) -> &[u32] {
        self.preds.of(i)
    }

    /// The number of edges.
    pub fn edges(&self) -> usize {
        self.preds.to.len()
    }

    /// Runs `work(i)` for every call on `pool`, each as soon as its predecessors are done
    /// (invariant B), and returns the results in call order, with a [`Trace`] if `trace`.
    ///
    /// # Examples
    ///
    /// ```
    /// use commute::schedule::Schedule;
    ///
    /// let s = Schedule::build(&[vec![("c", b"k")], vec![("c", b"k")], vec![]]);
    /// let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
    /// let (out, trace) = s.run(&pool, |i| i * 10, true);
    /// assert_eq!(out, vec![0, 10, 20]);
    /// let trace = trace.unwrap();
    /// assert!(trace.start[1] >= trace.end[0], "1 waited for 0");
    /// ```
    ///
    /// # Panics
    ///
    /// If `work` panics (the panic is propagated once every spawned call has returned).
    pub fn run<T: Send>(
        &self,
        pool: &ThreadPool,
        work: impl Fn(usize) -> T + Sync,
        trace: bool,
    ) -> (Vec<T>, Option<Trace>) {
        let n = self.len();
        if self.edges() == 0 {
            return self.run_independent(pool, &work, trace);
        }
        let run = Run {
            schedule: self,
            work: &work,
            waiting: (0..n)
                .map(|i| AtomicU32::new(self.preds(i).len() as u32))
                .collect(),
            results: (0..n).map(|_| Mutex::new(None)).collect(),
            times: trace.then(|| Times::new(n)),
            t0: Instant::now(),
        };
        pool.scope(|s| {
            for i in 0..n {
                if self.preds(i).is_empty() {
                    run.spawn(s, i);
                }
            }
        });
        let results = run
            .results
            .into_iter()
            .map(|slot| {
                slot.into_inner()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .expect("invariant B: every call ran")
            })
            .collect();
        (results, run.times.map(Times::into_trace))
    }

    /// [`Schedule::run`] of calls of which none waits for another (distinct keys, or none:
    /// the logging case): a parallel loop over them, in groups of at most
    /// [`INDEPENDENT_GROUP`]. A job spawned per call cost each call an allocation, a deque
    /// push and pop, a lock for its result and two clock reads; `tiny_vs_wasmtime` went
    /// from 0.446-0.493 to 0.493-0.497 without them, interleaved. Groups that small still
    /// share out calls of unequal length: `speedup_uniform` (50 µs calls) was 1.85-1.87
    /// per call, 1.87-1.89 in groups of 16, 1.91-1.92 in groups of 4.
    fn run_independent<T: Send>(
        &self,
        pool: &ThreadPool,
        work: &(impl Fn(usize) -> T + Sync),
        trace: bool,
    ) -> (Vec<T>, Option<Trace>) {
        let n = self.len();
        let times = trace.then(|| Times::new(n));
        let t0 = Instant::now();
        let now = || nanos_since(t0);
        let results = pool.install(|| {
            (0..n)
                .into_par_iter()
                .with_max_len(INDEPENDENT_GROUP)
                .map(|i| {
                    let Some(t) = &times else {
                        return work(i);
                    };
                    // Ready at once: no predecessor (`ready` stays 0).
                    t.start[i].store(now(), Ordering::Relaxed);
                    let result = work(i);
                    t.end[i].store(now(), Ordering::Relaxed);
                    result
                })
                .collect()
        });
        (results, times.map(Times::into_trace))
    }
}

/// Nanoseconds since `t0`, as a trace records them.
fn nanos_since(t0: Instant) -> u64 {
    u64::try_from(t0.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// The most calls of [`Schedule::run_independent`] one job runs in a row.
const INDEPENDENT_GROUP: usize = 4;

/// Per-call timestamps, in nanoseconds since `t0`, written by whichever thread ran the call.
struct Times {
    ready: Vec<AtomicU64>,
    start: Vec<AtomicU64>,
    end: Vec<AtomicU64>,
}

impl Times {
    fn new(n: usize) -> Times {
        let zeros = || (0..n).map(|_| AtomicU64::new(0)).collect();
        Times {
            ready: zeros(),
            start: zeros(),
            end: zeros(),
        }
    }

    fn into_trace(self) -> Trace {
        let d = |v: Vec<AtomicU64>| {
            v.into_iter()
                .map(|a| Duration::from_nanos(a.into_inner()))
                .collect()
        };
        Trace {
            ready: d(self.ready),
            start: d(self.start),
            end: d(self.end),
        }
    }
}

struct Run<'a, T, W> {
    schedule: &'a Schedule,
    work: &'a W,
    /// How many predecessors of each call have not ended yet.
    waiting: Vec<AtomicU32>,
    results: Vec<Mutex<Option<T>>>,
    times: Option<Times>,
    t0: Instant,
}

impl<'a, T: Send, W: Fn(usize) -> T + Sync> Run<'a, T, W> {
    fn now(&self) -> u64 {
        nanos_since(self.t0)
    }

    fn spawn<'s>(&'s self, s: &Scope<'s>, i: usize) {
        s.spawn(move |s| {
            if let Some(t) = &self.times {
                t.start[i].store(self.now(), Ordering::Relaxed);
            }
            let result = (self.work)(i);
            *self.results[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(result);
            let ended = self.now();
            if let Some(t) = &self.times {
                t.end[i].store(ended, Ordering::Relaxed);
            }
            for &next in self.schedule.succs.of(i) {
                let next = next as usize;
                // The last predecessor to end releases the call (AcqRel: it sees all their
                // effects, which the results' mutexes also order).
                if self.waiting[next].fetch_sub(1, Ordering::AcqRel) == 1 {
                    if let Some(t) = &self.times {
                        t.ready[next].store(ended, Ordering::Relaxed);
                    }
                    self.spawn(s, next);
                }
            }
        });
    }
}

#[cfg(test)]
mod tests;
