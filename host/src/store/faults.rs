//! Injected write failures: the disk filling up at a chosen write of the commit path.
//!
//! Every write and flush the store makes to land a commit or replay one (the journal
//! insert, the flush, each applied write, each journal removal) first asks its [`Faults`];
//! a test arms it to fail the `n`-th of them, and every one after it, as a full disk
//! fails them: with ENOSPC. Unarmed, the check is one atomic load.

use std::sync::atomic::{AtomicU64, Ordering};

use super::StoreError;

/// When the store's writes start to fail; see the module doc. Off by default.
#[derive(Debug)]
pub(crate) struct Faults {
    /// How many more writes succeed; `u64::MAX` for all of them.
    left: AtomicU64,
    /// How many writes were checked, failed or not.
    seen: AtomicU64,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            left: AtomicU64::new(u64::MAX),
            seen: AtomicU64::new(0),
        }
    }
}

impl Faults {
    /// The next `n` writes succeed; every one after fails.
    #[cfg(test)]
    pub(crate) fn fail_after(&self, n: u64) {
        self.seen.store(0, Ordering::SeqCst);
        self.left.store(n, Ordering::SeqCst);
    }

    /// How many writes were checked since the last [`Faults::fail_after`].
    #[cfg(test)]
    pub(crate) fn seen(&self) -> u64 {
        self.seen.load(Ordering::SeqCst)
    }

    /// Whether the write about to be made, `what`, may go ahead.
    ///
    /// # Errors
    ///
    /// [`StoreError::Sled`] with an ENOSPC I/O error, once armed and spent.
    pub(crate) fn check(&self, what: &str) -> Result<(), StoreError> {
        if self.left.load(Ordering::Relaxed) == u64::MAX {
            return Ok(());
        }
        self.seen.fetch_add(1, Ordering::SeqCst);
        let spent = self
            .left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_err();
        if spent {
            let full = std::io::Error::from_raw_os_error(libc::ENOSPC);
            let err = std::io::Error::new(full.kind(), format!("{full} (injected at {what})"));
            return Err(StoreError::Sled(sled::Error::Io(err)));
        }
        Ok(())
    }
}
