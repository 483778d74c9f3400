//! The durable queue of accepted calls (`docs/modes.md`).
//!
//! A call is *accepted* when its [`QueuedCall`] is in the queue area of the store and
//! flushed; only then is its seq returned to the caller. It stops being pending in the same
//! atomic batch that commits its effects and its outcome.
//!
//! # Byte layout
//!
//! ```text
//! 'q' ‖ first seq u64 BE   →   [QueuedCall], postcard-encoded: calls first, first + 1, …
//! 'k' ‖ key                 →   seq u64 BE ‖ blake3 of the QueuedCall without its time (32 bytes)
//! ```
//!
//! A `q` record is a *chunk*: the calls accepted together (one batch of submits, one group
//! commit of a server, the children of one round), at most [`CHUNK_CALLS`] of them. Chunks,
//! not one record per call, because every sled operation costs a few microseconds on the
//! serial path of a round: a round of 4,000 calls read and removed 4,000 records, ~40% of
//! its serial time; now it reads and removes about a hundred.
//!
//! A `k` record is an idempotency key a caller gave with its call: the call it names was
//! accepted once, under that seq, and a retry with the same key gets the same seq back
//! instead of a second acceptance. Kept for good, like outcomes.
//!
//! A chunk just appended is also kept as its calls in memory ([`Fresh`], `queue/fresh.rs`),
//! so that the round that takes them need not read the record back and decode it.
//!
//! postcard, not Candid: every call's record is written once and read once on the serial
//! path of a round, and Candid's self-describing type table made decoding one cost ~10 µs.
//!
//! Big-endian seqs make the queue area iterate in seq order, which is the order calls run.
//! `queue/record.golden` pins the encoding.
//!
//! # Invariants
//!
//! - (A) Seqs are strictly increasing and never reused: the next seq is one more than the
//!   larger of the last queued and the highest committed seq (every committed call, trapped
//!   or not, is among the store's finished calls, `crate::finished`), so nothing else needs
//!   to be persisted for it.
//! - (B) A seq is pending iff a chunk holds it and it is not among the store's finished
//!   calls. A chunk is removed in the batch that commits the last of its calls to commit,
//!   so a chunk that is still there holds at least one pending call, and committing some of
//!   its calls writes nothing to it: the finished calls, committed in the same batch, say
//!   they are done.
//! - (D) An idempotency key names at most one seq: its `k` record is written in the batch
//!   that queues the call, under the tail lock, after a check that there is none.
//! - (C) Seqs become visible in order: a [`Tail`] hands out seqs and writes their chunks (or
//!   the round commit that queues children under them) under one lock, so whoever reads the
//!   queue and sees seq `s` sees every accepted seq below `s`. Acceptors on many threads and
//!   the round loop share one `Tail`.

mod fresh;

pub use fresh::{Fresh, FRESH_BYTES, FRESH_CALLS};

use crate::disk::Disk;
use crate::finished::Finished;
use crate::store::area;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use std::borrow::Borrow;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use thiserror::Error;

/// The queue could not be read or written.
#[derive(Debug, Error)]
pub enum QueueError {
    /// sled failed.
    #[error("sled: {0}")]
    Sled(#[from] sled::Error),
    /// A queue record does not decode.
    #[error("queue entry {seq} is corrupt: {message}")]
    Corrupt {
        /// The entry's seq.
        seq: u64,
        /// What the decoder said.
        message: String,
    },
    /// An idempotency key came back with a different call than the one accepted under it.
    #[error(
        "idempotency key already names seq {seq}, a different call; use a fresh key for a new call"
    )]
    KeyReused {
        /// The seq the key names.
        seq: u64,
    },
    /// The queue holds as many pending calls as it may; the caller should retry later.
    #[error("the queue is full: {pending} calls pending, the most is {max}; retry later")]
    Full {
        /// Calls pending now.
        pending: u64,
        /// The cap.
        max: u64,
    },
}

