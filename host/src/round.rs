//! Rounds: which accepted calls run together, and running them (`docs/modes.md`); their commit
//! is [`crate::commit`]'s.
//!
//! A round is either pending pure calls (up to a size cap and a fuel budget, `budget`), or
//! one update or oneway call alone. Canisters share no state, so serial equivalence is each
//! canister's own: a round takes each canister's pending calls in seq order, and may leave
//! the rest of one canister's calls (a heavy backlog, or an update that waits) while it
//! takes later calls of others. Those commit ahead of the waiting ones (`crate::finished`).
//!
//! # Invariants
//!
//! - (A) For each canister, a round's calls are the first of its pending calls in seq order:
//!   nothing pending of that canister with a smaller seq is left behind, so each canister's
//!   calls commit in seq order (store invariant D). An update or oneway is a barrier for its
//!   canister: no later call of it shares a round with the calls before it.
//! - (B) A round's calls run against the state committed before it: a pure round reads
//!   none, an update round is one call that runs after every earlier call of its canister
//!   committed.
//! - (C) What a round produces (its executions, their merged delta) depends on the calls
//!   alone: their seqs, records and write logs, never on the wall clock, the thread count or
//!   the order executions finished.

use crate::execute::{self, CanisterState, Compiled, Engine, ExecuteError, Execution};
use crate::finished::Finished;
use crate::merge::{Delta, MergeError};
use crate::queue::{self, CallKind, Fresh, QueueError, QueuedCall};
use crate::registry::{Canister, Registry};
use crate::root::Root;
use crate::store::{StateReader, StoreError};
use crate::submit::{ChildCheck, SubmitError};
use budget::Plan;
use rayon::prelude::*;
use std::collections::{HashMap, HashSet};
use thiserror::Error;

pub mod budget;
mod pool_time;

pub use pool_time::PoolTime;

/// A round could not be run or committed. Nothing of it was committed.
#[derive(Debug, Error)]
pub enum RoundError {
    /// Reading the queue failed.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// The store refused the commit.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Merging the logs failed (a seq twice: a bug, never input).
    #[error(transparent)]
    Merge(#[from] MergeError),
    /// The host failed to run a call (not the guest's fault); the round commits nothing
    /// and the call runs again on the next tick.
    #[error("running seq {seq}: {error}")]
    Execute {
        /// The call's seq.
        seq: u64,
        /// What failed.
        error: ExecuteError,
    },
    /// A child call validated while its parent ran, but not at commit.
    #[error("child call of seq {parent} refused at commit: {error}")]
    Child {
        /// The parent's seq.
        parent: u64,
        /// Why.
        error: SubmitError,
    },
}

/// How many trapped seqs a [`RoundReport`] lists.
pub const TRAPPED_LISTED: usize = 10;

/// What a round did, as `commute tick` prints it (one JSON object per round).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RoundReport {
    /// The round number, from 1, durable.
    pub round: u64,
    /// How many calls it committed.
    pub calls: usize,
    /// How many of them trapped.
    pub trapped: usize,
    /// The seqs of the first of them ([`TRAPPED_LISTED`] at most), so that who ran the
    /// round can say which failed; `commute status SEQ` tells why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub trapped_seqs: Vec<u64>,
    /// The state root after it.
    #[serde(serialize_with = "hex_root")]
    pub root: Root,
    /// Wall time from taking the calls to the flushed commit, in microseconds (set by the
    /// caller, which flushes).
    pub micros: u64,
}

fn hex_root<S: serde::Serializer>(root: &Root, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&root.to_hex())
}

/// What the next round takes from the queue.
#[derive(Debug, Default)]
pub struct Taken {
    /// Its calls, in seq order.
    pub calls: Vec<(u64, QueuedCall)>,
    /// The first seqs of the queue chunks it empties, which its commit removes (queue
    /// invariant B).
    pub spent: Vec<u64>,
    /// Whether an update or oneway could have run but for the pure calls before it: the
    /// next round should be [`next_update`]'s, or a backlog of pure calls of other
    /// canisters would hold it for as long as it lasts.
    pub update_waits: bool,
}

/// How many pending calls a round looks at past the calls of canisters it leaves for later
/// (invariant A): a call that far behind a backlog waits for it to shrink.
pub const SCAN_WINDOW: usize = 1 << 16;

