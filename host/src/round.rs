//! Rounds: which accepted calls run together, and committing them as one (DESIGN §4, §6).
//!
//! A round is either a run of consecutive pending pure calls (up to a size cap), or one
//! update or oneway call alone: updates are barriers, so a round never holds calls on both
//! sides of one, and serial equivalence holds across modes.
//!
//! # Invariants
//!
//! - (A) A round's calls are the first pending calls in seq order: nothing pending with a
//!   smaller seq is left behind, so commits happen in seq order (store invariant D).
//! - (B) One atomic batch commits, for every call of the round: its merged writes (none if it
//!   trapped); its leaving the queue (the store's last seq passes it, and the chunks the
//!   round empties are removed: queue invariant B); its outcome (the last seq too, plus a
//!   record if it trapped or replied: outcome invariant A); plus the children the untrapped
//!   calls fired, queued under fresh seqs in (parent seq, index) order with the parent
//!   canister as caller and the parent's time; plus the round record. The batch is flushed
//!   before the round is reported.
//! - (C) What a round commits depends on the calls alone: their seqs, records and write logs,
//!   never on the wall clock, the thread count or the order executions finished.

use crate::execute::{self, CanisterState, Child, Compiled, Engine, ExecuteError, Execution};
use crate::merge::{Delta, MergeError};
use crate::outcome::{self, Outcome};
use crate::queue::{self, CallKind, QueueError, QueuedCall};
use crate::registry::Registry;
use crate::root::Root;
use crate::store::{area, Commit, StateReader, Store, StoreError};
use crate::submit::{self, Args, ChildCheck, SubmitError};
use candid::{CandidType, Deserialize, Principal};
use rayon::prelude::*;
use serde_bytes::ByteBuf;
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

/// What a round did, as `commute tick` prints it (one JSON object per round).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RoundReport {
    /// The round number, from 1, durable.
    pub round: u64,
    /// How many calls it committed.
    pub calls: usize,
    /// How many of them trapped.
    pub trapped: usize,
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

/// The durable record of the last committed round.
#[derive(Debug, Clone, PartialEq, Eq, CandidType, Deserialize)]
pub struct RoundRecord {
    /// Its number.
    pub round: u64,
    /// The last seq it committed.
    pub last_seq: u64,
    /// The state root after it.
    pub root: ByteBuf,
}

/// The store key of the round record.
pub const RECORD_KEY: &[u8] = area::META_ROUND;

/// The last committed round's number, 0 before the first.
///
/// # Errors
///
/// sled's error if the read fails.
pub fn last_round(tree: &sled::Tree) -> Result<u64, sled::Error> {
    Ok(tree
        .get(RECORD_KEY)?
        .and_then(|v| candid::decode_one::<RoundRecord>(&v).ok())
        .map_or(0, |r| r.round))
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

/// Adds to `queued` the children a call fired, in the order it fired them, with its canister
/// (`parent`) as their caller and its time as theirs (invariant B); [`queue_chunks`] then
/// queues them.
///
/// # Errors
///
/// [`RoundError::Child`] if a child no longer passes its checks.
pub fn check_children(
    queued: &mut Vec<QueuedCall>,
    registry: &Registry,
    max_arg_bytes: usize,
    (seq, call): (u64, &QueuedCall),
    parent: Principal,
    children: &[Child],
) -> Result<(), RoundError> {
    for child in children {
        let checked = submit::check(
            registry,
            max_arg_bytes,
            &child.canister,
            &child.method,
            Args::Binary(&child.arg),
            parent,
            call.time,
        )
        .map_err(|error| RoundError::Child { parent: seq, error })?;
        queued.push(checked);
    }
    Ok(())
}

/// Adds to `commit` the queue chunks of `calls`, under seqs from `next_seq` on, and
/// advances `next_seq` past them.
///
/// # Errors
///
/// [`RoundError::Store`].
pub fn queue_chunks(
    commit: &mut Commit,
    calls: &[QueuedCall],
    next_seq: &mut u64,
) -> Result<(), RoundError> {
    for (key, chunk) in queue::records(*next_seq, calls) {
        commit.insert(&key, &chunk)?;
    }
    *next_seq += calls.len() as u64;
    Ok(())
}

/// A call that ran: its seq, the call, and what running it did.
pub type Executed = (u64, QueuedCall, Execution);

/// The merged delta of a round's calls (DESIGN §3): their write logs folded in parallel on
/// the current rayon pool. The merge law makes the grouping rayon picks irrelevant, and it
/// needs no state, so a round's delta is folded while the round before it still commits
/// instead of on the serial commit path.
///
/// # Errors
///
/// [`MergeError::DuplicateSeq`] if two calls share a seq (a bug, never input).
pub fn merge(ran: &[Executed]) -> Result<Delta, MergeError> {
    ran.par_iter()
        .map(|(seq, call, ex)| Ok(Delta::from_call(*seq, &call.canister, &ex.log)))
        .try_reduce(Delta::new, Delta::merged)
}

/// Commits `ran` (calls in seq order with their executions; `commit` is what
/// [`Store::prepare`] made of their [`merge`]) as round `round`, removing the queue chunks
/// `spent` and queueing children under seqs from `next_seq` on (invariant B).
/// Returns the report and advances `next_seq` past the children. Not flushed: the caller
/// flushes (outside the queue's tail lock, so acceptors need not wait for the disk) before
/// it reports the round.
///
/// # Errors
///
/// [`RoundError`]; nothing is committed then, and `next_seq` is unchanged.
pub fn commit(
    store: &mut Store,
    registry: &Registry,
    max_arg_bytes: usize,
    round: u64,
    next_seq: &mut u64,
    (ran, spent, mut commit): (&[Executed], &[u64], Commit),
) -> Result<RoundReport, RoundError> {
    for first in spent {
        commit.remove(&queue::key(*first))?;
    }
    let mut children = Vec::new();
    let mut trapped = 0;
    for (seq, call, ex) in ran {
        // Only what a ticket cannot tell from the last seq alone gets a record (outcome
        // invariant A): most calls simply finish, and a record each would cost them a sled
        // write on the serial path.
        let outcome = match (&ex.outcome, call.kind) {
            (execute::Outcome::Trapped(m), _) => {
                trapped += 1;
                Some(Outcome::Trapped(m.clone()))
            }
            (execute::Outcome::Replied(bytes), CallKind::Update) => {
                Some(Outcome::Replied(ByteBuf::from(bytes.clone())))
            }
            _ => None,
        };
        if let Some(outcome) = outcome {
            commit.insert(&outcome::key(*seq), &outcome.encode())?;
        }
        let parent = registry
            .get(&call.canister)
            .map_or_else(Principal::anonymous, |c| c.principal);
        check_children(
            &mut children,
            registry,
            max_arg_bytes,
            (*seq, call),
            parent,
            &ex.children,
        )?;
    }
    let mut child_seq = *next_seq;
    queue_chunks(&mut commit, &children, &mut child_seq)?;
    let record = RoundRecord {
        round,
        last_seq: ran.last().map_or(0, |(seq, _, _)| *seq),
        root: ByteBuf::from(commit.root().as_bytes().to_vec()),
    };
    commit.insert(RECORD_KEY, &candid::encode_one(&record).expect("encodes"))?;
    let root = store.commit(commit)?;
    *next_seq = child_seq;
    Ok(RoundReport {
        round,
        calls: ran.len(),
        trapped,
        root,
        micros: 0,
    })
}

#[cfg(test)]
mod tests;
