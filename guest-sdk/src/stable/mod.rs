//! Typed handles over the host's stable structures: [`Counter`], [`Map`] and [`List`].
//!
//! A canister's lasting state lives in the host, not in the wasm heap (every call starts from
//! the module's initial state). A handle is only a name, so it is built with a `const fn` and kept in a
//! plain `static` (no `thread_local!`, no `RefCell`, no memory manager as in
//! stable-structures: the structure's *name* plays the role of the `MemoryId`):
//!
//! ```
//! use commute_cdk::stable::{Counter, List, Map};
//! use commute_cdk::Principal;
//!
//! static EVENTS_PER_USER: Counter = Counter::init("events_per_user");
//! static LAST_EVENT: Map<Principal, String> = Map::init("last_event");
//! static EVENTS: List<String> = List::init("events");
//! ```
//!
//! # What each mode may do
//!
//! | handle | writes (not in queries) | reads (not in pure updates) |
//! | --- | --- | --- |
//! | [`Counter`] | `add` | `get` |
//! | [`Map`] | `insert`, `remove` | `get`, `contains_key`, `iter`, `keys`, `values`, `range`, `len`, `is_empty` |
//! | [`List`] | `push` | `len`, `is_empty`, `get`, `iter` |
//!
//! Writes are commutative so pure updates can run in parallel; this is where commute
//! differs from stable-structures: `insert` and `remove` return nothing (a pure update
//! cannot see the old value), and there is no `set` or `pop` on lists.
//!
//! # How writes of parallel calls merge (`docs/modes.md`)
//!
//! - counters: the exact sum of every `add`, as an `i128` (wrapping at 2^127);
//! - maps: per key, the write of the call accepted last wins; within one call, the later
//!   write wins;
//! - lists: a bag; entries are ordered by (call seq, position in the call).

pub mod counter;
pub mod list;
pub mod map;
mod storable;

pub use counter::Counter;
pub use list::List;
pub use map::Map;
pub use storable::{decode_candid, encode_candid, Bound, Candid, Storable};

/// The size of the first read buffer for values of type `T`.
fn read_hint<T: Storable>() -> usize {
    match T::BOUND.max_size() {
        Some(max) => max as usize,
        None => 64,
    }
}

#[cfg(test)]
mod tests;
