//! [`FlushThread`]: one thread, kept for the store's life, that flushes it when asked, so a
//! commit goes on (applies its writes, runs the next round) while the disk works.
//!
//! Not a thread started for each flush: starting one maps its stack and guard page and
//! ending it unmaps them, memory-map system calls that take the process's memory-map lock
//! every worker's instantiation needs too, once per round. Six batches of 1,000
//! `analytics.view` calls, each submitted and ticked at 1 thread in rounds of 50, made
//! (`strace -f -c`, the whole process) 132 thread starts, 184 `mmap`, 169 `mprotect`, 137
//! `munmap` and 124 `madvise` that way; with this thread, 12 starts (the pools' and this
//! one), 65, 49, 17 and 4, nearly all at startup. A round's time did not change past the
//! noise: on this VM, waking a sleeping thread costs about what starting one did.
//!
//! # Invariants
//!
//! - (T1) Every [`Pending`] gets exactly one answer: the flush's result, or the panic it
//!   raised, as a join would give them. A request the thread cannot take (it could not be
//!   started) is flushed on the caller's thread instead.
//! - (T2) Flushes run in the order they were asked for, one at a time.
//! - (T3) Dropping the [`FlushThread`] answers what was asked, then ends and joins the
//!   thread: nothing outlives the store.

use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::Instant;

use super::{Flusher, StoreError};

/// When a flush ended, or why it failed; `Err` of the outer result if it panicked.
pub(crate) type Flushed = std::thread::Result<Result<Instant, StoreError>>;

/// A flush asked of the thread, and where its answer goes.
struct Request {
    flusher: Flusher,
    answer: SyncSender<Flushed>,
}

/// The thread, started at the first flush asked of it; see the module doc.
#[derive(Debug, Default)]
pub(crate) struct FlushThread {
    running: Mutex<Option<(Sender<Request>, JoinHandle<()>)>>,
}

/// A flush under way on the [`FlushThread`].
#[derive(Debug)]
pub(crate) struct Pending(Receiver<Flushed>);

impl Pending {
    /// Waits for the flush to end (T1).
    pub(crate) fn wait(self) -> Flushed {
        self.0
            .recv()
            .expect("the flush thread answers every request it takes (T1)")
    }
}

impl FlushThread {
    /// Starts `flusher`'s flush on the thread, after those asked before it (T2).
    pub(crate) fn start(&self, flusher: Flusher) -> Pending {
        let (answer, answered) = mpsc::sync_channel(1);
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        if running.is_none() {
            let (requests, taken) = mpsc::channel::<Request>();
            let spawned = std::thread::Builder::new()
                .name("commute-flush".into())
                .spawn(move || {
                    for Request { flusher, answer } in taken {
                        // The caller may have stopped waiting (it panicked): nothing to tell.
                        let _ = answer.send(flush(&flusher));
                    }
                });
            if let Ok(thread) = spawned {
                *running = Some((requests, thread));
            }
        }
        let request = Request { flusher, answer };
        let request = match running.as_ref() {
            Some((requests, _)) => match requests.send(request) {
                Ok(()) => return Pending(answered),
                Err(mpsc::SendError(request)) => request,
            },
            None => request,
        };
        // No thread to take it: flushed here (T1).
        drop(running);
        let _ = request.answer.send(flush(&request.flusher));
        Pending(answered)
    }
}

impl Drop for FlushThread {
    fn drop(&mut self) {
        let running = self.running.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Some((requests, thread)) = running.take() {
            // Ends its loop once what was asked is answered (T3).
            drop(requests);
            let _ = thread.join();
        }
    }
}

/// One flush, its panic caught as a join would catch it.
fn flush(flusher: &Flusher) -> Flushed {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        flusher.flush().map(|()| Instant::now())
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::faults::Faults;
    use std::sync::Arc;

    fn flusher(store: &crate::store::Store) -> Flusher {
        store.flusher()
    }

    #[test]
    fn every_flush_is_answered_in_order_and_a_failure_is_the_flushs_own() {
        let store = crate::store::Store::temporary().unwrap();
        let thread = FlushThread::default();
        let pending: Vec<Pending> = (0..8).map(|_| thread.start(flusher(&store))).collect();
        let mut ended = Vec::new();
        for p in pending {
            ended.push(p.wait().expect("no panic").expect("the flush succeeds"));
        }
        assert!(
            ended.windows(2).all(|w| w[0] <= w[1]),
            "answered in order (T2)"
        );

        let faults = Arc::new(Faults::default());
        faults.fail_after(0);
        let failing = Flusher {
            trees: store.trees.clone(),
            faults,
        };
        let err = thread.start(failing).wait().expect("no panic").unwrap_err();
        assert!(err.to_string().contains("a flush"), "{err}");
        // The thread goes on after a failed flush.
        thread.start(flusher(&store)).wait().unwrap().unwrap();
    }

    #[test]
    fn dropping_the_thread_answers_what_was_asked_first() {
        let store = crate::store::Store::temporary().unwrap();
        let thread = FlushThread::default();
        let pending = thread.start(flusher(&store));
        drop(thread);
        pending.wait().unwrap().unwrap();
    }
}