/// How a queued call runs: the modes that take a seq.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CallKind {
    /// A pure update: runs in a parallel round.
    Pure,
    /// An update: runs alone, replies.
    Update,
    /// A oneway update: runs alone, no reply.
    Oneway,
}

/// An accepted call, as it waits in the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedCall {
    /// The installed name of the canister called.
    pub canister: String,
    /// The method called.
    pub method: String,
    /// How it runs.
    pub kind: CallKind,
    /// The caller's principal bytes.
    pub caller: ByteBuf,
    /// The arguments, Candid-encoded against the declared types.
    pub arg: ByteBuf,
    /// The call's canonical keys (`docs/modes.md`), unscoped; empty for all but keyed pure calls.
    pub keys: Vec<ByteBuf>,
    /// Nanoseconds since the epoch at acceptance; what the `time` import returns.
    pub time: u64,
}

impl QueuedCall {
    /// The call's postcard bytes, as a chunk record holds it.
    ///
    /// # Panics
    ///
    /// Never: every field serializes.
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("a QueuedCall always encodes")
    }

    /// About its size in a chunk: its variable-length fields, and a little for the rest.
    fn weight(&self) -> usize {
        let keys: usize = self.keys.iter().map(|k| k.len()).sum();
        self.canister.len() + self.method.len() + self.caller.len() + self.arg.len() + keys + 32
    }

    /// What identifies the call for an idempotency key: everything but the time it was
    /// accepted at, which differs between a call and its retry.
    pub fn fingerprint(&self) -> [u8; 32] {
        let timeless = QueuedCall {
            time: 0,
            ..self.clone()
        };
        *blake3::hash(&timeless.encode()).as_bytes()
    }
}

/// The most calls one chunk holds: a round reads whole chunks, so a huge batch of submits
/// must not make every round decode all of it, and a round that ends inside a chunk makes
/// the next one decode again at most this many calls it does not take.
pub const CHUNK_CALLS: usize = 64;

/// About the most bytes one chunk holds: few enough that no node of sled's tree of chunks
/// (a leaf splits past 16 records) goes over sled's blob threshold, a quarter of its 512
/// KiB segment, as with the journal's parts (`store/journal.rs`). Chunks of up to 1 MiB made most
/// nodes blob files, rewritten as the queue grew and shrank, each synced on its own. A
/// call bigger than this is a chunk of its own.
pub const CHUNK_BYTES: usize = 6 << 10;

/// The store key of the chunk whose first call is `seq`.
///
/// ```
/// assert_eq!(commute::queue::key(258), *b"q\0\0\0\0\0\0\x01\x02");
/// ```
pub fn key(seq: u64) -> [u8; 9] {
    let mut k = [area::QUEUE; 9];
    k[1..].copy_from_slice(&seq.to_be_bytes());
    k
}

fn seq_of(key: &[u8]) -> Option<u64> {
    let bytes: [u8; 8] = key.get(1..9)?.try_into().ok()?;
    Some(u64::from_be_bytes(bytes))
}

/// Calls accepted together under consecutive seqs, as one queue record holds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// The seq of the first call.
    pub first: u64,
    /// The calls, the first under `first`, each next under the next seq.
    pub calls: Vec<QueuedCall>,
}

impl Chunk {
    /// One past the seq of its last call.
    pub fn end(&self) -> u64 {
        self.first + self.calls.len() as u64
    }

    /// One past the seq of the last call of the chunk record `bytes`, read from its length
    /// prefix alone: a chunk may be a MiB, and a ticket's status needs only where it ends.
    fn end_of(first: u64, bytes: &[u8]) -> Result<u64, QueueError> {
        // postcard writes a sequence's length first, as a varint, as it writes a u64.
        match postcard::take_from_bytes::<u64>(bytes) {
            Ok((len, _)) if len > 0 => Ok(first.saturating_add(len)),
            Ok(_) => Err(QueueError::Corrupt {
                seq: first,
                message: "an empty chunk".to_string(),
            }),
            Err(e) => Err(QueueError::Corrupt {
                seq: first,
                message: e.to_string(),
            }),
        }
    }

