//! What became of a call: the answer to a ticket (`docs/modes.md`).
//!
//! # Byte layout
//!
//! ```text
//! 'o' ‖ seq u64 BE   →   Outcome, postcard-encoded
//! ```
//!
//! # Invariants
//!
//! - (A) A call among the store's finished calls (`crate::finished`) is committed; it
//!   trapped or replied iff it has a record, which says so, and otherwise it is `Done`. The
//!   record is written in the batch that commits the call and marks it finished, so a call is
//!   never both pending and done, and a done call never loses its outcome. Most calls
//!   simply finish: a record each would cost them a sled write on a round's serial path.

use crate::store::area;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use std::fmt;

/// How a committed call ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// It finished; pure and oneway calls have no reply.
    Done,
    /// It finished and replied with these Candid bytes.
    Replied(ByteBuf),
    /// It trapped; its writes were dropped whole.
    Trapped(String),
}

/// A ticket's status, as `commute status SEQ` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Accepted, not yet run.
    Pending,
    /// Committed.
    Finished(Outcome),
    /// No call was accepted under this seq.
    Unknown,
}

impl fmt::Display for Status {
    /// `pending`, `done` or `trapped: MESSAGE` (`docs/cli.md`).
    ///
    /// ```
    /// use commute::outcome::{Outcome, Status};
    /// assert_eq!(Status::Pending.to_string(), "pending");
    /// assert_eq!(Status::Finished(Outcome::Done).to_string(), "done");
    /// let trapped = Status::Finished(Outcome::Trapped("out of fuel".into()));
    /// assert_eq!(trapped.to_string(), "trapped: out of fuel");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::Pending => f.write_str("pending"),
            Status::Finished(Outcome::Done | Outcome::Replied(_)) => f.write_str("done"),
            Status::Finished(Outcome::Trapped(m)) => write!(f, "trapped: {m}"),
            Status::Unknown => f.write_str("unknown"),
        }
    }
}

impl Outcome {
    /// The record's bytes in the store.
    ///
    /// # Panics
    ///
    /// Never: every outcome serializes.
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_allocvec(self).expect("an Outcome always encodes")
    }

    /// Reads back a record; `None` if it does not decode.
    pub fn decode(bytes: &[u8]) -> Option<Outcome> {
        postcard::from_bytes(bytes).ok()
    }
}

/// The store key of outcome `seq`.
///
/// ```
/// assert_eq!(commute::outcome::key(1), *b"o\0\0\0\0\0\0\0\x01");
/// ```
pub fn key(seq: u64) -> [u8; 9] {
    let mut k = [area::OUTCOMES; 9];
    k[1..].copy_from_slice(&seq.to_be_bytes());
    k
}

/// The outcome record of call `seq`: `None` if it has none, which for a committed call
/// means `Done` (invariant A).
///
/// # Errors
///
/// sled's error if the read fails; a record that does not decode reads as a trap saying so.
pub fn get(tree: &sled::Tree, seq: u64) -> Result<Option<Outcome>, sled::Error> {
    Ok(tree.get(key(seq))?.map(|bytes| {
        Outcome::decode(&bytes)
            .unwrap_or_else(|| Outcome::Trapped(format!("outcome record {seq} is corrupt")))
    }))
}
