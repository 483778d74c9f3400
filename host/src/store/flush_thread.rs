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

use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TryRecvError};
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::Instant;

use super::StoreError;

/// When a flush ended, or why it failed; `Err` of the outer result if it panicked.
pub(crate) type Flushed = std::thread::Result<Result<Instant, StoreError>>;

/// A flush ([`super::Flusher::flush`], or a test's stand-in), run on the thread.
type Flush = Box<dyn FnOnce() -> Result<(), StoreError> + Send>;

/// A flush asked of the thread, and where its answer goes.
struct Request {
    flush: Flush,
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

    /// Waits for the flush to end (T1), and on a worker of a rayon pool runs the pool's
    /// pending jobs meanwhile, one at a time, blocking only once there are none: a worker
    /// that would sit out the disk runs calls of the round beside the commit instead.
    pub(crate) fn wait_helping(self) -> Flushed {
        loop {
            match self.0.try_recv() {
                Ok(flushed) => return flushed,
                Err(TryRecvError::Disconnected) => {
                    panic!("the flush thread answers every request it takes (T1)")
                }
                Err(TryRecvError::Empty) => {}
            }
            if rayon::yield_now() != Some(rayon::Yield::Executed) {
                return self.wait();
            }
        }
    }
}

impl FlushThread {
    /// Starts `flush` on the thread, after those asked before it (T2).
    pub(crate) fn start(
        &self,
        flush: impl FnOnce() -> Result<(), StoreError> + Send + 'static,
    ) -> Pending {
        let (answer, answered) = mpsc::sync_channel(1);
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        if running.is_none() {
            let (requests, taken) = mpsc::channel::<Request>();
            let spawned = std::thread::Builder::new()
                .name("commute-flush".into())
                .spawn(move || {
                    for Request { flush, answer } in taken {
                        // The caller may have stopped waiting (it panicked): nothing to tell.
                        let _ = answer.send(run(flush));
                    }
                });
            if let Ok(thread) = spawned {
                *running = Some((requests, thread));
            }
        }
        let request = Request {
            flush: Box::new(flush),
            answer,
        };
        let request = match running.as_ref() {
            Some((requests, _)) => match requests.send(request) {
                Ok(()) => return Pending(answered),
                Err(mpsc::SendError(request)) => request,
            },
            None => request,
        };
        // No thread to take it: flushed here (T1).
        drop(running);
        let _ = request.answer.send(run(request.flush));
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
fn run(flush: Flush) -> Flushed {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        flush().map(|()| Instant::now())
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::faults::Faults;
    use crate::store::Store;
    use std::sync::Arc;

    /// A flush of `store`, as [`Store::start_flush`] asks it.
    fn flush_of(store: &Store) -> impl FnOnce() -> Result<(), StoreError> + Send + 'static {
        let flusher = store.flusher();
        move || flusher.flush()
    }

    #[test]
    fn every_flush_is_answered_in_order_and_a_failure_is_the_flushs_own() {
        let store = Store::temporary().unwrap();
        let thread = FlushThread::default();
        let pending: Vec<Pending> = (0..8).map(|_| thread.start(flush_of(&store))).collect();
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
        let failing = super::super::Flusher {
            trees: store.trees.clone(),
            faults,
        };
        let err = thread
            .start(move || failing.flush())
            .wait()
            .expect("no panic");
        let err = err.unwrap_err();
        assert!(err.to_string().contains("a flush"), "{err}");
        // The thread goes on after a failed flush.
        thread.start(flush_of(&store)).wait().unwrap().unwrap();
    }

    #[test]
    fn a_flush_that_panics_is_answered_with_its_panic_and_the_thread_goes_on() {
        let thread = FlushThread::default();
        let panicked = thread
            .start(|| panic!("the disk caught fire"))
            .wait()
            .expect_err("the panic comes back (T1)");
        assert_eq!(
            panicked.downcast_ref::<&str>(),
            Some(&"the disk caught fire")
        );
        let store = Store::temporary().unwrap();
        thread.start(flush_of(&store)).wait().unwrap().unwrap();
    }

    #[test]
    fn flushes_asked_together_run_one_at_a_time_in_order() {
        let thread = FlushThread::default();
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let pending: Vec<Pending> = (0..16)
            .map(|i| {
                let log = Arc::clone(&log);
                thread.start(move || {
                    log.lock().unwrap().push((i, "start"));
                    std::thread::yield_now();
                    log.lock().unwrap().push((i, "end"));
                    Ok(())
                })
            })
            .collect();
        for p in pending {
            p.wait().unwrap().unwrap();
        }
        let expected: Vec<_> = (0..16).flat_map(|i| [(i, "start"), (i, "end")]).collect();
        assert_eq!(*log.lock().unwrap(), expected, "T2");
    }

    #[test]
    fn dropping_the_thread_answers_what_was_asked_first() {
        let store = Store::temporary().unwrap();
        let thread = FlushThread::default();
        let pending = thread.start(flush_of(&store));
        drop(thread);
        pending.wait().unwrap().unwrap();
    }
}
