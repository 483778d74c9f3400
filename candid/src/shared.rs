//! [`SharedInterface`]: an [`Interface`] that threads can share.
//!
//! `candid`'s types are reference-counted with `Rc`, so an [`Interface`] can be neither
//! sent to nor shared with another thread. A host that checks child calls on every core
//! needs one anyway. A `SharedInterface` keeps the standard `.did` text, which parses back
//! to the same interface (the fixed point of `docs/did.md`), and each thread parses its own copy
//! on first use and keeps it for the life of the thread.
//!
//! Invariant (A): every copy is parsed from the text of an interface that parsed once
//! already, so parsing again cannot fail.

use crate::{Did, Interface};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// This thread's parsed copies, by [`SharedInterface`] id.
    static COPIES: RefCell<HashMap<u64, Rc<Interface>>> = RefCell::new(HashMap::new());
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
    id: u64,
    standard: Arc<str>,
}

impl SharedInterface {
    /// Shares the interface of `did`; the calling thread keeps its copy.
    pub fn new(did: &Did) -> SharedInterface {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let copy = Rc::new(did.interface().clone());
        COPIES.with(|c| c.borrow_mut().insert(id, copy));
        SharedInterface {
            id,
            standard: did.standard().into(),
        }
    }

    /// The standard `.did` text.
    pub fn standard(&self) -> &str {
        &self.standard
    }

    /// Runs `f` on this thread's copy of the interface, parsing it on first use.
    ///
    /// # Panics
    ///
    /// Never, by invariant A.
    pub fn with<R>(&self, f: impl FnOnce(&Interface) -> R) -> R {
        let copy = COPIES.with(|c| c.borrow().get(&self.id).cloned());
        let copy = match copy {
            Some(copy) => copy,
            None => {
                let did = Did::parse("standard.did", &self.standard)
                    .expect("the standard form of a checked .did parses (invariant A)");
                let copy = Rc::new(did.interface().clone());
                COPIES.with(|c| c.borrow_mut().insert(self.id, copy.clone()));
                copy
            }
        };
        f(&copy)
    }
}