    fn decode(first: u64, bytes: &[u8]) -> Result<Chunk, QueueError> {
        // Refuses an empty chunk, as its length prefix says.
        Chunk::end_of(first, bytes)?;
        let calls = postcard::from_bytes(bytes).map_err(|e| QueueError::Corrupt {
            seq: first,
            message: e.to_string(),
        })?;
        Ok(Chunk { first, calls })
    }
}

/// The queue records (key, value) that queue `calls` under seqs from `first` on, none if
/// `calls` is empty: chunks of at most [`CHUNK_CALLS`] calls, and of about
/// [`CHUNK_BYTES`] at most unless one call alone is bigger.
pub fn records<C: Borrow<QueuedCall> + Serialize>(
    first: u64,
    calls: &[C],
) -> Vec<([u8; 9], Vec<u8>)> {
    chunked(calls)
        .into_iter()
        .map(|(range, _)| record(first + range.start as u64, &calls[range]))
        .collect()
}

/// Where [`records`] cuts `calls` into chunks, each with its calls' weight.
fn chunked<C: Borrow<QueuedCall>>(calls: &[C]) -> Vec<(Range<usize>, usize)> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, call) in calls.iter().enumerate() {
        let size = call.borrow().weight();
        if i > start && (i - start == CHUNK_CALLS || bytes + size > CHUNK_BYTES) {
            out.push((start..i, bytes));
            (start, bytes) = (i, 0);
        }
        bytes += size;
    }
    if start < calls.len() {
        out.push((start..calls.len(), bytes));
    }
    out
}

fn record<C: Serialize>(first: u64, calls: &[C]) -> ([u8; 9], Vec<u8>) {
    let bytes = postcard::to_allocvec(calls).expect("a QueuedCall always encodes");
    (key(first), bytes)
}

/// The chunks in the queue that may hold a seq above `after`, in seq order: from the one
/// that holds `after + 1` (or the first after it) on. The first may hold calls at or
/// below `after`. Chunks wholly at or below it are not read: a round taken while the one
/// before it commits would otherwise decode that round's calls again.
///
/// # Errors
///
/// Each item may be a [`QueueError`] if sled fails or a record is corrupt.
pub fn chunks(
    tree: &sled::Tree,
    after: u64,
) -> impl Iterator<Item = Result<Chunk, QueueError>> + use<> {
    chunks_with(tree, after, None)
}

/// [`chunks`], each that starts below `bound` taken from `fresh` instead of decoded where
/// it is kept there (fresh F1, F2): for the read that takes a round, which stops at
/// `bound` and would not use a chunk past it.
///
/// # Errors
///
/// As [`chunks`].
pub fn chunks_with<'a>(
    tree: &sled::Tree,
    after: u64,
    fresh: Option<(&'a Fresh, u64)>,
) -> impl Iterator<Item = Result<Chunk, QueueError>> + use<'a> {
    let next = after.saturating_add(1);
    // The chunk holding `next` starts at the last key at or below it. If that read fails,
    // the scan starts at the queue's first chunk and meets the failure itself.
    let start = match tree.range(key(0)..=key(next)).next_back() {
        Some(Ok((k, _))) => k,
        _ => key(0).as_slice().into(),
    };
    tree.range(start..=key(u64::MAX).as_slice().into())
        .map(move |item| {
            let (k, v) = item?;
            let first = seq_of(&k).ok_or_else(|| QueueError::Corrupt {
                seq: 0,
                message: format!("bad key {}", hex::encode(&k)),
            })?;
            let kept = fresh.filter(|(_, bound)| first < *bound);
            match kept.and_then(|(fresh, _)| fresh.take(first)) {
                Some(calls) => Ok(Chunk { first, calls }),
                None => Chunk::decode(first, &v),
            }
        })
}