/// The most calls the next round of a pipelined tick takes, with rounds of at most `max`
/// calls and `pending` calls waiting: half of them, but at least a quarter of `max`.
///
/// Nothing overlaps the commit of a backlog's last round, so as the backlog drains its
/// rounds shrink and that commit is short. Not below a quarter of `max`: a smaller round
/// writes a hot key's entry once more (a round merges its calls' writes to one entry) and
/// pays a round's fixed costs (its flush) once more. The cut changes which calls share a
/// round, never what they commit (invariant C).
///
/// ```
/// use commute::round::backlog_cap;
///
/// assert_eq!(backlog_cap(1_000, 100_000), 1_000);
/// assert_eq!(backlog_cap(1_000, 1_000), 500);
/// assert_eq!(backlog_cap(1_000, 100), 250);
/// assert_eq!(backlog_cap(10_000, 2_000), 2_500);
/// ```
pub fn backlog_cap(max: usize, pending: u64) -> usize {
    let half = usize::try_from(pending.div_ceil(2)).unwrap_or(usize::MAX);
    half.clamp(max / 4, max)
}

/// The calls of the next round (invariant A), none if nothing is pending: pending calls in
/// seq order, each canister's a prefix of its own, up to `max_calls` and as `plan`'s budget
/// allows. `done` holds the calls committed or in a round before this one: they are
/// skipped. Only seqs below `bound`, a [`queue::Tail::next_seq`] read before this, are
/// taken: those are all written, so what is taken has no gap (queue invariant C) even
/// while other threads append. The queue is read from `tree`, each chunk taken from `fresh`
/// (a [`queue::Tail::fresh`]) instead where it is kept there.
///
/// # Errors
///
/// [`QueueError`] if the queue cannot be read.
pub fn next_calls(
    (tree, fresh): (&sled::Tree, Option<&Fresh>),
    max_calls: usize,
    done: &Finished,
    bound: u64,
    plan: &mut Plan,
) -> Result<Taken, QueueError> {
    let mut taken = Taken::default();
    // Canisters whose next pending call this round leaves: so it leaves all their later
    // ones (invariant A).
    let mut closed: HashSet<String> = HashSet::new();
    for seen in scan((tree, fresh), done, bound) {
        let Seen {
            first,
            pending,
            cut,
        } = seen?;
        // Whether every call of the chunk is done or taken, so far.
        let mut emptied = !cut;
        let mut stop = false;
        let mut calls = pending.into_iter();
        for (seq, call) in calls.by_ref() {
            if closed.contains(&call.canister) {
                emptied = false;
                continue;
            }
            if call.kind != CallKind::Pure {
                if taken.calls.is_empty() {
                    // An update or oneway runs alone, after every call before it of its
                    // canister: none is pending, or its canister would be closed.
                    taken.calls.push((seq, call));
                    stop = true;
                    break;
                }
                // A barrier for its canister only; the other canisters go on.
                taken.update_waits = true;
                closed.insert(call.canister);
                emptied = false;
                continue;
            }
            if !plan.admit(&call) {
                closed.insert(call.canister);
                emptied = false;
                continue;
            }
            taken.calls.push((seq, call));
            if taken.calls.len() >= max_calls.max(1) {
                stop = true;
                break;
            }
        }
        // What a stop left pending of the chunk keeps it.
        if emptied && calls.next().is_none() {
            taken.spent.push(first);
        }
        if stop {
            break;
        }
    }
    Ok(taken)
}

