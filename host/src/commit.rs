//! The commit: the one owner of what makes a round (or an install) durable (`docs/modes.md`).
//!
//! A round's commit is one atomic unit holding, for every call of the round: its merged
//! writes (none if it trapped); its leaving the queue (it joins the store's finished calls,
//! and the chunks the round empties are removed: queue invariant B); its outcome (finished
//! too, plus a record if it trapped or replied: outcome invariant A); the children the
//! untrapped calls fired, queued under fresh seqs; and the round record. An install commits
//! its hook's writes and the canister's record the same way. Everything that builds that
//! unit, holds the queue's tail while it is written, flushes it and reports it lives here;
//! the store ([`Store::prepare`], [`Store::commit`]) only turns a delta into state.
//!
//! # Invariants
//!
//! - (A) A round commits once, whole: every write above goes into one [`Commit`], which the
//!   store lands atomically, or none does and the round's calls stay pending.
//! - (B) Children are queued under fresh seqs in (parent seq, index) order, with the parent
//!   canister as caller and the parent's time; the seqs are taken and written under the
//!   tail lock (queue invariant C), so no acceptor's seq falls between them.
//! - (C) Reported only once flushed: [`Tail::set_finished`] and the [`RoundReport`] come
//!   after the flush, so a ticket reads done only for a durable round.
//! - (D) What a round commits depends on its calls alone (their seqs, records and write
//!   logs), never on the wall clock, the thread count or the order executions finished:
//!   the record's root is the store's, and the round number counts commits.
//!
//! Flushed outside the tail lock: acceptors append meanwhile and share the flush.

use std::time::{Duration, Instant};

use candid::{CandidType, Deserialize, Principal};
use serde_bytes::ByteBuf;

use crate::execute::{self, Child};
use crate::finished::Finished;
use crate::merge::Delta;
use crate::outcome::{self, Outcome};
use crate::queue::{self, CallKind, QueuedCall, Tail};
use crate::registry::{self, Record, Registry};
use crate::round::{Executed, PoolTime, RoundError, RoundReport};
use crate::schedule::{Schedule, Trace};
use crate::store::{area, Commit, Pending, Store, StoreError};
use crate::submit::{self, Args};

/// The durable record of the last committed round.
#[derive(Debug, Clone, PartialEq, Eq, CandidType, Deserialize)]
pub struct RoundRecord {
    /// Its number.
    pub round: u64,
    /// The highest seq it committed.
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

/// A round that ran and awaits its commit.
pub(crate) struct Ran {
    /// When its calls were taken, for the report's `micros`.
    pub(crate) started: Instant,
    /// Its calls, in seq order, with what running them did.
    pub(crate) ran: Vec<Executed>,
    /// The merge of their logs.
    pub(crate) delta: Delta,
    /// The first seqs of the queue chunks it empties.
    pub(crate) spent: Vec<u64>,
    /// Its DAG and trace, when tracing.
    pub(crate) trace: Option<(Schedule, Trace)>,
}

impl Ran {
    /// The seqs of its calls.
    pub(crate) fn seqs(&self) -> impl Iterator<Item = u64> + '_ {
        self.ran.iter().map(|(seq, _, _)| *seq)
    }
}

/// What committing needs: the store, and what checks and queues children.
pub(crate) struct Committer<'a> {
    pub(crate) store: &'a mut Store,
    /// Where the commit's own parallel work runs ([`Store::prepare`]).
    pub(crate) pool: &'a rayon::ThreadPool,
    /// Where the time of that work is summed.
    pub(crate) pool_time: &'a PoolTime,
    pub(crate) registry: &'a Registry,
    pub(crate) tail: &'a Tail,
    pub(crate) arg_bytes: usize,
    /// The number of the round it commits.
    pub(crate) round: u64,
}

/// A round whose commit is prepared ([`Committer::prepare`]) but not yet written.
pub(crate) struct Prepared {
    started: Instant,
    ran: Vec<Executed>,
    spent: Vec<u64>,
    trace: Option<(Schedule, Trace)>,
    commit: Result<Commit, StoreError>,
}

