//! The durable queue of accepted calls (DESIGN §5, §6).
//!
//! A call is *accepted* when its [`QueuedCall`] is in the queue area of the store and
//! flushed; only then is its seq returned to the caller. It leaves the queue in the same
//! atomic batch that commits its effects and its outcome.
//!
//! # Byte layout
//!
//! ```text
//! 'q' ‖ seq u64 BE   →   QueuedCall, Candid-encoded (a record; blobs for bytes)
//! ```
//!
//! Big-endian seqs make the queue area iterate in seq order, which is the order calls run.
//! `queue/record.golden` pins the encoding.
//!
//! # Invariants
//!
//! - (A) Seqs are strictly increasing and never reused: the next seq is one more than the
//!   larger of the last queued and the last committed seq (every committed call, trapped or
//!   not, advances the store's last seq), so nothing else needs to be persisted for it.
//! - (B) A seq is in the queue area iff its call is accepted and not yet committed.

use crate::store::area;
use candid::{CandidType, Deserialize};
use serde_bytes::ByteBuf;
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
}

/// How a queued call runs: the modes that take a seq.
#[derive(Debug, Clone, Copy, PartialEq, Eq, CandidType, Deserialize)]
pub enum CallKind {
    /// A pure update: runs in a parallel round.
    Pure,
    /// An update: runs alone, replies.
    Update,
    /// A oneway update: runs alone, no reply.
    Oneway,
}

/// An accepted call, as it waits in the queue.
#[derive(Debug, Clone, PartialEq, Eq, CandidType, Deserialize)]
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
    /// The call's canonical keys (DESIGN §4), unscoped; empty for all but keyed pure calls.
    pub keys: Vec<ByteBuf>,
    /// Nanoseconds since the epoch at acceptance; what the `time` import returns.
    pub time: u64,
}

impl QueuedCall {
    /// The record's bytes in the store.
    ///
    /// # Panics
    ///
    /// Never for a record built in memory: every field is Candid-encodable.
    pub fn encode(&self) -> Vec<u8> {
        candid::encode_one(self).expect("a QueuedCall always encodes")
    }

    /// Reads back a record of entry `seq`.
    ///
    /// # Errors
    ///
    /// [`QueueError::Corrupt`] if `bytes` is not a record.
    pub fn decode(seq: u64, bytes: &[u8]) -> Result<QueuedCall, QueueError> {
        candid::decode_one(bytes).map_err(|e| QueueError::Corrupt {
            seq,
            message: e.to_string(),
        })
    }
}

/// The store key of queue entry `seq`.
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

/// The accepted, uncommitted calls, in seq order.
///
/// # Errors
///
/// Each item may be a [`QueueError`] if sled fails or a record is corrupt.
pub fn pending(
    tree: &sled::Tree,
) -> impl Iterator<Item = Result<(u64, QueuedCall), QueueError>> + use<> {
    tree.scan_prefix([area::QUEUE]).map(|item| {
        let (k, v) = item?;
        let seq = seq_of(&k).ok_or_else(|| QueueError::Corrupt {
            seq: 0,
            message: format!("bad key {}", hex::encode(&k)),
        })?;
        Ok((seq, QueuedCall::decode(seq, &v)?))
    })
}

/// Whether call `seq` is accepted and not yet committed.
///
/// # Errors
///
/// [`QueueError::Sled`] if sled fails.
pub fn contains(tree: &sled::Tree, seq: u64) -> Result<bool, QueueError> {
    Ok(tree.contains_key(key(seq))?)
}

/// The next seq to hand out, by invariant A.
///
/// # Errors
///
/// [`QueueError::Sled`] if sled fails.
pub fn next_seq(tree: &sled::Tree, last_committed: Option<u64>) -> Result<u64, QueueError> {
    let last_queued = match tree.scan_prefix([area::QUEUE]).next_back() {
        Some(item) => seq_of(&item?.0),
        None => None,
    };
    Ok(last_queued.max(last_committed).map_or(1, |s| s + 1))
}

#[cfg(test)]
mod tests;