/// The first update or oneway call, in seq order, with no pending call of its canister
/// before it, that `done` leaves and that lies below `bound` within [`SCAN_WINDOW`]: the
/// round that runs it alone, when pure calls before it kept it from the last one.
///
/// # Errors
///
/// [`QueueError`] if the queue cannot be read.
pub fn next_update(
    (tree, fresh): (&sled::Tree, Option<&Fresh>),
    done: &Finished,
    bound: u64,
) -> Result<Taken, QueueError> {
    let mut waiting: HashSet<String> = HashSet::new();
    // Chunks met that are wholly done: removed with the update (queue invariant B).
    let mut spent = Vec::new();
    for seen in scan((tree, fresh), done, bound) {
        let Seen {
            first,
            pending,
            cut,
        } = seen?;
        let mut before = false;
        let mut found = None;
        let mut calls = pending.into_iter();
        for (seq, call) in calls.by_ref() {
            if call.kind != CallKind::Pure && !waiting.contains(&call.canister) {
                found = Some((seq, call));
                break;
            }
            before = true;
            waiting.insert(call.canister);
        }
        // The chunk goes with the update if nothing else of it is pending.
        if !cut && !before && calls.next().is_none() {
            spent.push(first);
        }
        if let Some(update) = found {
            return Ok(Taken {
                calls: vec![update],
                spent,
                update_waits: false,
            });
        }
    }
    Ok(Taken::default())
}

/// A queue chunk as a round's scan sees it.
struct Seen {
    /// Its first seq.
    first: u64,
    /// Its calls that are not done, in seq order, up to where the scan stopped.
    pending: Vec<(u64, QueuedCall)>,
    /// Whether the scan stopped inside it: at `bound` (not yet visible whole) or past
    /// [`SCAN_WINDOW`] pending calls (too far behind a backlog). The last chunk seen.
    cut: bool,
}

/// The queue's chunks from `done`'s watermark on, each with its calls that `done` leaves,
/// until a seq at `bound` or the [`SCAN_WINDOW`]th pending call: what [`next_calls`] and
/// [`next_update`] walk.
fn scan<'a>(
    (tree, fresh): (&sled::Tree, Option<&'a Fresh>),
    done: &'a Finished,
    bound: u64,
) -> impl Iterator<Item = Result<Seen, QueueError>> + 'a {
    let mut looked = 0;
    let mut ended = false;
    queue::chunks_with(tree, done.last(), fresh.map(|f| (f, bound))).map_while(move |chunk| {
        if ended {
            return None;
        }
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(e) => return Some(Err(e)),
        };
        let first = chunk.first;
        let mut pending = Vec::new();
        for (seq, call) in (first..).zip(chunk.calls) {
            if done.contains(seq) {
                continue;
            }
            if seq >= bound || looked >= SCAN_WINDOW {
                ended = true;
                break;
            }
            looked += 1;
            pending.push((seq, call));
        }
        Some(Ok(Seen {
            first,
            pending,
            cut: ended,
        }))
    })
}

/// What the calls to one method of one canister run: the canister and the export, looked
/// up once a round rather than once per call (a logging round is one method's calls, and
/// the lookups by name were a tenth of what the host added to a call). `Err` is the
/// message such a call traps with: the canister or the method is gone.
pub type Target<'r> = Result<(&'r Canister, String), String>;

/// Each call's [`Target`], by index into the targets: one lookup per distinct (canister,
/// method) of `calls`. A call to the method of the call before it (most of a logging
/// round) is not even hashed.
pub fn targets<'r>(
    registry: &'r Registry,
    calls: &[(u64, QueuedCall)],
) -> (Vec<Target<'r>>, Vec<usize>) {
    let mut known: HashMap<(&str, &str), usize> = HashMap::new();
    let mut last: Option<((&str, &str), usize)> = None;
    let mut targets = Vec::new();
    let mut which = Vec::with_capacity(calls.len());
    for (_, call) in calls {
        let name = (call.canister.as_str(), call.method.as_str());
        let i = match last {
            Some((previous, i)) if previous == name => i,
            _ => *known.entry(name).or_insert_with(|| {
                targets.push(target(registry, name.0, name.1));
                targets.len() - 1
            }),
        };
        last = Some((name, i));
        which.push(i);
    }
    (targets, which)
}

/// Compiles the module of every canister `targets` names that is not compiled yet, before
/// any of their calls runs. A call that compiled its module itself would hold the module's
/// single flight while wasmtime compiles on the pool; a worker that meanwhile steals
/// another call of that canister would wait on the compile it is itself running, for
/// ever. An error is left for the calls to report: each call asks again and gets it.
pub fn compile(engine: &Engine, targets: &[Target<'_>]) {
    for (canister, _) in targets.iter().flatten() {
        let _ = canister.compiled(engine);
    }
}

/// The [`Target`] of `method` of `canister`.
fn target<'r>(registry: &'r Registry, canister: &str, method: &str) -> Target<'r> {
    let Some(installed) = registry.get(canister) else {
        return Err(format!("canister `{canister}` is not installed"));
    };
    let Some(mode) = installed
        .interface
        .with(|i| i.method(method).map(|m| m.mode))
    else {
        return Err(format!("canister `{canister}` has no method `{method}`"));
    };
    Ok((installed, mode.export_name(method)))
}