/// A round journaled in the store under the tail lock, not yet flushed.
struct Journaled {
    report: RoundReport,
    finished: Finished,
    started: Instant,
    /// Its calls and their write logs, done with: freed while the flush runs, not before
    /// it starts ([`Committer::commit_flushing`]; a small commit beside other work,
    /// [`Committer::commit_inline`], frees them after its report). A round of 2,000
    /// `analytics.view` calls at 1 thread, from the prepare to the end of the tick:
    /// medians 1.13–1.20 ms freed before, 0.92–1.05 ms beside.
    ran: Vec<Executed>,
}

impl Journaled {
    /// Its report, once durable and applied at `landed`: only then do its calls count as
    /// committed to the queue's tail (invariant C).
    fn report(self, tail: &Tail, landed: Instant) -> RoundReport {
        tail.set_finished(&self.finished);
        let micros = landed.saturating_duration_since(self.started).as_micros();
        RoundReport {
            micros: u64::try_from(micros).unwrap_or(u64::MAX),
            ..self.report
        }
    }
}

/// A round committed to the store whose flush is under way on the store's flush thread.
pub(crate) struct Flushing {
    journaled: Journaled,
    flush: Pending,
}

/// What a commit gives back: the round's report once durable, and its trace to keep.
pub(crate) type Committed<T> = (Result<T, RoundError>, Option<(Schedule, Trace)>);