/// The accepted, uncommitted calls, in seq order, given the store's committed calls
/// (invariant B).
///
/// # Errors
///
/// Each item may be a [`QueueError`] if sled fails or a record is corrupt.
pub fn pending(
    tree: &sled::Tree,
    finished: Finished,
) -> impl Iterator<Item = Result<(u64, QueuedCall), QueueError>> + use<> {
    chunks(tree, finished.last()).flat_map(move |chunk| {
        let calls: Vec<_> = match chunk {
            Ok(chunk) => (chunk.first..)
                .zip(chunk.calls)
                .filter(|(seq, _)| !finished.contains(*seq))
                .map(Ok)
                .collect(),
            Err(e) => vec![Err(e)],
        };
        calls
    })
}

/// Whether call `seq` is accepted and not yet committed, given the store's last committed
/// seq (invariant B).
///
/// # Errors
///
/// [`QueueError`] if sled fails or the chunk is corrupt.
pub fn contains(tree: &sled::Tree, seq: u64, committed: u64) -> Result<bool, QueueError> {
    if seq <= committed {
        return Ok(false);
    }
    match tree.range(key(0)..=key(seq)).next_back() {
        Some(item) => {
            let (k, v) = item?;
            let first = seq_of(&k).unwrap_or(0);
            Ok(seq < Chunk::end_of(first, &v)?)
        }
        None => Ok(false),
    }
}

/// The next seq to hand out, by invariant A.
///
/// # Errors
///
/// [`QueueError`] if sled fails or the last chunk is corrupt.
pub fn next_seq(tree: &sled::Tree, last_committed: Option<u64>) -> Result<u64, QueueError> {
    let last_queued = match tree.scan_prefix([area::QUEUE]).next_back() {
        Some(item) => {
            let (k, v) = item?;
            let first = seq_of(&k).unwrap_or(0);
            Some(Chunk::end_of(first, &v)? - 1)
        }
        None => None,
    };
    Ok(last_queued.max(last_committed).map_or(1, |s| s + 1))
}

/// What [`Tail::append_once`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Once {
    /// Queued the call under this new seq.
    New(u64),
    /// The key already named this seq; nothing was queued.
    Existing(u64),
}

impl Once {
    /// The seq, either way.
    pub fn seq(self) -> u64 {
        match self {
            Once::New(seq) | Once::Existing(seq) => seq,
        }
    }
}

/// The queue's tail, shared by every thread that accepts calls and by the round loop:
/// hands out seqs and writes their entries in seq order (invariants A and C). Cheap to
/// clone.
#[derive(Clone)]
pub struct Tail {
    tree: sled::Tree,
    /// The database's files, synced after each flush: a queue chunk with a large argument
    /// is a blob file of its own.
    disk: Option<Arc<Disk>>,
    /// The next seq to hand out; held while its entry is written.
    next: Arc<Mutex<u64>>,
    /// The last committed seq, 0 before any.
    committed: Arc<AtomicU64>,
    /// How many calls are committed, those ahead of it too: with `next`, how many are
    /// pending. One number, so that no reader sees half of an update.
    finished: Arc<AtomicU64>,
    /// The chunks appended and not yet read, as calls.
    fresh: Arc<Fresh>,
}

impl std::fmt::Debug for Tail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tail")
            .field("next", &self.next_seq())
            .field("committed", &self.committed())
            .finish()
    }
}

impl Tail {
    /// The tail of the queue in `tree`, whose committed calls are `finished`.
    ///
    /// # Errors
    ///
    /// [`QueueError::Sled`] if sled fails.
    pub fn open(tree: sled::Tree, finished: &Finished) -> Result<Tail, QueueError> {
        // A call committed ahead may be the last accepted, its chunk gone: its seq is used.
        let next = next_seq(&tree, Some(finished.max()).filter(|seq| *seq > 0))?;
        Ok(Tail {
            tree,
            disk: None,
            next: Arc::new(Mutex::new(next)),
            committed: Arc::new(AtomicU64::new(finished.last())),
            finished: Arc::new(AtomicU64::new(finished.count())),
            fresh: Arc::default(),
        })
    }