/// Runs one accepted call against the committed state, `target` being its [`Target`]. What
/// the guest does wrong is in the execution's outcome; an `Err` is the host's own failure,
/// which decides nothing about the call.
///
/// # Errors
///
/// [`ExecuteError`] if the host could not run the call (state unreadable, say).
pub fn execute(
    engine: &Engine,
    registry: &Registry,
    reader: &StateReader,
    call: &QueuedCall,
    target: &Target<'_>,
) -> Result<Execution, ExecuteError> {
    let (canister, export) = match target {
        Ok(target) => target,
        Err(message) => return Ok(Execution::trapped(message.clone())),
    };
    let compiled = canister.compiled(engine)?;
    let mode = match call.kind {
        CallKind::Pure => execute::Mode::PureUpdate,
        CallKind::Update => execute::Mode::Update,
        CallKind::Oneway => execute::Mode::Oneway,
    };
    let exec_call = execute::Call {
        canister: &call.canister,
        self_principal: canister.principal.as_slice(),
        method: &call.method,
        export,
        mode,
        caller: &call.caller,
        arg: &call.arg,
        time: call.time,
    };
    run_call(engine, registry, reader, compiled, &exec_call)
}

/// Runs `call` on `compiled` against the committed state of its canister, checking the
/// child calls it fires against the installed canisters: the one way every mode runs.
///
/// # Errors
///
/// [`ExecuteError`] if the host could not run the call.
pub fn run_call(
    engine: &Engine,
    registry: &Registry,
    reader: &StateReader,
    compiled: &Compiled,
    call: &execute::Call<'_>,
) -> Result<Execution, ExecuteError> {
    let state = CanisterState::new(reader, call.canister);
    let children = ChildCheck {
        registry,
        max_arg_bytes: engine.limits().arg_bytes,
    };
    compiled.execute(engine, call, &state, &children)
}

/// A call that ran: its seq, the call, and what running it did.
pub type Executed = (u64, QueuedCall, Execution);

/// The merged delta of a round's calls (`docs/modes.md`): their write logs folded in
/// parallel on the current rayon pool. The merge law makes the grouping rayon picks
/// irrelevant, and it needs no state, so a round's delta is folded while the round before
/// it still commits instead of on the serial commit path.
///
/// The logs' keys and values are moved into the delta (each call's log is empty after):
/// copied, the fold of 3,000 logging calls a tick at 1 thread took 1.84–2.12 ms, moved
/// 1.59–1.86 ms (medians of three runs each).
///
/// In one piece per worker: each merge of two pieces rebuilds the larger one's trees, so
/// the more pieces rayon made, the more each entry moved (at 2 threads ~2% of a worker's
/// CPU in a tick of logging calls, which one thread never spends). Folding logs costs the
/// same for every call, so there is nothing for smaller pieces to balance. The profiling
/// loop (3,000 logging calls a tick, 2 threads), interleaved pairs: 28.72 → 27.96 and
/// 28.82 → 28.34 ms (16 of 22 pairs faster); a round of 1,000 calls of 256 users, submit
/// and tick: 10.19 → 9.74 ms (6 of 8).
///
/// # Errors
///
/// [`MergeError::DuplicateSeq`] if two calls share a seq (a bug, never input).
pub fn merge(ran: &mut [Executed]) -> Result<Delta, MergeError> {
    let piece = ran.len().div_ceil(rayon::current_num_threads()).max(1);
    ran.par_iter_mut()
        .with_min_len(piece)
        .try_fold(Delta::new, |mut delta, (seq, call, ex)| {
            delta.add_owned(*seq, &call.canister, std::mem::take(&mut ex.log))?;
            Ok(delta)
        })
        .try_reduce(Delta::new, Delta::merged)
}

#[cfg(test)]
mod tests;
