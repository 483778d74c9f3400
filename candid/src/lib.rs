//! The `.did` front end of commute: standard Candid plus `pure_update key(...)`.
//!
//! A canister developer tags methods that cannot read state and only emit commutative
//! writes; the host runs those in parallel, serializing only calls that share a key:
//!
//! ```did
//! service : {
//!   log_event : (user : principal, event : text) -> () pure_update key(user);
//!   views : (page : text) -> (int) query;
//! }
//! ```
//!
//! [`Did::parse`] lifts the extension out, hands the rest to the real Candid parser and
//! type checker (`candid_parser`), and yields:
//!
//! - the [`Interface`]: every method's [`Mode`], typed [`Arg`]s and key positions, which
//!   decodes a call's arguments from Candid text or binary and derives its keys;
//! - the standard `.did` ([`Did::standard`]) in which each pure method is `oneway` under a
//!   `// @pure_update key(...)` comment, which stock tools accept and commute reads back.
//!
//! Every error is a [`DidError`]: `FILE:LINE:COL: message`, pointing into the user's file.
//! [`SharedInterface`] shares an interface across threads. [`candid_service_section`] reads a `.did` embedded in a wasm module.
//!
//! This crate is named `commute-did` so it is never mistaken for the `candid` crate.

mod did;
mod emit;
mod error;
mod interface;
mod lexer;
mod lift;
mod locate;
mod nesting;
mod position;
mod shared;
mod wasm_section;

pub use did::Did;
pub use error::DidError;
pub use interface::{Arg, ArgError, CallArgs, Interface, Method, Mode};
pub use nesting::{MAX_DID_LEVELS, MAX_NESTING, PARSER_STACK_BYTES};
pub use position::Position;
pub use shared::SharedInterface;
pub use wasm_section::{
    candid_service_section, custom_section_text, SectionError, CANDID_SERVICE_SECTION,
};

/// Re-exported so users name the same `candid` types this crate uses.
pub use candid;
