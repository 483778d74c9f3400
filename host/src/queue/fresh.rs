//! Chunks just queued, kept as their calls in memory, so that the round that takes them
//! reads them from here instead of reading their records back from sled and decoding
//! them: a round took its 1,000 logging calls in ~0.5 ms that way, most of it decoding.
//!
//! # Invariants
//!
//! - (F1) The calls kept under `first` are exactly those of the chunk record `q ‖ first`:
//!   they are kept only once that record's write succeeded, under the tail lock, and a
//!   chunk record is never rewritten, only removed (queue invariant B).
//! - (F2) Calls are handed out once, the first time a read of the queue reaches their
//!   chunk, whether or not the round takes them all: what it leaves is read from sled the
//!   next time. So nothing is kept past the first read of its chunk, and a chunk that is
//!   never read here (its calls were read before the host restarted) is read from sled.
//! - (F3) At most [`FRESH_CALLS`] calls are kept: a chunk that would pass it is not, and is
//!   read from sled as before, so a backlog costs no more memory than this.

use std::collections::HashMap;
use std::sync::Mutex;

use super::QueuedCall;

/// The most calls kept (F3): a few rounds' worth.
pub const FRESH_CALLS: usize = 1 << 16;

/// Calls queued and not yet read, by the first seq of their chunk; see the module doc.
#[derive(Debug, Default)]
pub struct Fresh {
    kept: Mutex<Kept>,
}

#[derive(Debug, Default)]
struct Kept {
    chunks: HashMap<u64, Vec<QueuedCall>>,
    calls: usize,
}

impl Fresh {
    /// Keeps `calls`, the chunk just written under `first` (F1), if there is room (F3).
    pub(crate) fn keep(&self, first: u64, calls: Vec<QueuedCall>) {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        if kept.calls + calls.len() <= FRESH_CALLS {
            kept.calls += calls.len();
            kept.chunks.insert(first, calls);
        }
    }

    /// The calls of the chunk under `first`, if kept; never again after (F2).
    pub(crate) fn take(&self, first: u64) -> Option<Vec<QueuedCall>> {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        let calls = kept.chunks.remove(&first)?;
        kept.calls -= calls.len();
        Some(calls)
    }

    /// How many calls are kept.
    #[cfg(test)]
    pub(crate) fn calls(&self) -> usize {
        self.kept.lock().unwrap_or_else(|e| e.into_inner()).calls
    }
}