    /// Queues `calls` under consecutive fresh seqs, in one atomic batch, and returns them,
    /// unless that would leave more than `max_pending` calls pending. Not flushed: the caller
    /// [`flush`](Tail::flush)es before it hands any seq out.
    ///
    /// # Errors
    ///
    /// [`QueueError::Full`] over the cap, [`QueueError::Sled`] if sled fails; then no seq is
    /// used.
    pub fn append(
        &self,
        calls: Vec<QueuedCall>,
        max_pending: u64,
    ) -> Result<Range<u64>, QueueError> {
        self.append_each(vec![calls], max_pending)
            .pop()
            .expect("one answer per request")
    }

    /// [`Tail::append`] for each of `requests`, written together: their calls go under
    /// consecutive seqs in one atomic batch, as few chunks as the chunk caps allow (a group
    /// of small requests, one chunk, one sled insert, where one each would cost a key to
    /// write, read and remove per call). A request that would pass the cap is refused whole
    /// and takes no seq; the others are still queued. If the write fails, every request not
    /// refused gets the error and no seq is used. Answers in the order of `requests`. The
    /// calls queued are kept in [`Tail::fresh`] for the round that reads them.
    pub fn append_each(
        &self,
        requests: Vec<Vec<QueuedCall>>,
        max_pending: u64,
    ) -> Vec<Result<Range<u64>, QueueError>> {
        self.with_next(|next| {
            let mut pending = self.pending_below(*next);
            let mut end = *next;
            let mut calls: Vec<QueuedCall> =
                Vec::with_capacity(requests.iter().map(Vec::len).sum());
            let mut answers: Vec<Result<Range<u64>, QueueError>> = requests
                .into_iter()
                .map(|request| {
                    let len = request.len() as u64;
                    if pending + len > max_pending {
                        return Err(QueueError::Full {
                            pending,
                            max: max_pending,
                        });
                    }
                    pending += len;
                    calls.extend(request);
                    end += len;
                    Ok(end - len..end)
                })
                .collect();
            let sized = chunked(&calls);
            let mut records: Vec<_> = (sized.iter())
                .map(|(range, _)| record(*next + range.start as u64, &calls[range.clone()]))
                .collect();
            let written = match records.len() {
                0 => Ok(()),
                // One record is atomic by itself. No batch: sled's `apply_batch` takes a
                // process-wide write lock, after which every insert pays a shared one.
                1 => {
                    let (k, chunk) = records.pop().expect("one record");
                    self.tree.insert(k, chunk).map(drop)
                }
                _ => {
                    let mut batch = sled::Batch::default();
                    for (k, chunk) in records {
                        batch.insert(&k, chunk);
                    }
                    self.tree.apply_batch(batch)
                }
            };
            match written {
                Ok(()) => {
                    // (fresh F1): written, so kept for the round that reads them, those that
                    // fit (F3); from the last chunk back, so that each chunk's calls move
                    // out of the batch whole (their names and arguments stay where they are).
                    let fit = self.fresh.room(sized.iter().map(|(r, w)| (r.len(), *w)));
                    calls.truncate(fit.checked_sub(1).map_or(0, |last| sized[last].0.end));
                    for (range, bytes) in sized.into_iter().take(fit).rev() {
                        let first = *next + range.start as u64;
                        self.fresh.keep(first, calls.split_off(range.start), bytes);
                    }
                    *next = end;
                }
                Err(e) => {
                    for answer in answers.iter_mut().filter(|a| a.is_ok()) {
                        *answer = Err(QueueError::Sled(e.clone()));
                    }
                }
            }
            answers
        })
    }

