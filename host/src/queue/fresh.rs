//! Chunks just queued, kept as their calls in memory, so that the round that takes them
//! reads them from here instead of reading their records back from sled and decoding
//! them: the take of 2,000 view calls at 1 thread went from 363–543 µs to 246–424 µs.
//!
//! # Invariants
//!
//! - (F1) The calls kept under `first` are exactly those of the chunk record `q ‖ first`:
//!   they are kept only once that record's write succeeded, under the tail lock, and a
//!   chunk record is never rewritten, only removed (queue invariant B).
//! - (F2) Calls are handed out once, the first time a read of the queue reaches their
//!   chunk below its bound, whether or not the round takes them all: what it leaves is read
//!   from sled the next time. So nothing is kept past the first read of its chunk, and a
//!   chunk that is never read here (its calls were read before the host restarted) is read
//!   from sled.
//! - (F3) At most [`FRESH_CALLS`] calls and about [`FRESH_BYTES`] bytes are kept (each
//!   call's arguments may be MiBs): of a batch of chunks, those that fit, first to last;
//!   the rest are read from sled as before. So a backlog costs no more memory than this.

use std::collections::HashMap;
use std::sync::Mutex;

use super::QueuedCall;

/// The most calls kept (F3): a few rounds' worth.
pub const FRESH_CALLS: usize = 1 << 16;

/// About the most bytes kept (F3), as [`QueuedCall`]'s weight counts them.
pub const FRESH_BYTES: usize = 32 << 20;

/// Calls queued and not yet read, by the first seq of their chunk; see the module doc.
#[derive(Debug, Default)]
pub struct Fresh {
    kept: Mutex<Kept>,
}

#[derive(Debug, Default)]
struct Kept {
    chunks: HashMap<u64, (Vec<QueuedCall>, usize)>,
    calls: usize,
    bytes: usize,
}

impl Fresh {
    /// How many of `chunks` (their calls' counts and weights, in order) fit now, from the
    /// first (F3).
    pub(crate) fn room(&self, chunks: impl Iterator<Item = (usize, usize)>) -> usize {
        let kept = self.lock();
        let (mut calls, mut bytes) = (kept.calls, kept.bytes);
        chunks
            .take_while(|(n, weight)| {
                (calls, bytes) = (calls + n, bytes + weight);
                calls <= FRESH_CALLS && bytes <= FRESH_BYTES
            })
            .count()
    }

    /// Keeps `calls`, the chunk just written under `first` (F1), whose weight is `bytes`:
    /// one [`Fresh::room`] found room for.
    pub(crate) fn keep(&self, first: u64, calls: Vec<QueuedCall>, bytes: usize) {
        let mut kept = self.lock();
        kept.calls += calls.len();
        kept.bytes += bytes;
        if let Some((old, old_bytes)) = kept.chunks.insert(first, (calls, bytes)) {
            // Never: a seq is queued once (queue invariant A). Counted right all the same.
            kept.calls -= old.len();
            kept.bytes -= old_bytes;
        }
    }

    /// The calls of the chunk under `first`, if kept; never again after (F2).
    pub(crate) fn take(&self, first: u64) -> Option<Vec<QueuedCall>> {
        let mut kept = self.lock();
        let (calls, bytes) = kept.chunks.remove(&first)?;
        kept.calls -= calls.len();
        kept.bytes -= bytes;
        Some(calls)
    }

    /// How many calls are kept.
    #[cfg(test)]
    pub(crate) fn calls(&self) -> usize {
        self.lock().calls
    }

    /// Whether the chunk under `first` is kept.
    #[cfg(test)]
    pub(crate) fn holds(&self, first: u64) -> bool {
        self.lock().chunks.contains_key(&first)
    }

    /// How many bytes are kept, by weight.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.lock().bytes
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }
}
