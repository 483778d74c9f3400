//! The acceptor thread: group commit for submitted calls. Handlers check calls themselves
//! (in parallel) and hand them here; the acceptor appends every call waiting, flushes once
//! for all of them, and only then answers each with its seq.
//!
//! # Invariants
//!
//! - (A) A seq is answered only after the flush that makes its call durable (docs/http.md, durability).
//! - (B) Each request is appended whole or refused whole; one refused for the pending cap
//!   takes no seq and does not hold back the others.
//! - (C) After the flush, the round thread is woken (round invariant A).

use super::rounds::Job;
use commute::queue::{QueueError, QueuedCall};
use commute::submit::Intake;
use std::ops::Range;
use std::sync::mpsc::{Receiver, Sender};
use tokio::sync::oneshot;

/// Checked calls waiting to be accepted together, and where to send their seqs.
pub(crate) struct Accept {
    pub(crate) calls: Vec<QueuedCall>,
    /// The caller's idempotency key, for a single call.
    pub(crate) key: Option<Vec<u8>>,
    pub(crate) reply: oneshot::Sender<Result<Range<u64>, NotAccepted>>,
}

/// Why a request was not accepted; nothing of it is queued.
#[derive(Debug)]
pub(crate) enum NotAccepted {
    /// The pending cap (backpressure): retry later.
    Full(QueueError),
    /// The idempotency key names another call.
    KeyReused(QueueError),
    /// The store failed.
    Failed(String),
}

/// The key and the call of a request appended under its idempotency key (one call with a
/// key); `None` for one appended plainly.
fn keyed(request: &Accept) -> Option<(&[u8], &QueuedCall)> {
    match (&request.key, request.calls.as_slice()) {
        (Some(key), [call]) => Some((key, call)),
        _ => None,
    }
}

/// How many requests one flush takes at most, so the first of a flood is not kept waiting
/// for the last.
const MAX_GROUP: usize = 4096;

/// Runs until every sender is gone. An `Err` is a failed flush: the store is failing, the
/// requests of that group were answered 500 (their calls may or may not stay queued), and
/// the server stops.
pub(crate) fn run(
    intake: &Intake,
    requests: &Receiver<Accept>,
    rounds: &Sender<Job>,
) -> Result<(), String> {
    while let Ok(first) = requests.recv() {
        let mut group = vec![first];
        group.extend(requests.try_iter().take(MAX_GROUP - 1));
        // Requests without an idempotency key are written together, as one chunk where
        // they fit in one; keyed ones each look their key up first.
        let plain: Vec<Vec<QueuedCall>> = group
            .iter_mut()
            .filter(|request| keyed(request).is_none())
            .map(|request| std::mem::take(&mut request.calls))
            .collect();
        let mut plain = intake.append_each(plain).into_iter();
        let appended: Vec<_> = group
            .iter()
            .map(|request| match keyed(request) {
                Some((key, call)) => intake.append_once(call, key).map(|once| {
                    let seq = once.seq();
                    seq..seq + 1
                }),
                None => plain.next().expect("an answer per plain request"),
            })
            .collect();
        let flushed = intake.flush();
        for (request, appended) in group.into_iter().zip(appended) {
            let answer = match (&flushed, appended) {
                (Ok(()), Ok(seqs)) => Ok(seqs),
                (Ok(()), Err(e @ QueueError::Full { .. })) => Err(NotAccepted::Full(e)),
                (Ok(()), Err(e @ QueueError::KeyReused { .. })) => Err(NotAccepted::KeyReused(e)),
                (Ok(()), Err(e)) => Err(NotAccepted::Failed(e.to_string())),
                // Nothing may be answered as accepted (invariant A).
                (Err(e), _) => Err(NotAccepted::Failed(format!(
                    "flushing the queue failed ({e}): the call may or may not run; the server stops"
                ))),
            };
            // A requester that went away still had its call accepted; it can ask later.
            let _ = request.reply.send(answer);
        }
        if let Err(e) = flushed {
            return Err(format!("flushing the queue: {e}"));
        }
        // The round thread may be gone while the server stops; the calls stay queued.
        let _ = rounds.send(Job::Wake);
    }
    Ok(())
}
