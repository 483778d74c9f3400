//! commute: a host for Internet-Computer-style canisters whose `pure_update` methods
//! emit only commutative writes, run in parallel, and merge their write logs into sled.
//!
//! The data path, upstream to downstream (`../shared/DESIGN.md` §3, §6):
//!
//! - [`write_log`]: the ordered writes one call emitted, capped as the guest issues them;
//! - [`merge`]: the [`merge::Delta`] of a set of `(seq, canister, log)` calls,
//!   commutative and associative;
//! - [`store`]: the sled store of stable structures, where a delta commits in one batch;
//! - [`root`]: the lattice hash behind the 32-byte state root.

pub mod merge;
pub mod outcome;
pub mod queue;
pub mod root;
pub mod store;
pub mod write_log;
