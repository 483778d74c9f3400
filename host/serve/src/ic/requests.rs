//! What the server remembers of each call it took through the IC interface, by request id,
//! for `/request_status/<id>`: its sender, its expiry, and how far it got.
//!
//! A pure update or oneway is remembered by the seq the queue gave it, and its progress is
//! read from the host's outcomes when asked: `processing` until the round that ran it is
//! durable, then `replied` (the empty Candid reply) or `rejected` (it trapped). An update
//! is remembered by its reply or reject, set when the round thread answers.
//!
//! # Invariants
//!
//! - (A) An entry is kept at least until its `ingress_expiry`, as the IC keeps a status
//!   until the request expires; expired entries are dropped as new ones arrive, so the table
//!   holds at most the calls of one expiry window.
//! - (B) An entry, once `replied` or `rejected`, never changes: a client polling twice
//!   reads the same answer.

use super::reject::Reject;
use candid::Principal;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

/// How far a call got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Progress {
    /// Accepted, not yet queued durably.
    Received,
    /// Queued or running.
    Processing,
    /// Done, with this reply (a Candid message).
    Replied(Vec<u8>),
    /// Refused or trapped.
    Rejected(Reject),
}

impl Progress {
    /// Whether the call is done (invariant B: then it never changes).
    pub(crate) fn is_final(&self) -> bool {
        matches!(self, Progress::Replied(_) | Progress::Rejected(_))
    }
}

/// Where a call's progress is to be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Track {
    /// Kept here.
    Here(Progress),
    /// The host's outcome of this seq.
    Seq(u64),
}

#[derive(Debug)]
struct Entry {
    sender: Principal,
    expiry: u64,
    track: Track,
}

/// The calls of the last expiry window, by request id.
#[derive(Debug, Default)]
pub(crate) struct Requests {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    by_id: HashMap<[u8; 32], Entry>,
    /// (expiry, id), for dropping entries in expiry order (invariant A).
    by_expiry: BTreeMap<(u64, [u8; 32]), ()>,
}

impl Requests {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a new call, unless `id` is known: then its track, for the caller to answer
    /// as the first time (a resent request is not run twice). Drops entries expired at `now`.
    pub(crate) fn begin(
        &self,
        id: [u8; 32],
        sender: Principal,
        expiry: u64,
        now: u64,
    ) -> Option<Track> {
        let mut inner = self.lock();
        let expired: Vec<_> = inner
            .by_expiry
            .range(..(now, [0; 32]))
            .map(|(k, ())| *k)
            .collect();
        for key in expired {
            inner.by_expiry.remove(&key);
            inner.by_id.remove(&key.1);
        }
        if let Some(entry) = inner.by_id.get(&id) {
            return Some(entry.track.clone());
        }
        inner.by_id.insert(
            id,
            Entry {
                sender,
                expiry,
                track: Track::Here(Progress::Received),
            },
        );
        inner.by_expiry.insert((expiry, id), ());
        None
    }

    /// Sets the track of call `id` (a final progress stays: invariant B).
    pub(crate) fn set(&self, id: &[u8; 32], track: Track) {
        if let Some(entry) = self.lock().by_id.get_mut(id) {
            if !matches!(&entry.track, Track::Here(p) if p.is_final()) {
                entry.track = track;
            }
        }
    }

    /// Forgets call `id`: it was refused before anything was queued, so a corrected resend
    /// may use the same id.
    pub(crate) fn forget(&self, id: &[u8; 32]) {
        let mut inner = self.lock();
        if let Some(entry) = inner.by_id.remove(id) {
            inner.by_expiry.remove(&(entry.expiry, *id));
        }
    }

    /// The sender and track of call `id`, if known.
    pub(crate) fn get(&self, id: &[u8; 32]) -> Option<(Principal, Track)> {
        self.lock()
            .by_id
            .get(id)
            .map(|e| (e.sender, e.track.clone()))
    }
}
