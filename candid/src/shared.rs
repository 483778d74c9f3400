//! [`SharedInterface`]: an [`Interface`] that threads can share.
//!
//! `candid`'s types are reference-counted with `Rc`, so an [`Interface`] can be neither
//! sent to nor shared with another thread. A host that checks child calls on every core
//! needs one anyway. A `SharedInterface` keeps the standard `.did` text, which parses back
//! to the same interface (the fixed point of `docs/did.md`), and each thread parses its own copy
//! on first use and keeps it while the interface lives.
//!
//! - Invariant (A): every copy is parsed from the text of an interface that parsed once
//!   already, so parsing again cannot fail.
//! - Invariant (B): a thread drops its copies of interfaces that are gone (every handle
//!   dropped: the canister was upgraded or removed) whenever it parses a new one, so a
//!   long-lived thread (a worker, a server's request thread) holds one copy per live
//!   interface, however many installs it has seen.

use crate::{Did, Interface};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// A thread's copy of an interface, and whether the interface still lives.
type ThreadCopy = (Weak<Inner>, Rc<Interface>);

thread_local! {
    /// This thread's parsed copies, by [`SharedInterface`] id, each with a weak handle
    /// that tells whether its interface still lives (invariant B).
    static COPIES: RefCell<HashMap<u64, ThreadCopy>> = RefCell::new(HashMap::new());
}

/// A `Send + Sync` handle on an interface; see the module doc.
///
/// # Examples
///
/// ```
/// use commute_did::{Did, Mode, SharedInterface};
///
/// let did = Did::parse("a.did", "service : { f : (text) -> () pure_update }").unwrap();
/// let shared = SharedInterface::new(&did);
/// let mode = std::thread::spawn(move || shared.with(|i| i.method("f").unwrap().mode))
///     .join()
///     .unwrap();
/// assert_eq!(mode, Mode::PureUpdate);
/// ```
#[derive(Debug, Clone)]
pub struct SharedInterface {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    id: u64,
    standard: Box<str>,
}

impl SharedInterface {
    /// Shares the interface of `did`; the calling thread keeps its copy.
    pub fn new(did: &Did) -> SharedInterface {
        let inner = Arc::new(Inner {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            standard: did.standard().into(),
        });
        keep(&inner, Rc::new(did.interface().clone()));
        SharedInterface { inner }
    }

    /// The standard `.did` text.
    pub fn standard(&self) -> &str {
        &self.inner.standard
    }

    /// Runs `f` on this thread's copy of the interface, parsing it on first use.
    ///
    /// # Panics
    ///
    /// Never, by invariant A.
    pub fn with<R>(&self, f: impl FnOnce(&Interface) -> R) -> R {
        let copy = COPIES.with(|c| c.borrow().get(&self.inner.id).map(|(_, i)| i.clone()));
        let copy = match copy {
            Some(copy) => copy,
            None => {
                let did = Did::parse("standard.did", &self.inner.standard)
                    .expect("the standard form of a checked .did parses (invariant A)");
                let copy = Rc::new(did.interface().clone());
                keep(&self.inner, copy.clone());
                copy
            }
        };
        f(&copy)
    }
}

/// Keeps `copy` as this thread's copy of `inner`'s interface, dropping the copies of
/// interfaces that are gone (invariant B).
fn keep(inner: &Arc<Inner>, copy: Rc<Interface>) {
    COPIES.with(|c| {
        let mut copies = c.borrow_mut();
        copies.retain(|_, (alive, _)| alive.strong_count() > 0);
        copies.insert(inner.id, (Arc::downgrade(inner), copy));
    });
}

/// How many copies this thread holds: for tests.
#[cfg(test)]
fn copies() -> usize {
    COPIES.with(|c| c.borrow().len())
}

#[cfg(test)]
mod tests {
    use super::{copies, SharedInterface};
    use crate::Did;

    /// A thread that has seen many installs holds copies of the live interfaces only.
    #[test]
    fn a_thread_drops_its_copies_of_interfaces_that_are_gone() {
        std::thread::spawn(|| {
            let did = Did::parse("a.did", "service : { f : (text) -> () pure_update }").unwrap();
            let kept = SharedInterface::new(&did);
            for _ in 0..10 {
                let upgraded = SharedInterface::new(&did);
                let elsewhere = upgraded.clone();
                assert!(upgraded.with(|i| i.method("f").is_some()));
                drop((upgraded, elsewhere));
            }
            // The last one dropped is pruned by the next parse.
            let last = SharedInterface::new(&did);
            assert_eq!(copies(), 2, "`kept` and `last`");
            assert!(kept.with(|i| i.method("f").is_some()));
            drop(last);
        })
        .join()
        .unwrap();
    }
}
