//! commute: a host for Internet-Computer-style canisters whose `pure_update` methods
//! emit only commutative writes, run in parallel, and merge their write logs into sled.
//!
//! This crate is the engine only: the HTTP server is `commute-serve` (`host/serve/`) and
//! the `commute` binary is `commute-cli` (`host/cli/`), so a program embedding the engine
//! pulls in no server, client or CLI dependencies.
//!
//! Start at [`Host`]: open one on a directory (or [`Host::temporary`]), install a canister,
//! submit pure calls, tick, query.
//!
//! ```no_run
//! use commute::{submit::Args, Host, Principal};
//!
//! let mut host = Host::temporary()?;
//! let wasm = std::fs::read("logger.wasm")?;
//! let did = std::fs::read_to_string("logger.did")?;
//! host.install("logger", &wasm, Some(("logger.did", &did)), None)?;
//! let me = Principal::anonymous();
//! let seq = host.submit("logger", "log", Args::Text(r#"(principal "aaaaa-aa", "hi")"#), me)?;
//! host.tick(|round| println!("{round:?}"))?;
//! println!("{}", host.status(seq)?);
//! let n = host.query("logger", "count", Args::Text(r#"(principal "aaaaa-aa")"#), me)?;
//! assert_eq!(n.text, "(1 : nat64)");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The stages, upstream to downstream:
//!
//! - [`registry`]: installed canisters (install lives on [`Host::install`]);
//! - [`submit`]: checking a call before it is accepted;
//! - [`queue`]: the durable queue of accepted calls;
//! - [`round`]: which calls run together, and committing them as one;
//! - [`schedule`]: the key DAG of a round, run on a rayon pool;
//! - [`execute`]: running one call on a fresh wasm instance;
//! - [`write_log`]: the ordered writes one call emitted, capped as the guest issues them;
//! - [`merge`]: the [`merge::Delta`] of a set of `(seq, canister, log)` calls,
//!   commutative and associative;
//! - [`commit`]: what makes a round or an install durable, and reports it;
//! - [`store`]: the sled store of stable structures, where a delta commits atomically;
//! - [`root`]: the lattice hash behind the 32-byte state root.

pub mod commit;
pub mod disk;
pub mod dump;
pub mod execute;
pub mod finished;
pub mod host;
pub mod merge;
pub mod outcome;
pub mod query;
pub mod queue;
pub mod registry;
pub mod root;
pub mod round;
pub mod schedule;
pub mod store;
pub mod submit;
mod wasm_did;
pub mod write_log;

pub use candid::Principal;
pub use commute_did::Mode;
pub use host::{Config, Host, HostError};
pub use outcome::Status;
pub use query::{Queries, Reply};