impl Committer<'_> {
    /// Commits `ran` and flushes it (invariants A, C).
    pub(crate) fn commit(&mut self, ran: Ran) -> Committed<RoundReport> {
        let prepared = self.prepare(ran);
        self.commit_prepared(prepared)
    }

    /// Commits `prepared` and flushes it (invariants A, C): the flush on the store's flush
    /// thread while the state lands, split across the pool, readers excluded until both
    /// are done ([`Committer::flushed`]).
    fn commit_prepared(&mut self, prepared: Prepared) -> Committed<RoundReport> {
        let (flushing, trace) = self.commit_flushing(prepared);
        (flushing.and_then(|f| self.flushed(f)), trace)
    }

    /// Commits `prepared` and flushes it (invariants A, C) beside other work on the same
    /// pool: the calls of the next round, which read no state.
    ///
    /// A commit whose state lands split ([`Commit::lands_split`]) does so while its flush
    /// runs on the flush thread, so the workers that finish their calls first take shares
    /// of it; a smaller one is flushed, then landed, on this worker alone
    /// ([`Committer::commit_inline`]). The split apply holds readers out until the flush
    /// ends, and a worker waiting there (for a share it gave away, or for the disk) runs
    /// some of the next round's calls meanwhile (at most the rest of that round, and the
    /// take after it, if no other worker has started them), which a query then waits for
    /// too: a bounded delay, and no deadlock, since pure calls never take the readers'
    /// lock and the take reads the queue, not the state.
    ///
    /// Measured with 3,000 logging calls a tick at 2 threads (medians of 15 ticks, 6
    /// interleaved runs each): in rounds of 1,000, 22.6–26.4 ms a tick split against
    /// 25.0–28.2 ms inline; in rounds of 50, 15.1–18.3 ms against 14.2–18.5 ms, medians
    /// 17.0 and 15.3 (5 runs).
    pub(crate) fn commit_beside(&mut self, prepared: Prepared) -> Committed<RoundReport> {
        let splits = (prepared.commit.as_ref()).is_ok_and(Commit::lands_split);
        if splits {
            self.commit_prepared(prepared)
        } else {
            self.commit_inline(prepared)
        }
    }

    /// What [`Store::prepare`] makes of `ran`'s merge: every entry's new value and digests,
    /// split across the whole pool. Nothing is written; the tail is not held.
    pub(crate) fn prepare(&self, ran: Ran) -> Prepared {
        let Ran {
            started,
            ran,
            delta,
            spent,
            trace,
        } = ran;
        let seqs: Vec<u64> = ran.iter().map(|(seq, _, _)| *seq).collect();
        let commit = self
            .pool_time
            .install(self.pool, || self.store.prepare_round(&delta, &seqs));
        Prepared {
            started,
            ran,
            spent,
            trace,
            commit,
        }
    }

    /// Journals `prepared` under the tail lock (invariants A, B); not yet flushed.
    fn journal(&mut self, prepared: Prepared) -> Committed<Journaled> {
        let Prepared {
            started,
            ran,
            spent,
            trace,
            commit,
        } = prepared;
        let journaled = (|| {
            let commit = commit?;
            let finished = commit.finished().clone();
            let report = self
                .tail
                .with_next(|next| self.round_batch(next, (&ran, &spent, commit)))?;
            Ok(Journaled {
                report,
                finished,
                started,
                ran,
            })
        })();
        (journaled, trace)
    }

    /// Commits `prepared` (invariant A) and starts its flush on the store's flush thread, so
    /// the caller's thread goes back to work instead of waiting on the disk;
    /// [`Committer::flushed`] reports it once the flush is done.
    pub(crate) fn commit_flushing(&mut self, prepared: Prepared) -> Committed<Flushing> {
        let (journaled, trace) = self.journal(prepared);
        let flushing = journaled.map(|mut journaled| {
            let flush = self.store.start_flush();
            drop(std::mem::take(&mut journaled.ran));
            Flushing { journaled, flush }
        });
        (flushing, trace)
    }

    /// Commits `prepared` (invariant A), flushes it on this thread, then applies it here
    /// too and reports it (invariant C): for a small commit beside other work on the pool,
    /// which keeps the other workers, and which readers would otherwise wait out while
    /// this worker ran some of it inside the apply.
    fn commit_inline(&mut self, prepared: Prepared) -> Committed<RoundReport> {
        let (journaled, trace) = self.journal(prepared);
        let committed = journaled.and_then(|journaled| {
            let landed = self.store.flush_and_settle_here()?;
            Ok(journaled.report(self.tail, landed))
        });
        (committed, trace)
    }

    /// The report of a commit once its flush is done (invariant C).
    pub(crate) fn flushed(&mut self, flushing: Flushing) -> Result<RoundReport, RoundError> {
        let Flushing { journaled, flush } = flushing;
        // Applied split across the pool while the flush ends, readers excluded until it
        // has: what they see is durable (store journal J2). The worker that waits for the
        // flush runs the pool's other jobs meanwhile (the calls of the round beside this
        // commit): `speedup_uniform`, 6 interleaved pairs, 1.826-1.924 (median 1.85)
        // against 1.798-1.896 (1.82) blocking.
        let mut landed = None;
        let mut waited = Duration::ZERO;
        let store = &mut *self.store;
        let wait = || {
            let since = Instant::now();
            let flush = flush
                .wait_helping()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            // The calls run meanwhile count as the calls' time, not the commit's.
            waited = since.elapsed();
            landed = Some(flush.as_ref().map_or_else(|_| Instant::now(), |at| *at));
            flush.map(drop)
        };
        let settled = (self.pool_time).install(self.pool, || store.settle_with(wait));
        // The wait on the disk is serial, however many threads apply.
        self.pool_time.waited(waited);
        settled?;
        Ok(journaled.report(self.tail, landed.unwrap_or_else(Instant::now)))
    }

    /// Lands `ran` (calls in seq order with their executions; `commit` is what
    /// [`Store::prepare`] made of their merge) as the round, removing the queue chunks
    /// `spent` and queueing children under seqs from `next_seq` on (invariants A, B). The
    /// tail is held. Advances `next_seq` past the children.
    ///
    /// # Errors
    ///
    /// [`RoundError`]; nothing is committed then, and `next_seq` is unchanged.
    fn round_batch(
        &mut self,
        next_seq: &mut u64,
        (ran, spent, mut commit): (&[Executed], &[u64], Commit),
    ) -> Result<RoundReport, RoundError> {
        for first in spent {
            commit.remove(&queue::key(*first))?;
        }
        let mut children = Vec::new();
        let mut trapped = 0;
        let mut trapped_seqs = Vec::new();
        for (seq, call, ex) in ran {
            // Only what a ticket cannot tell from the finished calls alone gets a record (outcome
            // invariant A): most calls simply finish, and a record each would cost them a
            // write on the serial path.
            let outcome = match (&ex.outcome, call.kind) {
                (execute::Outcome::Trapped(m), _) => {
                    trapped += 1;
                    if trapped_seqs.len() < crate::round::TRAPPED_LISTED {
                        trapped_seqs.push(*seq);
                    }
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
            // Only a parent needs its canister looked up: most calls fire no child.
            if ex.children.is_empty() {
                continue;
            }
            let parent = self
                .registry
                .get(&call.canister)
                .map_or_else(Principal::anonymous, |c| c.principal);
            check_children(
                &mut children,
                (self.registry, self.arg_bytes),
                (*seq, call),
                parent,
                &ex.children,
            )?;
        }
        let mut child_seq = *next_seq;
        queue_chunks(&mut commit, &children, &mut child_seq)?;
        let record = RoundRecord {
            round: self.round,
            last_seq: ran.last().map_or(0, |(seq, _, _)| *seq),
            root: ByteBuf::from(commit.root().as_bytes().to_vec()),
        };
        commit.insert(RECORD_KEY, &candid::encode_one(&record).expect("encodes"))?;
        // Journaled under the tail lock, flushed and applied after it (store journal J2).
        let root = self.store.journal(commit)?;
        *next_seq = child_seq;
        Ok(RoundReport {
            round: self.round,
            calls: ran.len(),
            trapped,
            trapped_seqs,
            root,
            micros: 0,
        })
    }

    /// Commits an install: the hook that ran (`hook`: its seq, call and execution, if the
    /// wasm exports one) with the canister's `record`, and the children the hook fired,
    /// queued after it; flushed. The tail is held and nothing is pending: `next` is the seq
    /// the hook ran as, and is advanced past it and its children.
    ///
    /// # Errors
    ///
    /// [`RoundError`]; nothing is committed then.
    pub(crate) fn install(
        &mut self,
        (name, principal, record): (&str, Principal, &Record),
        hook: Option<Executed>,
        next: &mut u64,
    ) -> Result<(), RoundError> {
        let ran = Vec::from_iter(hook);
        let delta = Delta::from_calls(
            ran.iter()
                .map(|(seq, c, ex)| (*seq, c.canister.as_str(), &ex.log)),
        )?;
        // On this thread, not the pool: the tail is held, and an init's writes are few.
        let mut commit = self.store.prepare(&delta)?;
        commit.insert(
            &registry::key(name),
            &candid::encode_one(record).expect("a record encodes"),
        )?;
        // The hook's seq is committed with no record: it finished (outcome invariant A).
        let mut child_seq = *next + ran.len() as u64;
        let mut children = Vec::new();
        for (seq, call, ex) in &ran {
            check_children(
                &mut children,
                (self.registry, self.arg_bytes),
                (*seq, call),
                principal,
                &ex.children,
            )?;
        }
        queue_chunks(&mut commit, &children, &mut child_seq)?;
        self.store.commit(commit)?;
        self.tail.set_finished(self.store.finished());
        *next = child_seq;
        Ok(())
    }
}

/// Adds to `queued` the children a call fired, in the order it fired them, with its canister
/// (`parent`) as their caller and its time as theirs (invariant B).
///
/// # Errors
///
/// [`RoundError::Child`] if a child no longer passes its checks.
fn check_children(
    queued: &mut Vec<QueuedCall>,
    (registry, max_arg_bytes): (&Registry, usize),
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
fn queue_chunks(
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