    /// Queues `call` under a fresh seq unless `idempotency_key` already names one: then
    /// that seq, and nothing is written (invariant D). Not flushed, as [`Tail::append`].
    ///
    /// # Errors
    ///
    /// [`QueueError::KeyReused`] if the key names a different call (the time of acceptance
    /// aside); [`QueueError::Full`]; [`QueueError::Sled`].
    pub fn append_once(
        &self,
        call: &QueuedCall,
        idempotency_key: &[u8],
        max_pending: u64,
    ) -> Result<Once, QueueError> {
        let fingerprint = call.fingerprint();
        let at = [&[area::KEYS][..], idempotency_key].concat();
        self.with_next(|next| {
            if let Some(record) = self.tree.get(&at)? {
                let seq = record
                    .get(..8)
                    .and_then(|b| <[u8; 8]>::try_from(b).ok())
                    .map(u64::from_be_bytes)
                    .ok_or_else(|| QueueError::Corrupt {
                        seq: 0,
                        message: format!("bad idempotency record {}", hex::encode(&at)),
                    })?;
                return if record.get(8..) == Some(&fingerprint[..]) {
                    Ok(Once::Existing(seq))
                } else {
                    Err(QueueError::KeyReused { seq })
                };
            }
            let pending = self.pending_below(*next);
            if pending + 1 > max_pending {
                return Err(QueueError::Full {
                    pending,
                    max: max_pending,
                });
            }
            let seq = *next;
            let mut batch = sled::Batch::default();
            for (k, chunk) in records(seq, std::slice::from_ref(call)) {
                batch.insert(&k, chunk);
            }
            batch.insert(at, [&seq.to_be_bytes()[..], &fingerprint].concat());
            self.tree.apply_batch(batch)?;
            *next += 1;
            Ok(Once::New(seq))
        })
    }

    /// Runs `write` with the next seq held, for a commit that queues calls itself (children,
    /// an install hook): it must write them, under the seqs it advances `next` past, before
    /// it returns (invariant C).
    pub fn with_next<R>(&self, write: impl FnOnce(&mut u64) -> R) -> R {
        // A panic while held leaves `next` as it was before the write, so carrying on is sound.
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        write(&mut next)
    }

    /// The chunks appended and not yet read, as calls: for [`chunks_with`].
    pub fn fresh(&self) -> &Fresh {
        &self.fresh
    }

    /// Makes every append so far durable.
    ///
    /// # Errors
    ///
    /// [`QueueError::Sled`] if sled fails.
    pub fn flush(&self) -> Result<(), QueueError> {
        self.tree.flush()?;
        if let Some(disk) = &self.disk {
            disk.sync().map_err(sled::Error::Io)?;
        }
        Ok(())
    }

    /// This tail, syncing `disk` (the files of its database) after each flush (disk D1).
    pub fn syncing(mut self, disk: Option<Arc<Disk>>) -> Tail {
        self.disk = disk;
        self
    }

    /// The next seq to be handed out: every seq below it is queued or committed, and
    /// visible to a read that starts after this returns (invariant C).
    pub fn next_seq(&self) -> u64 {
        *self.next.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The last committed seq, 0 before any.
    pub fn committed(&self) -> u64 {
        self.committed.load(Ordering::Acquire)
    }

    /// Records that the calls `finished` are committed (durably).
    pub fn set_finished(&self, finished: &Finished) {
        self.committed.fetch_max(finished.last(), Ordering::AcqRel);
        self.finished.fetch_max(finished.count(), Ordering::AcqRel);
    }

    /// How many accepted calls are not yet committed.
    pub fn pending(&self) -> u64 {
        self.pending_below(self.next_seq())
    }

    fn pending_below(&self, next: u64) -> u64 {
        (next - 1).saturating_sub(self.finished.load(Ordering::Acquire))
    }
}

#[cfg(test)]
mod tests;
