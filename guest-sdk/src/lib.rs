//! The guest SDK for commute canisters, shaped like ic-cdk 0.20 and ic-stable-structures
//! 0.7 so that porting a canister is mostly a matter of `use` lines.
//!
//! - Entry points: [`#[init]`](init), [`#[query]`](query), [`#[update]`](update) as in
//!   ic-cdk, and [`#[pure_update]`](pure_update), commute's own: a method that cannot read
//!   state, only emit commutative writes, so the host runs many at once.
//! - [`api`]: the call's context (`msg_caller`, `canister_self`, `time`), `debug_print`
//!   and [`println!`], `trap`.
//! - [`call`]: fire-and-forget calls to other canisters by installed name, [`call_pure`]
//!   or ic-cdk's builder `Call::bounded_wait(..).with_arg(..).oneway()`.
//! - [`stable`]: typed handles [`Counter`](stable::Counter), [`Map`](stable::Map) and
//!   [`List`](stable::List) over the host's stable structures, keyed and valued by
//!   [`Storable`](stable::Storable) types.
//! - [`sys`]: the raw imports of the ABI (`commute_abi::IMPORTS`), for the rare case the
//!   safe layers do not cover.
//! - [`export_candid!`]: the canister's `.did`, derived from the methods' signatures
//!   (`export_candid!()`) or written by hand (`export_candid!("NAME.did")`), so installs
//!   need no `--did`; [`candid_storable!`] stores your Candid types in the structures.
//!
//! On wasm32 the crate sets the global allocator (the `heap` feature, on by default): every
//! call starts from the module's initial memory, which the host resets page by page, and this
//! allocator fills the rest of the page that holds the end of the data before it grows the
//! memory by another. To bring your own, depend on `commute-cdk` with
//! `default-features = false`, in every crate of the build that depends on it (features
//! are unified).
//!
//! Off wasm32 the imports are served by an in-memory implementation (one per thread), the
//! way stable-structures uses `VectorMemory` off wasm32, so canister logic unit-tests
//! natively with `cargo test`; [`testing`] sets the caller, the time and the arguments,
//! and inspects replies and fired calls.
//!
//! # Example
//!
//! A whole canister; its `.did` is
//! `service : { bump : (text) -> () pure_update; views : (text) -> (nat64) query }`.
//!
//! ```
//! use commute_cdk::{pure_update, query, stable::Counter};
//!
//! static VIEWS: Counter = Counter::init("views");
//!
//! #[pure_update]
//! fn bump(page: String) {
//!     VIEWS.entry(&page).add(1);
//! }
//!
//! #[query]
//! fn views(page: String) -> u64 {
//!     VIEWS.entry(&page).get() as u64
//! }
//!
//! // Natively, the same functions run against the in-memory state:
//! bump("home".into());
//! bump("home".into());
//! assert_eq!(views("home".into()), 2);
//! ```

// The macros expand to `::commute_cdk::...` paths; this makes them work inside the SDK too.
extern crate self as commute_cdk;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
pub mod api;
pub mod call;
mod did;
#[cfg(any(
    test,
    all(
        target_arch = "wasm32",
        target_os = "unknown",
        not(target_feature = "atomics"),
        feature = "heap"
    )
))]
mod heap;
mod imports;
#[cfg(not(target_arch = "wasm32"))]
mod native;
mod printer;
pub mod stable;
pub mod sys;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;

pub use api::trap;
pub use call::{call_pure, Call};
pub use candid::{self, CandidType, Principal};
pub use commute_cdk_macros::{export_candid, init, pure_update, query, update};
pub use serde::Deserialize;

#[cfg(test)]
mod tests;
