//! Rounds: which accepted calls run together, and running them (`docs/modes.md`); their commit
//! is [`crate::commit`]'s.
//!
//! A round is either a run of consecutive pending pure calls (up to a size cap), or one
//! update or oneway call alone: updates are barriers, so a round never holds calls on both
//! sides of one, and serial equivalence holds across modes.
//!
//! # Invariants
//!
//! - (A) A round's calls are the first pending calls in seq order: nothing pending with a
//!   smaller seq is left behind, so commits happen in seq order (store invariant D).
//! - (B) A round's calls run against the state committed before it: a pure round reads
//!   none, an update round is one call that runs after every earlier round committed.
//! - (C) What a round produces (its executions, their merged delta) depends on the calls
//!   alone: their seqs, records and write logs, never on the wall clock, the thread count or
//!   the order executions finished.

use crate::execute::{self, CanisterState, Compiled, Engine, ExecuteError, Execution};
use crate::merge::{Delta, MergeError};
use crate::queue::{self, CallKind, QueueError, QueuedCall};
use crate::registry::Registry;
use crate::root::Root;
use crate::store::{StateReader, StoreError};
use crate::submit::{ChildCheck, SubmitError};
use rayon::prelude::*;
use thiserror::Error;

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
}

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

/// The calls of the next round (invariant A), none if nothing is pending. `committed` is
/// the store's last committed seq. Only seqs below `bound`, a [`queue::Tail::next_seq`] read
/// before this, are taken: those are all written, so what is taken has no gap (queue
/// invariant C) even while other threads append.
///
/// # Errors
///
/// [`QueueError`] if the queue cannot be read.
pub fn next_calls(
    tree: &sled::Tree,
    max_calls: usize,
    committed: u64,
    bound: u64,
) -> Result<Taken, QueueError> {
    let mut taken = Taken::default();
    // Every seq up to `done` is committed or taken.
    let mut done = committed;
    'chunks: for chunk in queue::chunks(tree, committed) {
        let chunk = chunk?;
        let (first, end) = (chunk.first, chunk.end());
        let mut full = false;
        for (seq, call) in (first..).zip(chunk.calls) {
            if seq <= committed {
                continue;
            }
            let pure = call.kind == CallKind::Pure;
            if seq >= bound || (!taken.calls.is_empty() && !pure) {
                break 'chunks; // not yet visible whole, or an update: a barrier
            }
            taken.calls.push((seq, call));
            done = seq;
            if !pure || taken.calls.len() >= max_calls.max(1) {
                full = true;
                break;
            }
        }
        if done + 1 >= end {
            taken.spent.push(first);
        }
        if full {
            break;
        }
    }
    Ok(taken)
}

/// Runs one accepted call against the committed state. What the guest does wrong is in
/// the execution's outcome; an `Err` is the host's own failure, which decides nothing
/// about the call.
///
/// # Errors
///
/// [`ExecuteError`] if the host could not run the call (state unreadable, say).
pub fn execute(
    engine: &Engine,
    registry: &Registry,
    reader: &StateReader,
    call: &QueuedCall,
) -> Result<Execution, ExecuteError> {
    let trapped = |message: String| Ok(Execution::trapped(message));
    let Some(canister) = registry.get(&call.canister) else {
        return trapped(format!("canister `{}` is not installed", call.canister));
    };
    let Some(mode) = canister
        .interface
        .with(|i| i.method(&call.method).map(|m| m.mode))
    else {
        return trapped(format!(
            "canister `{}` has no method `{}`",
            call.canister, call.method
        ));
    };
    let compiled = canister.compiled(engine)?;
    let export = mode.export_name(&call.method);
    let mode = match call.kind {
        CallKind::Pure => execute::Mode::PureUpdate,
        CallKind::Update => execute::Mode::Update,
        CallKind::Oneway => execute::Mode::Oneway,
    };
    let principal = canister.principal;
    let exec_call = execute::Call {
        canister: &call.canister,
        self_principal: principal.as_slice(),
        method: &call.method,
        export: &export,
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

/// The merged delta of a round's calls (`docs/modes.md`): their write logs folded in parallel on
/// the current rayon pool. The merge law makes the grouping rayon picks irrelevant, and it
/// needs no state, so a round's delta is folded while the round before it still commits
/// instead of on the serial commit path.
///
/// # Errors
///
/// [`MergeError::DuplicateSeq`] if two calls share a seq (a bug, never input).
pub fn merge(ran: &[Executed]) -> Result<Delta, MergeError> {
    ran.par_iter()
        .try_fold(Delta::new, |mut delta, (seq, call, ex)| {
            delta.add_call(*seq, &call.canister, &ex.log)?;
            Ok(delta)
        })
        .try_reduce(Delta::new, Delta::merged)
}

#[cfg(test)]
mod tests;
